#!/usr/bin/env python
"""VCTK (CSTR) -> Kaldi data dirs: 0.92 ``wav48_silence_trimmed`` flac (mic1/mic2) or 0.80 ``wav48`` wav.

Layouts (detected; 0.92 wins when both are present):
  0.92: <root>/wav48_silence_trimmed/p225/p225_001_mic2.flac (+ _mic1.flac), <root>/txt/p225/p225_001.txt
  0.80: <root>/wav48/p225/p225_001.wav, <root>/txt/p225/p225_001.txt
``speaker-info.txt`` (ID AGE GENDER ACCENTS REGION; ids 'p225' in 0.92, '225'
in 0.80) gives utt2gender. Utterance ids are 'p225_001', speakers 'p225'.

Options: ``mic`` (mic2 default, as the SpeechTripleNet authors' code; falls
back to the other microphone per utterance), ``require_text`` (default true:
speakers with no transcripts at all, such as p315, are dropped with a warning;
false keeps them and omits ``text``), ``drop_unpaired`` (default false:
audio without transcript or the reverse is a DataError), ``split`` (default
88/8/11 speakers for train/val/test as in SpeechTripleNet; train takes the
speakers left over when the corpus has more than 107).

usage: prepare_vctk.py [--seed N] [--mic mic2|mic1] <vctk-root> <out-dir>
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from local.prepare_kaldi import (check_pairs, common_args, finish, read_lines, require_root,  # noqa: E402
                                 resolve_split, run_cli, warn)
from pystn.data import DataDir  # noqa: E402
from pystn.io import DataError, c_sorted  # noqa: E402

NEEDS_ROOT = True
# SpeechTripleNet sec. 4.1: 88 / 8 / 11 speakers. val and test first, so that
# train takes the remainder (VCTK 0.92 has 109 speakers with text).
DEFAULT_SPLIT = {"val": 8, "test": 11, "train": 88}
MICS = ("mic1", "mic2")


def find_audio(root: Path, mic: str) -> tuple[str, dict[str, dict[str, Path]]]:
    """Layout name and speaker -> utterance -> audio file (one mic chosen per utterance)."""
    if (root / "wav48_silence_trimmed").is_dir():
        return "0.92", scan_092(root / "wav48_silence_trimmed", mic)
    if (root / "wav48").is_dir():
        return "0.80", {d.name: {f.stem: f for f in sorted(d.glob("*.wav"))}
                        for d in sorted((root / "wav48").iterdir()) if d.is_dir()}
    raise DataError(f"{root}: neither wav48_silence_trimmed/ (VCTK 0.92) nor wav48/ (VCTK 0.80) found; "
                    "set corpora.vctk.root to the VCTK folder")


def scan_092(audio_root: Path, mic: str) -> dict[str, dict[str, Path]]:
    """``p225_001_mic2.flac`` -> {'p225': {'p225_001': path}}, preferring ``mic``, else the other mic."""
    if mic not in MICS:
        raise DataError(f"corpora.vctk.mic must be one of {MICS}, got '{mic}'")
    other = MICS[1 - MICS.index(mic)]
    out = {}
    for spk_dir in sorted(d for d in audio_root.iterdir() if d.is_dir()):
        found: dict[str, dict[str, Path]] = {}
        for f in spk_dir.glob("*.flac"):
            utt, _, m = f.stem.rpartition("_")
            if m in MICS:
                found.setdefault(utt, {})[m] = f
        out[spk_dir.name] = {utt: mics.get(mic, mics.get(other)) for utt, mics in found.items()}
    return out


def read_texts(txt_root: Path) -> dict[str, dict[str, tuple[str, Path]]]:
    """speaker -> utterance -> (transcript, file)."""
    out = {}
    if not txt_root.is_dir():
        return out
    for spk_dir in sorted(d for d in txt_root.iterdir() if d.is_dir()):
        out[spk_dir.name] = {f.stem: (" ".join(" ".join(read_lines(f, "vctk")).split()), f)
                             for f in sorted(spk_dir.glob("*.txt"))}
    return out


def read_speaker_info(path: Path) -> dict[str, str]:
    """speaker ('p225') -> gender ('m'/'f') from speaker-info.txt (0.80 ids get the 'p' prefix)."""
    genders = {}
    for lineno, line in enumerate(read_lines(path, "vctk"), 1):
        fields = line.split()
        if not fields or fields[0].upper() == "ID":
            continue
        if len(fields) < 3 or fields[2].upper() not in ("M", "F"):
            raise DataError(f"{path}:{lineno}: expected 'ID AGE GENDER ...', got '{line.strip()}'")
        spk = f"p{fields[0]}" if fields[0].isdigit() else fields[0]
        genders[spk] = fields[2].lower()
    return genders


def keep_speakers(audio, texts, require_text: bool) -> list[str]:
    """Speakers with audio; those without any transcript are dropped unless text is optional."""
    no_text = c_sorted(s for s in audio if s not in texts)
    if no_text and require_text:
        warn(f"dropping speakers with no transcripts (txt/ has no folder for them): {no_text}; "
             "set corpora.vctk.require_text: false to keep them without text")
        return c_sorted(s for s in audio if s in texts)
    return c_sorted(audio)


def collect(root: Path, mic: str, require_text: bool, drop_unpaired: bool) -> DataDir:
    """All kept utterances as a DataDir (text only when every kept speaker has transcripts)."""
    layout, audio = find_audio(root, mic)
    texts = read_texts(root / "txt")
    orphans = c_sorted(s for s in texts if s not in audio)
    if orphans:
        check_pairs({}, {s: root / "txt" / s for s in orphans}, {"audio": f"the {layout} audio folder",
                                                                 "text": "txt/"}, drop_unpaired, "vctk")
    wavs, text, utt2spk = {}, {}, {}
    for spk in keep_speakers(audio, texts, require_text):
        utts = set(audio[spk])
        if spk in texts:
            utts = check_pairs(audio[spk], {u: f for u, (_, f) in texts[spk].items()},
                               {"audio": f"the {layout} audio of {spk}", "text": f"txt/{spk}"}, drop_unpaired, "vctk")
            text.update({u: texts[spk][u][0] for u in utts})
        wavs.update({u: str(audio[spk][u]) for u in utts})
        utt2spk.update({u: spk for u in utts})
    maps = {"text": text} if len(text) == len(wavs) else {}
    if text and not maps:
        warn("some kept speakers have no transcripts: text is not written")
    return DataDir(wavs=wavs, utt2spk=utt2spk, maps=maps)


def add_gender(data: DataDir, info: Path) -> None:
    if not info.is_file():
        warn(f"{info} not found: utt2gender is not written")
        return
    genders = read_speaker_info(info)
    missing = c_sorted({s for s in data.utt2spk.values() if s not in genders})
    if missing:
        warn(f"{info} lacks speakers {missing}: utt2gender is not written")
        return
    data.maps["utt2gender"] = {u: genders[s] for u, s in data.utt2spk.items()}


def prepare_vctk(root, out_dir, *, seed: int = 1234, nj: int = 1, allow_pipes: bool = False, split=None,
                 mic: str = "mic2", require_text: bool = True, drop_unpaired: bool = False,
                 **_ignored) -> None:
    """VCTK at ``root`` -> ``<out_dir>/{train,val,test}`` (speaker split) + speaker_split.json."""
    root = require_root(root, "vctk")
    data = collect(root, mic, require_text, drop_unpaired)
    bad = [u for u, s in data.utt2spk.items() if not u.startswith(s + "_")]
    if bad:
        raise DataError(f"{root}: audio file names not of the form <speaker>_<nnn>: {bad[:5]}")
    add_gender(data, root / "speaker-info.txt")
    finish(data, resolve_split(data.utt2spk.values(), split, DEFAULT_SPLIT, seed, "vctk"), out_dir, "vctk")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mic", choices=MICS, default="mic2")
    ap.add_argument("--no-require-text", dest="require_text", action="store_false")
    ap.add_argument("--drop-unpaired", action="store_true")
    common_args(ap)
    args = ap.parse_args(argv)
    return run_cli(prepare_vctk, args, mic=args.mic, require_text=args.require_text,
                   drop_unpaired=args.drop_unpaired)


if __name__ == "__main__":
    sys.exit(main())
