#!/usr/bin/env python
"""ESD (Emotional Speech Dataset) -> Kaldi data dirs with utt2emo, text, utt2gender; the corpus's own split.

Layout: <root>/0011/Angry/0011_000351.wav (flat release) or
<root>/0011/Angry/{train,evaluation,test}/0011_000351.wav (first release);
<root> may also be the folder that holds ``Emotion Speech Dataset/``.
Transcripts: <root>/0011/0011.txt, lines ``0011_000001<TAB>The text.<TAB>Neutral``
(English speakers are UTF-8; Mandarin ones may be GBK or UTF-16: option ``encoding``).

Numbering per speaker: Neutral 000001-000350, Angry 000351-000700, Happy
000701-001050, Sad 001051-001400, Surprise 001401-001750. The corpus's split,
per speaker and emotion block of 350: the first 20 are the evaluation set
(``val``), the next 30 the test set, the last 300 training (this is where the
first release's ``evaluation/`` and ``test/`` folders put them, e.g.
``0011/Angry/test/0011_000371.wav``); with those folders present, the folder
decides. A ``split`` option switches to a speaker split (unseen speakers).

Options: ``speakers`` (default English 0011-0020), ``emotions`` (default all
five), ``speaker_info`` (mapping or file 'speaker gender' overriding the
genders of the corpus README), ``encoding``, ``drop_unpaired``.

usage: prepare_esd.py [--seed N] [--speakers 0011 0012 ...] <esd-root> <out-dir>
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from local.prepare_kaldi import (check_pairs, common_args, finish, read_lines, require_root,  # noqa: E402
                                 resolve_split, run_cli, warn)
from pystn.data import SPLITS, DataDir, add_durations, write_data_dir  # noqa: E402
from pystn.io import DataError, c_sorted, write_json  # noqa: E402

NEEDS_ROOT = True
EMOTIONS = ("Neutral", "Angry", "Happy", "Sad", "Surprise")  # the order of the numbering blocks
BLOCK, N_EVAL, N_TEST = 350, 20, 30
SPLIT_FOLDERS = {"train": "train", "evaluation": "val", "test": "test"}
# From the ESD README (0001-0010 Mandarin, 0011-0020 English).
GENDERS = {"0001": "f", "0002": "f", "0003": "f", "0004": "m", "0005": "m", "0006": "m", "0007": "f",
           "0008": "m", "0009": "f", "0010": "m", "0011": "m", "0012": "m", "0013": "m", "0014": "m",
           "0015": "f", "0016": "f", "0017": "f", "0018": "f", "0019": "f", "0020": "m"}
LINE_RE = re.compile(r"^\s*(\d{4}_\d{6})\s+(.*?)\s*$")


def position_split(utt: str) -> str:
    """Split of ``0011_000371`` from its position within its emotion block (evaluation, test, train)."""
    pos = (int(utt.split("_")[1]) - 1) % BLOCK
    return "val" if pos < N_EVAL else "test" if pos < N_EVAL + N_TEST else "train"


def block_emotion(utt: str) -> str | None:
    block = (int(utt.split("_")[1]) - 1) // BLOCK
    return EMOTIONS[block] if block < len(EMOTIONS) else None


def read_transcripts(path: Path, spk: str, encoding: str) -> dict[str, str]:
    """utt -> text from ``<spk>/<spk>.txt`` (the trailing emotion column is dropped)."""
    if not path.is_file():
        raise DataError(f"ESD speaker {spk} has no transcript file {path}")
    out = {}
    for lineno, line in enumerate(read_lines(path, "esd", encoding), 1):
        if not line.strip():
            continue
        m = LINE_RE.match(line)
        if not m or not m.group(1).startswith(spk + "_"):
            raise DataError(f"{path}:{lineno}: expected '{spk}_NNNNNN<TAB>text<TAB>emotion', got '{line}'")
        fields = m.group(2).split("\t")
        text = fields[0] if len(fields) > 1 else m.group(2)
        if m.group(1) in out:
            raise DataError(f"{path}:{lineno}: duplicate utterance '{m.group(1)}'")
        out[m.group(1)] = " ".join(text.split())
    return out


def scan_speaker(spk_dir: Path, emotions) -> tuple[dict[str, Path], dict[str, str], dict[str, str]]:
    """Audio (utt -> file), emotion (utt -> folder name) and folder split (utt -> split) of a speaker."""
    audio, emo, folder_split = {}, {}, {}
    for emotion in emotions:
        edir = spk_dir / emotion
        if not edir.is_dir():
            raise DataError(f"{edir} not found; set corpora.esd.emotions to the emotions present")
        for f in sorted(edir.rglob("*.wav")):
            if f.stem in audio:
                raise DataError(f"duplicate utterance id '{f.stem}': {audio[f.stem]} and {f}")
            if block_emotion(f.stem) != emotion:
                warn(f"{f}: numbered as {block_emotion(f.stem)} but stored under {emotion}/")
            audio[f.stem], emo[f.stem] = f, emotion.lower()
            if f.parent.name in SPLIT_FOLDERS:
                folder_split[f.stem] = SPLIT_FOLDERS[f.parent.name]
    return audio, emo, folder_split


def load_genders(speaker_info) -> dict[str, str]:
    """Genders: the README table, overridden by a mapping or a 'speaker gender' file."""
    genders = dict(GENDERS)
    if isinstance(speaker_info, dict):
        genders.update({str(k).zfill(4): str(v).lower()[0] for k, v in speaker_info.items()})
    elif speaker_info:
        for lineno, line in enumerate(read_lines(Path(speaker_info), "esd"), 1):
            parts = line.split()
            if parts and len(parts) < 2:
                raise DataError(f"{speaker_info}:{lineno}: expected 'speaker gender'")
            if parts:
                genders[parts[0].zfill(4)] = parts[1].lower()[0]
    return genders


def esd_root(root: Path) -> Path:
    inner = root / "Emotion Speech Dataset"
    return inner if inner.is_dir() else root


def collect(root: Path, speakers, emotions, encoding: str, drop_unpaired: bool):
    """DataDir of the chosen speakers and emotions, plus utt -> the corpus's own split."""
    data = DataDir(wavs={}, utt2spk={}, maps={"text": {}, "utt2emo": {}})
    corpus_split = {}
    for spk in speakers:
        spk_dir = root / spk
        if not spk_dir.is_dir():
            raise DataError(f"{spk_dir} not found; set corpora.esd.speakers to the speakers present")
        audio, emo, folder_split = scan_speaker(spk_dir, emotions)
        texts = read_transcripts(spk_dir / f"{spk}.txt", spk, encoding)
        texts = {u: t for u, t in texts.items() if block_emotion(u) in emotions}
        keep = check_pairs(audio, {u: f"{spk}.txt:{u}" for u in texts},
                           {"audio": f"{spk_dir}/<emotion>/", "text": str(spk_dir / f'{spk}.txt')},
                           drop_unpaired, "esd")
        for utt in keep:
            data.wavs[utt], data.utt2spk[utt] = str(audio[utt]), spk
            data.maps["text"][utt], data.maps["utt2emo"][utt] = texts[utt], emo[utt]
            corpus_split[utt] = folder_split.get(utt, position_split(utt))
    return data, corpus_split


def write_corpus_split(data: DataDir, corpus_split: dict[str, str], out_dir: Path) -> None:
    """Every speaker in every split: utterances go where the corpus puts them."""
    add_durations(data)
    split_spks = {}
    for split in SPLITS:
        utts = [u for u in data.utts if corpus_split[u] == split]
        if not utts:
            raise DataError(f"ESD {split} split is empty; check the corpus or set corpora.esd.split")
        write_data_dir(data.subset(utts), out_dir / split)
        split_spks[split] = c_sorted({data.utt2spk[u] for u in utts})
    write_json(out_dir / "speaker_split.json", split_spks)


def prepare_esd(root, out_dir, *, seed: int = 1234, nj: int = 1, allow_pipes: bool = False, split=None,
                speakers=tuple(f"{i:04d}" for i in range(11, 21)), emotions=EMOTIONS, speaker_info=None,
                encoding: str = "utf-8", drop_unpaired: bool = False, **_ignored) -> None:
    """ESD at ``root`` -> ``<out_dir>/{train,val,test}`` (the corpus split, or a speaker ``split``)."""
    root = esd_root(require_root(root, "esd"))
    speakers = [str(s).zfill(4) for s in speakers]
    emotions = [e.capitalize() for e in emotions]
    unknown = [e for e in emotions if e not in EMOTIONS]
    if unknown:
        raise DataError(f"corpora.esd.emotions: unknown {unknown}; choose from {list(EMOTIONS)}")
    data, corpus_split = collect(root, speakers, emotions, encoding, drop_unpaired)
    genders = load_genders(speaker_info)
    missing = [s for s in speakers if s not in genders]
    if missing:
        warn(f"no gender known for speakers {missing} (corpora.esd.speaker_info): utt2gender is not written")
    else:
        data.maps["utt2gender"] = {u: genders[s] for u, s in data.utt2spk.items()}
    if split:
        finish(data, resolve_split(speakers, split, {}, seed, "esd"), Path(out_dir), "esd")
    else:
        write_corpus_split(data, corpus_split, Path(out_dir))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--speakers", nargs="+", default=[f"{i:04d}" for i in range(11, 21)])
    ap.add_argument("--emotions", nargs="+", default=list(EMOTIONS))
    ap.add_argument("--encoding", default="utf-8")
    common_args(ap)
    args = ap.parse_args(argv)
    return run_cli(prepare_esd, args, speakers=args.speakers, emotions=args.emotions, encoding=args.encoding)


if __name__ == "__main__":
    sys.exit(main())
