"""File I/O shared by every stage: atomic writes, Kaldi text maps, Kaldi ark/scp.

Every writer here writes to a temporary name in the destination folder and
renames it into place, so a killed job never leaves a file that looks complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterable, Iterator, Mapping

import numpy as np


class DataError(ValueError):
    """Bad input data: the message names the file, key or utterance at fault."""


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling path; rename it onto ``path`` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, obj) -> None:
    """Write ``obj`` as indented, key-sorted JSON atomically."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def read_json(path: str | os.PathLike):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def c_sorted(keys: Iterable[str]) -> list[str]:
    """Sort like ``LC_ALL=C sort``: by the UTF-8 bytes of each key."""
    return sorted(keys, key=lambda k: k.encode("utf-8"))


def read_kv(path: str | os.PathLike, *, allow_empty_value: bool = False) -> dict[str, str]:
    """Read a Kaldi text map (``key value...`` per line) into an ordered dict.

    Raises DataError naming the file and line for a duplicate key or a key
    without a value.
    """
    out: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            key, _, value = line.partition(" ")
            value = value.strip()
            if not value and not allow_empty_value:
                raise DataError(f"{path}:{lineno}: key '{key}' has no value")
            if key in out:
                raise DataError(f"{path}:{lineno}: duplicate key '{key}'")
            out[key] = value
    return out


def write_kv(path: str | os.PathLike, mapping: Mapping[str, object]) -> None:
    """Write a Kaldi text map sorted in C order, atomically."""
    lines = [f"{k} {mapping[k]}\n" for k in c_sorted(mapping)]
    write_text(path, "".join(lines))


def write_ark_scp(ark: str | os.PathLike, scp: str | os.PathLike,
                  items: Iterable[tuple[str, np.ndarray]]) -> int:
    """Write float32 matrices (frames x dims) or vectors to a Kaldi ark + scp pair.

    The ark is written under a temporary name, the scp entries point at the
    final ark name, and both are renamed into place only once every item is
    written (ark first, then scp: an scp never points at a missing ark).
    Returns the number of items written.
    """
    import kaldiio

    ark, scp = Path(ark), Path(scp)
    offsets: list[tuple[str, int]] = []
    with atomic_path(ark) as tmp_ark:
        with open(tmp_ark, "wb") as f:
            for key, mat in items:
                f.write(key.encode("utf-8") + b" ")
                offsets.append((key, f.tell()))
                kaldiio.save_mat(f, np.ascontiguousarray(mat, dtype=np.float32))
    write_text(scp, "".join(f"{k} {ark}:{off}\n" for k, off in offsets))
    return len(offsets)


def read_scp(scp: str | os.PathLike) -> "Mapping[str, np.ndarray]":
    """Lazy mapping utt -> matrix over a Kaldi scp (kaldiio)."""
    import kaldiio

    return kaldiio.load_scp(str(scp))
