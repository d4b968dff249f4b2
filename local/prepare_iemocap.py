#!/usr/bin/env python
"""IEMOCAP -> Kaldi data dirs with utt2emo (4 classes), utt2gender and text; leave-one-session-out split.

Layout: <root>/Session{1..5}/dialog/EmoEvaluation/<dialog>.txt holds lines
``[6.2901 - 8.2357]<TAB>Ses01F_impro01_F000<TAB>neu<TAB>[2.5000, 2.5000, 2.5000]``;
audio is <root>/Session*/sentences/wav/<dialog>/<utt>.wav; transcripts are
<root>/Session*/dialog/transcriptions/<dialog>.txt (``Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me.``).

The speaker of ``Ses01F_impro01_M000`` is ``Ses01M`` (session + the gender
letter of the last field: in each dialog both actors speak); its utterance id
is ``Ses01M-Ses01F_impro01_M000`` so that it starts with the speaker.

Options: ``sessions`` (default 1-5), ``subset`` improvised|scripted|all
(default improvised, as in the SER paper), ``classes`` (default neu hap ang
sad), ``merge_exc_into_hap`` (default false), ``test_session`` (5) and
``val_session`` (4): the leave-one-session-out protocol; ``split`` (lists of
speakers or sizes) overrides it.

usage: prepare_iemocap.py [--seed N] [--subset S] [--merge-exc] <iemocap-root> <out-dir>
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from local.prepare_kaldi import common_args, finish, read_lines, require_root, resolve_split, run_cli  # noqa: E402
from pystn.data import DataDir  # noqa: E402
from pystn.io import DataError, c_sorted  # noqa: E402

NEEDS_ROOT = True
LABEL_RE = re.compile(r"^\[\s*[\d.]+\s*-\s*[\d.]+\s*\]\s+(Ses\S+)\s+(\S+)\s+\[")
TRANSCRIPT_RE = re.compile(r"^(Ses\S+)\s+\[[\d.]+\s*-\s*[\d.]+\]:\s?(.*)$")
SUBSETS = {"improvised": ("impro",), "scripted": ("script",), "all": ("impro", "script")}


def speaker_of(orig: str) -> str:
    """``Ses01F_impro01_M000`` -> ``Ses01M`` (session of the dialog, gender letter of the turn)."""
    return orig[:5] + orig.rsplit("_", 1)[-1][0]


def dialog_of(orig: str) -> str:
    return orig.rsplit("_", 1)[0]


def read_labels(session_dir: Path, subset: str) -> dict[str, tuple[str, Path]]:
    """Original utterance id -> (label, evaluation file) for dialogs of ``subset``."""
    out = {}
    files = sorted(f for f in (session_dir / "dialog" / "EmoEvaluation").glob("*.txt")
                   if not f.name.startswith("."))
    if not files:
        raise DataError(f"{session_dir}/dialog/EmoEvaluation has no *.txt label files")
    for f in files:
        if not any(tag in f.stem for tag in SUBSETS[subset]):
            continue
        for line in read_lines(f, "iemocap"):
            m = LABEL_RE.match(line)
            if m:
                if m.group(1) in out:
                    raise DataError(f"{f}: duplicate utterance '{m.group(1)}' (also in {out[m.group(1)][1]})")
                out[m.group(1)] = (m.group(2), f)
    return out


def read_transcripts(session_dir: Path, dialog: str) -> dict[str, str]:
    path = session_dir / "dialog" / "transcriptions" / f"{dialog}.txt"
    if not path.is_file():
        return {}
    return {m.group(1): " ".join(m.group(2).split())
            for m in map(TRANSCRIPT_RE.match, read_lines(path, "iemocap")) if m}


def map_label(label: str, classes, merge_exc: bool) -> str | None:
    """The class kept for an annotated label, or None to drop it (xxx, fru, sur, ...)."""
    if merge_exc and label == "exc":
        label = "hap"
    return label if label in classes else None


def collect_session(root: Path, session: int, subset: str, classes, merge_exc: bool) -> DataDir:
    session_dir = root / f"Session{session}"
    if not session_dir.is_dir():
        raise DataError(f"{session_dir} not found; set corpora.iemocap.sessions to the sessions you have")
    data = DataDir(wavs={}, utt2spk={}, maps={"text": {}, "utt2emo": {}, "utt2gender": {}})
    transcripts: dict[str, dict[str, str]] = {}
    for orig, (label, label_file) in read_labels(session_dir, subset).items():
        emo = map_label(label, classes, merge_exc)
        if emo is None:
            continue
        dialog = dialog_of(orig)
        wav = session_dir / "sentences" / "wav" / dialog / f"{orig}.wav"
        if not wav.is_file():
            raise DataError(f"{label_file}: labelled utterance '{orig}' has no audio (expected {wav})")
        if dialog not in transcripts:
            transcripts[dialog] = read_transcripts(session_dir, dialog)
        if orig not in transcripts[dialog]:
            raise DataError(f"labelled utterance '{orig}' has no transcript in "
                            f"{session_dir / 'dialog' / 'transcriptions' / (dialog + '.txt')}")
        spk = speaker_of(orig)
        utt = f"{spk}-{orig}"
        data.wavs[utt], data.utt2spk[utt] = str(wav), spk
        data.maps["text"][utt] = transcripts[dialog][orig]
        data.maps["utt2emo"][utt] = emo
        data.maps["utt2gender"][utt] = spk[-1].lower()
    return data


def session_split(sessions, test_session: int, val_session: int) -> dict[str, list[str]]:
    """Leave-one-session-out: both speakers of a session go to the same split."""
    for key, s in (("test_session", test_session), ("val_session", val_session)):
        if s not in sessions:
            raise DataError(f"corpora.iemocap.{key}={s} is not among corpora.iemocap.sessions={list(sessions)}")
    if test_session == val_session:
        raise DataError("corpora.iemocap.test_session and val_session must differ")
    part = {s: "test" if s == test_session else "val" if s == val_session else "train" for s in sessions}
    return {split: c_sorted(f"Ses{s:02d}{g}" for s in sessions if part[s] == split for g in "FM")
            for split in ("train", "val", "test")}


def prepare_iemocap(root, out_dir, *, seed: int = 1234, nj: int = 1, allow_pipes: bool = False, split=None,
                    sessions=(1, 2, 3, 4, 5), subset: str = "improvised", classes=("neu", "hap", "ang", "sad"),
                    merge_exc_into_hap: bool = False, test_session: int = 5, val_session: int = 4,
                    **_ignored) -> None:
    """IEMOCAP at ``root`` -> ``<out_dir>/{train,val,test}`` + speaker_split.json."""
    root = require_root(root, "iemocap")
    if subset not in SUBSETS:
        raise DataError(f"corpora.iemocap.subset must be one of {list(SUBSETS)}, got '{subset}'")
    sessions = [int(s) for s in sessions]
    data = DataDir(wavs={}, utt2spk={}, maps={"text": {}, "utt2emo": {}, "utt2gender": {}})
    for session in sessions:
        part = collect_session(root, session, subset, set(classes), merge_exc_into_hap)
        data.wavs.update(part.wavs)
        data.utt2spk.update(part.utt2spk)
        for name, mapping in part.maps.items():
            data.maps[name].update(mapping)
    speakers = set(data.utt2spk.values())
    if split:
        split_spks = resolve_split(speakers, split, {}, seed, "iemocap")
    else:
        split_spks = {k: [s for s in v if s in speakers]
                      for k, v in session_split(sessions, int(test_session), int(val_session)).items()}
    finish(data, split_spks, out_dir, "iemocap")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subset", choices=list(SUBSETS), default="improvised")
    ap.add_argument("--merge-exc", action="store_true", help="merge excited (exc) into happy (hap)")
    ap.add_argument("--sessions", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--test-session", type=int, default=5)
    ap.add_argument("--val-session", type=int, default=4)
    common_args(ap)
    args = ap.parse_args(argv)
    return run_cli(prepare_iemocap, args, subset=args.subset, merge_exc_into_hap=args.merge_exc,
                   sessions=args.sessions, test_session=args.test_session, val_session=args.val_session)


if __name__ == "__main__":
    sys.exit(main())
