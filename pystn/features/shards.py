"""Sharded extraction over Kaldi data dirs: what steps/make_feats.py and merge_feats.py run.

A shard job reads ``<shard>/wav.scp`` and writes ``feats.<n>.ark`` + ``feats.<n>.scp``
atomically (pystn.io.write_ark_scp); the merge concatenates the shard scps into
``feats.scp`` and records the preset in ``conf.json``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import numpy as np
from tqdm import tqdm

from pystn.data import check_wav_entry
from pystn.features import describe, extract, load_audio
from pystn.io import DataError, c_sorted, read_kv, write_ark_scp, write_json, write_text


def iter_features(preset: dict, wavs: dict[str, str], where: str = "wav.scp"
                  ) -> Iterator[tuple[str, np.ndarray]]:
    """Yield (utt, features) for utt -> audio path, in C order, with a progress bar.

    Any failure is re-raised as DataError naming the utterance and its file.
    """
    for utt in tqdm(c_sorted(wavs), desc=f"feats {preset.get('kind')}", unit="utt", mininterval=2):
        path = wavs[utt]
        check_wav_entry(utt, path, where)
        try:
            wav, sr = load_audio(path, preset.get("sample_rate"))
            feats = extract(preset, wav, sr)
        except DataError as e:
            raise DataError(f"{where}: utterance '{utt}': {e}") from e
        except Exception as e:
            raise DataError(f"{where}: utterance '{utt}' ({path}): {type(e).__name__}: {e}") from e
        yield utt, feats


def remove_stale_temps(path: Path) -> None:
    """Delete temporaries of ``path`` left by a killed job (``.<name>.*.tmp``)."""
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        tmp.unlink(missing_ok=True)


def make_shard(preset: dict, shard_dir: str | os.PathLike, out_dir: str | os.PathLike,
               n: int) -> int:
    """Extract every utterance of ``<shard_dir>/wav.scp`` into ``<out_dir>/feats.<n>.{ark,scp}``.

    The scp points at the ark by absolute path (as Kaldi's make_mfcc.sh does).
    Returns the number of utterances written.
    """
    wav_scp = Path(shard_dir) / "wav.scp"
    if not wav_scp.is_file():
        raise DataError(f"{wav_scp}: shard has no wav.scp")
    wavs = read_kv(wav_scp)
    out = Path(out_dir).resolve()
    ark, scp = out / f"feats.{n}.ark", out / f"feats.{n}.scp"
    out.mkdir(parents=True, exist_ok=True)
    for p in (ark, scp):
        remove_stale_temps(p)
    return write_ark_scp(ark, scp, iter_features(preset, wavs, str(wav_scp)))


def merge_scps(scps: list[str | os.PathLike], out_scp: str | os.PathLike) -> int:
    """Concatenate shard scps into one C-sorted scp; DataError on a duplicate key."""
    entries: dict[str, str] = {}
    for scp in scps:
        for key, value in read_kv(scp).items():
            if key in entries:
                raise DataError(f"{scp}: utterance '{key}' is also in another shard")
            entries[key] = value
    write_text(out_scp, "".join(f"{k} {entries[k]}\n" for k in c_sorted(entries)))
    return len(entries)


def merge_shards(preset: dict, name: str, out_dir: str | os.PathLike,
                 scps: list[str | os.PathLike]) -> int:
    """Write ``<out_dir>/feats.scp`` from shard scps and ``conf.json``; return #utterances."""
    out = Path(out_dir)
    n = merge_scps(scps, out / "feats.scp")
    conf = describe(preset, name)
    conf.update(num_shards=len(scps), num_utts=n)
    write_json(out / "conf.json", conf)
    return n
