#!/usr/bin/env python
"""LibriSpeech -> Kaldi data dirs with text and utt2gender; split by subset.

Layout: <root>/<subset>/<spk>/<chapter>/<spk>-<chapter>-<nnnn>.flac and
<spk>-<chapter>.trans.txt (``19-198-0000 NORTHANGER ABBEY``); <root>/SPEAKERS.TXT
(``;`` comments, ``ID | SEX | SUBSET | MINUTES | NAME``) gives the genders.
Utterance ids are the file names (they start with the speaker id).

Options: ``subsets`` (default train-clean-100, dev-clean, test-clean); by
default train-* -> train, dev-* -> val, test-* -> test (LibriSpeech speakers
are disjoint across subsets); ``split`` (sizes or lists) makes a seeded
speaker split over all chosen subsets instead. ``drop_unpaired``.

usage: prepare_librispeech.py [--seed N] [--subsets S ...] <LibriSpeech-root> <out-dir>
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from local.prepare_kaldi import (check_pairs, common_args, finish, read_lines, require_root,  # noqa: E402
                                 resolve_split, run_cli, warn)
from pystn.data import DataDir  # noqa: E402
from pystn.io import DataError, c_sorted  # noqa: E402

NEEDS_ROOT = True
DEFAULT_SUBSETS = ("train-clean-100", "dev-clean", "test-clean")
SUBSET_SPLIT = {"train": "train", "dev": "val", "test": "test"}


def read_chapter(chapter_dir: Path, drop_unpaired: bool) -> tuple[dict[str, Path], dict[str, str]]:
    """Audio and transcripts of one chapter folder, checked against each other."""
    spk, chapter = chapter_dir.parent.name, chapter_dir.name
    trans = chapter_dir / f"{spk}-{chapter}.trans.txt"
    texts = {}
    if trans.is_file():
        for lineno, line in enumerate(read_lines(trans, "librispeech"), 1):
            utt, _, words = line.strip().partition(" ")
            if not utt:
                continue
            if not utt.startswith(f"{spk}-{chapter}-"):
                raise DataError(f"{trans}:{lineno}: utterance '{utt}' is not of chapter {spk}-{chapter}")
            texts[utt] = words.strip()
    audio = {f.stem: f for f in sorted(chapter_dir.glob("*.flac"))}
    keep = check_pairs(audio, {u: f"{trans}:{u}" for u in texts}, {"audio": str(chapter_dir), "text": str(trans)},
                       drop_unpaired, "librispeech")
    return {u: audio[u] for u in keep}, {u: texts[u] for u in keep}


def read_genders(path: Path) -> dict[str, str]:
    genders = {}
    if not path.is_file():
        return genders
    for lineno, line in enumerate(read_lines(path, "librispeech"), 1):
        if line.lstrip().startswith(";") or not line.strip():
            continue
        fields = [f.strip() for f in line.split("|")]
        if len(fields) < 3 or fields[1].upper() not in ("M", "F"):
            raise DataError(f"{path}:{lineno}: expected 'ID | SEX | SUBSET | MINUTES | NAME'")
        genders[fields[0]] = fields[1].lower()
    return genders


def split_of_subset(subset: str) -> str:
    prefix = subset.split("-")[0]
    if prefix not in SUBSET_SPLIT:
        raise DataError(f"subset '{subset}' is not train-*/dev-*/test-*; set corpora.librispeech.split")
    return SUBSET_SPLIT[prefix]


def collect(root: Path, subsets, drop_unpaired: bool) -> tuple[DataDir, dict[str, str]]:
    """All utterances of ``subsets`` and speaker -> subset."""
    data = DataDir(wavs={}, utt2spk={}, maps={"text": {}})
    spk2subset: dict[str, str] = {}
    for subset in subsets:
        sdir = root / subset
        if not sdir.is_dir():
            raise DataError(f"{sdir} not found; set corpora.librispeech.subsets to the subsets you have")
        chapters = sorted(c for c in sdir.glob("*/*") if c.is_dir())
        for chapter_dir in tqdm(chapters, desc=f"scan {subset}", file=sys.stderr, leave=False):
            spk = chapter_dir.parent.name
            if spk2subset.setdefault(spk, subset) != subset:
                raise DataError(f"speaker {spk} is in both {spk2subset[spk]} and {subset}")
            audio, texts = read_chapter(chapter_dir, drop_unpaired)
            dup = [u for u in audio if u in data.wavs]
            if dup:
                raise DataError(f"duplicate utterance ids in {chapter_dir}: {dup[:5]}")
            data.wavs.update({u: str(f) for u, f in audio.items()})
            data.utt2spk.update({u: spk for u in audio})
            data.maps["text"].update(texts)
    return data, spk2subset


def prepare_librispeech(root, out_dir, *, seed: int = 1234, nj: int = 1, allow_pipes: bool = False, split=None,
                        subsets=DEFAULT_SUBSETS, drop_unpaired: bool = False, **_ignored) -> None:
    """LibriSpeech at ``root`` -> ``<out_dir>/{train,val,test}`` + speaker_split.json."""
    root = require_root(root, "librispeech")
    if not (root / subsets[0]).is_dir() and (root / "LibriSpeech").is_dir():
        root = root / "LibriSpeech"
    data, spk2subset = collect(root, list(subsets), drop_unpaired)
    genders = read_genders(root / "SPEAKERS.TXT")
    missing = c_sorted(s for s in spk2subset if s not in genders)
    if missing:
        warn(f"{root / 'SPEAKERS.TXT'} lacks speakers {missing[:10]}: utt2gender is not written")
    else:
        data.maps["utt2gender"] = {u: genders[s] for u, s in data.utt2spk.items()}
    if split:
        split_spks = resolve_split(spk2subset, split, {}, seed, "librispeech")
    else:
        split_spks = {s: c_sorted(k for k, v in spk2subset.items() if split_of_subset(v) == s)
                      for s in ("train", "val", "test")}
    finish(data, split_spks, out_dir, "librispeech")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subsets", nargs="+", default=list(DEFAULT_SUBSETS))
    common_args(ap)
    args = ap.parse_args(argv)
    return run_cli(prepare_librispeech, args, subsets=args.subsets)


if __name__ == "__main__":
    sys.exit(main())
