#!/usr/bin/env python
"""An existing Kaldi data dir as a pystn corpus, plus the helpers every corpus preparer shares.

``prepare_kaldi(root, out_dir, ...)`` reads a Kaldi data dir (``wav.scp`` with
file paths, ``utt2spk``, optional ``text`` / ``utt2emo`` / ``utt2gender`` /
``utt2dur`` / ``trials``), validates it, fills ``utt2dur`` when missing and
writes ``<out_dir>/{train,val,test}`` with a seeded speaker split. Trials are
kept only in the split that holds both of their sides. If ``root`` already has
``train/ val/ test/`` data dirs they are used as they are
(``use_existing_splits: auto|true|false``).

usage: prepare_kaldi.py [--seed N] [--allow-pipes] <kaldi-data-dir> <out-dir>
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pystn.data import (SPLITS, DataDir, add_durations, read_data_dir, split_speakers,  # noqa: E402
                        validate_data_dir, write_data_dir, write_splits)
from pystn.io import DataError, c_sorted, write_json  # noqa: E402

NEEDS_ROOT = True
DEFAULT_SPLIT = {"train": 0.8, "val": 0.1, "test": 0.1}


# ---------------------------------------------------------------- shared helpers

def warn(msg: str) -> None:
    """Warnings go to stderr, which the Snakemake rule sends to its log."""
    print(f"warning: {msg}", file=sys.stderr, flush=True)


def require_root(root, name: str) -> Path:
    """The corpus root as an absolute Path; DataError naming ``corpora.<name>.root`` if absent."""
    if root is None or str(root).strip() == "":
        raise DataError(f"corpus '{name}' needs its location: set corpora.{name}.root in the config")
    path = Path(root).expanduser()
    if not path.is_dir():
        raise DataError(f"corpus '{name}': root '{root}' is not a directory: "
                        f"set corpora.{name}.root in the config to where the corpus is")
    return path.resolve()


def read_lines(path: Path, name: str, encoding: str = "utf-8") -> list[str]:
    """Lines of a text file; a UTF-16 BOM is honoured; decode errors name the file and option."""
    raw = path.read_bytes()
    enc = "utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else encoding
    if enc.lower().replace("-", "") in ("utf8", "utf8sig"):
        enc = "utf-8-sig"
    try:
        return raw.decode(enc).splitlines()
    except (UnicodeDecodeError, LookupError) as exc:
        raise DataError(f"cannot decode '{path}' as {enc} ({exc}); set corpora.{name}.encoding "
                        "to its encoding (e.g. gbk, utf-16)") from None


def check_pairs(audio: dict[str, object], texts: dict[str, object], what: dict[str, str],
                drop: bool, name: str) -> set[str]:
    """Utterances that have both audio and a transcript.

    ``what`` maps 'audio'/'text' to a description used in messages. Unpaired
    utterances raise DataError naming them, or are dropped with a warning when
    ``drop`` (option ``corpora.<name>.drop_unpaired``).
    """
    no_text = c_sorted(set(audio) - set(texts))
    no_audio = c_sorted(set(texts) - set(audio))
    for ids, msg in ((no_text, f"audio without a transcript in {what['text']}"),
                     (no_audio, f"transcripts without audio in {what['audio']}")):
        if not ids:
            continue
        shown = ", ".join(str(audio.get(u, texts.get(u))) for u in ids[:5])
        full = f"{len(ids)} {msg}: {shown}{' ...' if len(ids) > 5 else ''}"
        if not drop:
            raise DataError(f"{full} (set corpora.{name}.drop_unpaired: true to drop them)")
        warn(f"dropping {full}")
    return set(audio) & set(texts)


def resolve_split(speakers, split, default: dict, seed: int, name: str) -> dict[str, list[str]]:
    """Speaker split: explicit lists (split -> [speakers]) or sizes for ``split_speakers``.

    Lists must name known speakers, each once; speakers left out are dropped
    with a warning. Sizes (counts or fractions) are split with ``seed``.
    """
    split = split or default
    spks = set(speakers)
    if all(isinstance(v, (list, tuple)) for v in split.values()):
        out, seen = {}, set()
        for part, listed in split.items():
            listed = [str(s) for s in listed]
            bad = [s for s in listed if s not in spks or s in seen]
            if bad:
                raise DataError(f"corpora.{name}.split['{part}']: unknown or repeated speakers {bad}")
            seen.update(listed)
            out[part] = c_sorted(listed)
        if spks - seen:
            warn(f"speakers in no split, left out: {c_sorted(spks - seen)}")
        return out
    try:
        return split_speakers(spks, dict(split), seed)
    except DataError as exc:
        raise DataError(f"{exc}; set corpora.{name}.split to sizes that fit") from None


def finish(data: DataDir, split_spks: dict[str, list[str]], out_dir, name: str) -> None:
    """Fill utt2dur from the audio, then write one data dir per split and speaker_split.json."""
    if not data.wavs:
        raise DataError(f"corpus '{name}': no utterances found (check corpora.{name} options)")
    empty = [s for s in SPLITS if s not in split_spks or not split_spks[s]]
    if empty:
        raise DataError(f"corpus '{name}': splits {empty} have no speakers; set corpora.{name}.split")
    add_durations(data)
    write_splits(data, split_spks, out_dir)


def common_args(ap: argparse.ArgumentParser) -> None:
    """The options every preparer CLI shares: --seed, --split (JSON) and the two folders."""
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--split", type=json.loads, default=None,
                    help='speaker split as JSON, e.g. \'{"train": 88, "val": 8, "test": 11}\'')
    ap.add_argument("root")
    ap.add_argument("out_dir")


def run_cli(prepare, args: argparse.Namespace, **options) -> int:
    """Call ``prepare(root, out_dir, seed=, split=, **options)``; a DataError becomes a one-line error."""
    try:
        prepare(args.root, args.out_dir, seed=args.seed, split=args.split, **options)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


# ---------------------------------------------------------------- the Kaldi corpus

def absolute_wavs(data: DataDir, base: Path) -> None:
    """Make relative wav.scp paths absolute against ``base`` (piped entries are left alone)."""
    for utt, entry in data.wavs.items():
        if entry.rstrip().endswith("|"):
            continue
        if not os.path.isabs(entry):
            data.wavs[utt] = str((base / entry).resolve())


def load_kaldi_dir(path: Path, allow_pipes: bool, wav_base: Path) -> DataDir:
    """Read, absolutise and validate one Kaldi data dir; utt2dur is kept or computed."""
    if (path / "segments").is_file():
        raise DataError(f"{path / 'segments'}: segmented data dirs are not supported; "
                        "cut the segments into files first (e.g. Kaldi's extract-segments)")
    data = read_data_dir(path, allow_pipes=allow_pipes)
    absolute_wavs(data, wav_base)
    validate_data_dir(data, str(path))
    if "utt2dur" not in data.maps:
        piped = [u for u, e in data.wavs.items() if e.rstrip().endswith("|")]
        if piped:
            raise DataError(f"{path}: piped wav.scp entries (e.g. '{piped[0]}') need an utt2dur file")
        add_durations(data)
    return data


def has_existing_splits(root: Path) -> bool:
    return all((root / s / "wav.scp").is_file() for s in SPLITS)


def copy_existing_splits(root: Path, out_dir: Path, allow_pipes: bool, wav_base: Path) -> None:
    split_spks = {}
    for split in SPLITS:
        data = load_kaldi_dir(root / split, allow_pipes, wav_base)
        write_data_dir(data, out_dir / split)
        split_spks[split] = c_sorted(set(data.utt2spk.values()))
    write_json(out_dir / "speaker_split.json", split_spks)


def prepare_kaldi(root, out_dir, *, seed: int = 1234, nj: int = 1, allow_pipes: bool = False, split=None,
                  use_existing_splits="auto", wav_base=None, **_ignored) -> None:
    """Kaldi data dir ``root`` -> ``<out_dir>/{train,val,test}`` + speaker_split.json.

    ``wav_base``: folder that relative wav.scp paths are relative to (default:
    the current directory, as in a Kaldi recipe). ``split``: speaker split sizes
    or lists (default 80/10/10 % of the speakers, from ``seed``).
    """
    root = require_root(root, "kaldi")
    out_dir = Path(out_dir)
    base = Path(wav_base).resolve() if wav_base else Path.cwd()
    use_existing_splits = {"true": True, "yes": True, "false": False, "no": False}.get(
        str(use_existing_splits).lower(), "auto")
    existing = has_existing_splits(root)
    if use_existing_splits is True and not existing:
        raise DataError(f"{root}: corpora.kaldi.use_existing_splits is true but {root} has no "
                        "train/ val/ test/ data dirs")
    if existing and use_existing_splits is not False:
        copy_existing_splits(root, out_dir, allow_pipes, base)
        return
    data = load_kaldi_dir(root, allow_pipes, base)
    split_spks = resolve_split(data.utt2spk.values(), split, DEFAULT_SPLIT, seed, "kaldi")
    n_trials = len(data.trials)
    kept = sum(len(data.subset([u for u in data.utts if data.utt2spk[u] in set(s)]).trials)
               for s in split_spks.values())
    if kept < n_trials:
        warn(f"{n_trials - kept} of {n_trials} trials cross the speaker split and are dropped")
    write_splits(data, split_spks, out_dir)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--allow-pipes", action="store_true")
    ap.add_argument("--wav-base", default=None, help="folder relative wav.scp paths are relative to")
    ap.add_argument("--use-existing-splits", choices=["auto", "true", "false"], default="auto")
    common_args(ap)
    args = ap.parse_args(argv)
    return run_cli(prepare_kaldi, args, allow_pipes=args.allow_pipes, wav_base=args.wav_base,
                   use_existing_splits=args.use_existing_splits)


if __name__ == "__main__":
    sys.exit(main())
