"""Feature extraction (stage 02_feats): one pure function per preset ``kind``.

``extract(preset, wav, sr)`` resamples ``wav`` [N] to ``preset['sample_rate']``
and dispatches on ``preset['kind']``; every kind returns float32 frames x dims
([T, D]) or a 1-d track [T]:

  mel        HiFi-GAN log mel                       (spectral.mel)
  fbank      Kaldi compute-fbank-feats              (spectral.fbank)
  mfcc       Kaldi compute-mfcc-feats               (spectral.mfcc)
  ser_fbank  SER 41-d log energy + fbank, with VAD  (spectral.ser_fbank)
  f0         RAPT / DIO+StoneMask / Harvest F0      (prosody.f0)
  energy     RMS energy                             (prosody.energy)
  world      WORLD [f0 | mcep | bap]                (world.world)
  vad        Kaldi compute-vad 0/1 decisions        (vad.vad)
  cmvn       per-speaker stats of another preset    (cmvn.compute_cmvn; not per wav)
"""

from __future__ import annotations

import os

import numpy as np

from pystn.features import prosody, spectral, vad as _vad, world as _world
from pystn.features.conf import describe  # noqa: F401
from pystn.features.cmvn import apply_cmvn, cmvn_stats, compute_cmvn  # noqa: F401
from pystn.features.world import world_synthesize  # noqa: F401
from pystn.io import DataError

KINDS = {
    "mel": spectral.mel, "fbank": spectral.fbank, "mfcc": spectral.mfcc,
    "ser_fbank": spectral.ser_fbank, "f0": prosody.f0, "energy": prosody.energy,
    "world": _world.world, "vad": _vad.vad,
}


def resample(wav: np.ndarray, sr: int, target_sr: int) -> np.ndarray:
    """Resample [N] from ``sr`` to ``target_sr`` -> float32.

    soxr "HQ", i.e. exactly ``librosa.resample(res_type="soxr_hq")`` without librosa's
    import cost.
    """
    if int(sr) == int(target_sr):
        return np.asarray(wav, dtype=np.float32)
    import soxr

    return soxr.resample(np.asarray(wav, dtype=np.float32), int(sr), int(target_sr),
                         quality="HQ").astype(np.float32)


def load_audio(path: str | os.PathLike, sr: int | None = None) -> tuple[np.ndarray, int]:
    """Read an audio file as mono float32 [N] in [-1, 1], resampled to ``sr`` if given.

    Returns ``(wav, sample_rate)``. Raises DataError naming the file when it is
    missing, unreadable or holds no samples.
    """
    import soundfile as sf

    try:
        wav, file_sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as e:  # soundfile raises LibsndfileError, RuntimeError, OSError...
        raise DataError(f"{path}: cannot read audio ({e})") from e
    if wav.shape[0] == 0:
        raise DataError(f"{path}: audio file holds no samples")
    wav = wav.mean(axis=1) if wav.shape[1] > 1 else wav[:, 0]
    if sr is not None and sr != file_sr:
        wav, file_sr = resample(wav, file_sr, sr), int(sr)
    return np.ascontiguousarray(wav, dtype=np.float32), int(file_sr)


def kind_of(preset: dict) -> str:
    kind = preset.get("kind")
    if kind not in KINDS:
        known = sorted(KINDS) + ["cmvn"]
        raise ValueError(f"feature kind '{kind}' cannot be extracted from audio (kinds: {known})")
    return kind


def settings_of(preset: dict) -> dict:
    """The kind-specific settings of a preset (without ``kind`` and ``sample_rate``)."""
    return {k: v for k, v in preset.items() if k not in ("kind", "sample_rate")}


def extract(preset: dict, wav: np.ndarray, sr: int) -> np.ndarray:
    """Features of ``wav`` [N] at ``sr`` for ``preset`` -> float32 [T, D] or [T]."""
    fn = KINDS[kind_of(preset)]
    target = int(preset.get("sample_rate", sr))
    x = resample(wav, sr, target)
    if x.size == 0:
        raise ValueError("empty waveform")
    return np.ascontiguousarray(fn(x, target, settings_of(preset)), dtype=np.float32)


def extract_file(preset: dict, path: str | os.PathLike) -> np.ndarray:
    """``extract`` on an audio file (loaded and resampled once by :func:`load_audio`)."""
    wav, sr = load_audio(path, preset.get("sample_rate"))
    return extract(preset, wav, sr)

