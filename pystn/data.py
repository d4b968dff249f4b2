"""Kaldi data directories: the interchange between corpus preparers and every stage.

A data dir holds ``wav.scp`` (paths only), ``utt2spk``, ``spk2utt`` and
``utt2dur``, and, where the corpus has them, ``text``, ``utt2emo``,
``utt2gender``, ``trials`` and ``phone_ali`` (a phone alignment where the
corpus knows one: ``utt phone start_s end_s phone start_s end_s ...``, see
:func:`read_alignment`). Utterance ids start with their speaker id and
every file is sorted in C order. :func:`validate_data_dir` rejects what Kaldi's
``utils/validate_data_dir.sh --no-feats`` rejects.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pystn.io import DataError, c_sorted, read_kv, write_json, write_kv, write_text

OPTIONAL_MAPS = ("text", "utt2emo", "utt2gender", "utt2dur", "utt2lang", "phone_ali")
SPLITS = ("train", "val", "test")


@dataclass
class DataDir:
    """In-memory Kaldi data dir. ``wavs``: utt -> audio path; the rest utt -> value."""

    wavs: dict[str, str]
    utt2spk: dict[str, str]
    maps: dict[str, dict[str, str]] = field(default_factory=dict)
    trials: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def utts(self) -> list[str]:
        return c_sorted(self.wavs)

    def spk2utt(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for utt in self.utts:
            out.setdefault(self.utt2spk[utt], []).append(utt)
        return out

    def subset(self, utts) -> "DataDir":
        """A data dir holding only ``utts`` (trials among them are kept)."""
        keep = set(utts)
        return DataDir(
            wavs={u: self.wavs[u] for u in self.wavs if u in keep},
            utt2spk={u: self.utt2spk[u] for u in self.utt2spk if u in keep},
            maps={k: {u: v for u, v in m.items() if u in keep} for k, m in self.maps.items()},
            trials=[t for t in self.trials if t[0] in keep and t[1] in keep],
        )


def check_wav_entry(utt: str, entry: str, source: str, allow_pipes: bool = False) -> None:
    """Refuse piped ``wav.scp`` entries (``cmd |``) unless explicitly allowed."""
    if entry.rstrip().endswith("|") and not allow_pipes:
        raise DataError(
            f"{source}: utterance '{utt}' has a piped wav.scp entry ('{entry}'); pystn reads paths "
            "only. Convert the audio to files, or set data.allow_piped_wav_scp: true in the config."
        )


def read_data_dir(path: str | Path, allow_pipes: bool = False) -> DataDir:
    """Load a Kaldi data dir from disk (without validating it)."""
    path = Path(path)
    for required in ("wav.scp", "utt2spk"):
        if not (path / required).is_file():
            raise DataError(f"{path}: data dir has no '{required}'")
    wavs = read_kv(path / "wav.scp")
    for utt, entry in wavs.items():
        check_wav_entry(utt, entry, str(path / "wav.scp"), allow_pipes)
    maps = {name: read_kv(path / name, allow_empty_value=(name == "text"))
            for name in OPTIONAL_MAPS if (path / name).is_file()}
    trials = []
    if (path / "trials").is_file():
        for lineno, line in enumerate((path / "trials").read_text().splitlines(), 1):
            parts = line.split()
            if len(parts) != 3:
                raise DataError(f"{path / 'trials'}:{lineno}: expected 'enroll test target|nontarget'")
            trials.append(tuple(parts))
    return DataDir(wavs=wavs, utt2spk=read_kv(path / "utt2spk"), maps=maps, trials=trials)


def read_alignment(value: str, where: str = "phone_ali") -> list[tuple[str, float, float]]:
    """One ``phone_ali`` value -> [(phone, start_s, end_s)]; DataError naming ``where`` when malformed."""
    tokens = value.split()
    if len(tokens) % 3:
        raise DataError(f"{where}: expected 'phone start end' triples, got {len(tokens)} tokens")
    try:
        segs = [(tokens[i], float(tokens[i + 1]), float(tokens[i + 2])) for i in range(0, len(tokens), 3)]
    except ValueError:
        raise DataError(f"{where}: start/end times must be numbers (seconds)") from None
    if any(b < a for _, a, b in segs) or any(n[1] < p[2] - 1e-6 for p, n in zip(segs, segs[1:])):
        raise DataError(f"{where}: segments must be ordered and not overlap")
    return segs


def validate_data_dir(data: DataDir, where: str = "data dir") -> None:
    """Reject a data dir that Kaldi's validate_data_dir.sh --no-feats would reject.

    Checks: every utterance in wav.scp has a speaker and vice versa; utterance
    ids start with their speaker id; optional maps cover exactly the
    utterances; no whitespace in ids; trials name known utterances and say
    target/nontarget consistently with the speakers.
    """
    if not data.wavs:
        raise DataError(f"{where}: no utterances")
    missing_spk = [u for u in data.wavs if u not in data.utt2spk]
    if missing_spk:
        raise DataError(f"{where}: utterances in wav.scp without a speaker in utt2spk: {missing_spk[:5]}")
    missing_wav = [u for u in data.utt2spk if u not in data.wavs]
    if missing_wav:
        raise DataError(f"{where}: utterances in utt2spk without audio in wav.scp: {missing_wav[:5]}")
    for utt, spk in data.utt2spk.items():
        if not spk or any(c.isspace() for c in utt + spk):
            raise DataError(f"{where}: bad utterance or speaker id '{utt}' / '{spk}'")
        if not utt.startswith(spk):
            raise DataError(f"{where}: utterance id '{utt}' does not start with its speaker id '{spk}' "
                            "(Kaldi sorting needs it)")
    for name, mapping in data.maps.items():
        extra = [u for u in mapping if u not in data.wavs]
        if extra:
            raise DataError(f"{where}: {name} has utterances with no audio: {extra[:5]}")
        lacking = [u for u in data.wavs if u not in mapping]
        if lacking:
            raise DataError(f"{where}: {name} lacks utterances that have audio: {lacking[:5]}")
    for enroll, test, label in data.trials:
        for utt in (enroll, test):
            if utt not in data.wavs:
                raise DataError(f"{where}: trials name unknown utterance '{utt}'")
        if label not in ("target", "nontarget"):
            raise DataError(f"{where}: trial label must be target|nontarget, got '{label}'")
        same = data.utt2spk[enroll] == data.utt2spk[test]
        if same != (label == "target"):
            raise DataError(f"{where}: trial {enroll} {test} is labelled {label} but the speakers "
                            f"{'match' if same else 'differ'}")


def write_data_dir(data: DataDir, out_dir: str | Path, where: str | None = None) -> Path:
    """Validate ``data`` and write it as a Kaldi data dir (each file atomically)."""
    out_dir = Path(out_dir)
    validate_data_dir(data, where or str(out_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    write_kv(out_dir / "wav.scp", data.wavs)
    write_kv(out_dir / "utt2spk", data.utt2spk)
    spk2utt = data.spk2utt()
    write_kv(out_dir / "spk2utt", {s: " ".join(u) for s, u in spk2utt.items()})
    for name, mapping in data.maps.items():
        write_kv(out_dir / name, mapping)
    if data.trials:
        write_text(out_dir / "trials", "".join(f"{e} {t} {l}\n" for e, t, l in sorted(data.trials)))
    return out_dir


def audio_duration(path: str) -> float:
    """Duration in seconds of an audio file; DataError naming the file if unreadable or empty."""
    import soundfile as sf

    try:
        info = sf.info(path)
    except Exception as exc:  # soundfile raises several types for bad files
        raise DataError(f"unreadable audio file '{path}': {exc}") from exc
    if info.frames == 0:
        raise DataError(f"empty audio file '{path}' (0 samples)")
    return info.frames / info.samplerate


def add_durations(data: DataDir) -> None:
    """Fill ``utt2dur`` from the audio headers (errors name the utterance and file)."""
    durs = {}
    for utt, path in data.wavs.items():
        try:
            durs[utt] = f"{audio_duration(path):.3f}"
        except DataError as exc:
            raise DataError(f"utterance '{utt}': {exc}") from None
    data.maps["utt2dur"] = durs


def split_speakers(speakers, sizes: dict[str, int | float], seed: int) -> dict[str, list[str]]:
    """Deterministic speaker split: shuffle the C-sorted speakers with ``seed``.

    ``sizes`` gives each split a count (int) or a fraction (float < 1); the
    last split listed takes whatever remains. Returns split -> sorted speakers.
    """
    spks = c_sorted(set(speakers))
    random.Random(seed).shuffle(spks)
    names = list(sizes)
    out, start = {}, 0
    for i, name in enumerate(names):
        size = sizes[name]
        n = len(spks) - start if i == len(names) - 1 else (
            int(round(size * len(spks))) if isinstance(size, float) and size < 1 else int(size))
        if n <= 0 or start + n > len(spks):
            raise DataError(f"speaker split {sizes} does not fit {len(spks)} speakers")
        out[name] = c_sorted(spks[start:start + n])
        start += n
    return out


def write_splits(data: DataDir, split_spks: dict[str, list[str]], out_root: str | Path) -> None:
    """Write one data dir per split under ``out_root`` plus ``speaker_split.json``."""
    out_root = Path(out_root)
    for split, spks in split_spks.items():
        keep = set(spks)
        utts = [u for u in data.utts if data.utt2spk[u] in keep]
        write_data_dir(data.subset(utts), out_root / split)
    write_json(out_root / "speaker_split.json", split_spks)


def split_data_dir(data_dir: str | Path, nj: int, out_root: str | Path | None = None) -> list[Path]:
    """Split a data dir into ``nj`` shards of about equal total duration (Kaldi's split_data.sh).

    Utterances stay in C order and each shard is a contiguous run, so shards
    are stable when one utterance changes. Returns the shard dirs
    ``<out_root>/<n>`` for n = 1..nj (``out_root`` defaults to ``split<nj>``).
    """
    data_dir = Path(data_dir)
    data = read_data_dir(data_dir)
    utts = data.utts
    if nj > len(utts):
        raise DataError(f"{data_dir}: cannot split {len(utts)} utterances into nj={nj} shards")
    durs = np.array([float(data.maps.get("utt2dur", {}).get(u, 1.0)) for u in utts])
    cum = np.cumsum(durs)
    # each shard ends after the utterance whose running total is closest to its share
    bounds = np.array([int(np.argmin(np.abs(cum - t))) + 1 for t in np.arange(1, nj) * cum[-1] / nj], dtype=int)
    bounds = np.clip(np.maximum(bounds, np.arange(1, nj)), 0, len(utts) - nj + np.arange(1, nj))
    edges = [0, *bounds.tolist(), len(utts)]
    out_root = Path(out_root) if out_root else data_dir / f"split{nj}"
    shards = []
    for n in range(nj):
        shard = out_root / str(n + 1)
        write_data_dir(data.subset(utts[edges[n]:edges[n + 1]]), shard, where=f"{data_dir} shard {n + 1}")
        shards.append(shard)
    return shards


def replace_dir(tmp: Path, final: Path) -> None:
    """Move a fully written temporary folder onto ``final`` (replacing an old one)."""
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)
