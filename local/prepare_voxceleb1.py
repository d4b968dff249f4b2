#!/usr/bin/env python
"""VoxCeleb1 -> Kaldi data dirs with utt2gender; the test split carries the official trial list.

Layout: <root>/wav/id10001/1zcIwhmdeo4/00001.wav (also the separate
<root>/vox1_dev_wav/wav and <root>/vox1_test_wav/wav of the download);
<root>/vox1_meta.csv (tab-separated ``VoxCeleb1 ID, VGGFace1 ID, Gender,
Nationality, Set`` with Set dev|test); trials <root>/veri_test2.txt
(``1 id10270/x6uYqmx31kE/00001.wav id10300/ize_eiCFEg0/00003.wav``, 1 = target).

Utterance ids are ``id10001-1zcIwhmdeo4-00001``. test = the Set=test speakers
(id10270-id10309) with the trials converted to utterance ids; train / val =
the dev speakers, ``val_fraction`` (default 0.05) of them drawn with ``seed``.
Options: ``trials`` (file name under root, or a path: e.g. 'List of trial
pairs - VoxCeleb1 (cleaned).txt'), ``drop_missing_trials`` (default false:
trials naming missing audio are a DataError), ``split`` (a speaker split over
all speakers instead; trials then stay where both sides are).

usage: prepare_voxceleb1.py [--seed N] [--trials FILE] <voxceleb1-root> <out-dir>
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from local.prepare_kaldi import (common_args, finish, read_lines, require_root, resolve_split,  # noqa: E402
                                 run_cli, warn)
from pystn.data import DataDir, split_speakers  # noqa: E402
from pystn.io import DataError, c_sorted  # noqa: E402

NEEDS_ROOT = True
WAV_DIRS = ("wav", "vox1_dev_wav/wav", "vox1_test_wav/wav")


def utt_id(rel: str) -> str:
    """``id10270/x6uYqmx31kE/00001.wav`` -> ``id10270-x6uYqmx31kE-00001``."""
    return rel[:-4].replace("/", "-") if rel.endswith(".wav") else rel.replace("/", "-")


def scan_audio(root: Path) -> dict[str, Path]:
    """utt -> file over every wav folder present; an id found twice is a DataError naming both."""
    dirs = [root / d for d in WAV_DIRS if (root / d).is_dir()]
    if not dirs:
        raise DataError(f"{root}: no wav/ folder (tried {list(WAV_DIRS)}); set corpora.voxceleb1.root")
    audio: dict[str, Path] = {}
    for wav_dir in dirs:
        for f in tqdm(sorted(wav_dir.glob("id*/*/*.wav")), desc=f"scan {wav_dir}", file=sys.stderr, leave=False):
            utt = utt_id(f.relative_to(wav_dir).as_posix())
            if utt in audio:
                raise DataError(f"duplicate utterance '{utt}': {audio[utt]} and {f}")
            audio[utt] = f
    return audio


def read_meta(path: Path) -> dict[str, tuple[str, str]]:
    """speaker -> (gender 'm'/'f', set 'dev'/'test')."""
    if not path.is_file():
        raise DataError(f"{path} not found (the VoxCeleb1 speaker list with genders and dev/test sets)")
    out = {}
    for lineno, line in enumerate(read_lines(path, "voxceleb1"), 1):
        fields = [f.strip() for f in line.split("\t")]
        if not fields[0] or fields[0].lower().startswith("voxceleb1 id"):
            continue
        if len(fields) < 5 or fields[2].lower() not in ("m", "f") or fields[4].lower() not in ("dev", "test"):
            raise DataError(f"{path}:{lineno}: expected 'ID<TAB>VGGFace1 ID<TAB>m|f<TAB>Nationality<TAB>dev|test'")
        out[fields[0]] = (fields[2].lower(), fields[4].lower())
    return out


def read_trials(path: Path, audio, drop_missing: bool) -> list[tuple[str, str, str]]:
    """Trials as (enroll utt, test utt, target|nontarget); missing audio raises or is dropped."""
    trials, missing = [], []
    for lineno, line in enumerate(read_lines(path, "voxceleb1"), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 3 or parts[0] not in ("0", "1"):
            raise DataError(f"{path}:{lineno}: expected '1|0 spk/video/nnnnn.wav spk/video/nnnnn.wav'")
        enroll, test = utt_id(parts[1]), utt_id(parts[2])
        lost = [p for p, u in ((parts[1], enroll), (parts[2], test)) if u not in audio]
        if lost:
            missing.append(f"{path.name}:{lineno} {' '.join(lost)}")
            continue
        trials.append((enroll, test, "target" if parts[0] == "1" else "nontarget"))
    if missing and not drop_missing:
        raise DataError(f"{len(missing)} trials name audio that is missing: {missing[:5]} "
                        "(set corpora.voxceleb1.drop_missing_trials: true to drop them)")
    if missing:
        warn(f"dropping {len(missing)} trials with missing audio, e.g. {missing[:3]}")
    return trials


def trials_path(root: Path, trials: str) -> Path:
    path = Path(trials) if Path(trials).is_absolute() else root / trials
    if not path.is_file():
        raise DataError(f"trial list {path} not found; set corpora.voxceleb1.trials to its file name")
    return path


def default_split(meta, speakers, val_fraction: float, seed: int) -> dict[str, list[str]]:
    """test = Set=test speakers; val = a seeded fraction of the dev speakers; train = the rest."""
    dev = [s for s in speakers if meta[s][1] == "dev"]
    test = c_sorted(s for s in speakers if meta[s][1] == "test")
    if len(dev) < 2:
        raise DataError(f"VoxCeleb1 has {len(dev)} dev speakers with audio; train and val need at least 2")
    n_val = min(max(1, int(round(val_fraction * len(dev)))), len(dev) - 1)
    parts = split_speakers(dev, {"val": n_val, "train": len(dev) - n_val}, seed)
    return {"train": parts["train"], "val": parts["val"], "test": test}


def prepare_voxceleb1(root, out_dir, *, seed: int = 1234, nj: int = 1, allow_pipes: bool = False, split=None,
                      trials: str = "veri_test2.txt", drop_missing_trials: bool = False,
                      val_fraction: float = 0.05, **_ignored) -> None:
    """VoxCeleb1 at ``root`` -> ``<out_dir>/{train,val,test}`` (test with ``trials``) + speaker_split.json."""
    root = require_root(root, "voxceleb1")
    audio = scan_audio(root)
    meta = read_meta(root / "vox1_meta.csv")
    utt2spk = {u: u.split("-", 1)[0] for u in audio}
    unknown = c_sorted({s for s in utt2spk.values() if s not in meta})
    if unknown:
        raise DataError(f"speakers with audio but not in {root / 'vox1_meta.csv'}: {unknown[:10]}")
    data = DataDir(wavs={u: str(f) for u, f in audio.items()}, utt2spk=utt2spk,
                   maps={"utt2gender": {u: meta[s][0] for u, s in utt2spk.items()}},
                   trials=read_trials(trials_path(root, trials), audio, drop_missing_trials))
    speakers = set(utt2spk.values())
    if split:
        split_spks = resolve_split(speakers, split, {}, seed, "voxceleb1")
    else:
        split_spks = default_split(meta, speakers, float(val_fraction), seed)
    finish(data, split_spks, out_dir, "voxceleb1")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", default="veri_test2.txt")
    ap.add_argument("--drop-missing-trials", action="store_true")
    ap.add_argument("--val-fraction", type=float, default=0.05)
    common_args(ap)
    args = ap.parse_args(argv)
    return run_cli(prepare_voxceleb1, args, trials=args.trials, drop_missing_trials=args.drop_missing_trials,
                   val_fraction=args.val_fraction)


if __name__ == "__main__":
    sys.exit(main())
