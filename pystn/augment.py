"""Waveform augmentation for x-vector training (Snyder et al. 2018 recipe, as used by the paper, Sec. 5).

Four kinds, one chosen per augmented copy:

* ``noise``:  additive coloured noise (power spectrum ~ 1/f^alpha), SNR 0-15 dB
  (MUSAN ``noise/`` files when a MUSAN folder is configured);
* ``babble``: the sum of 3-7 other training utterances, SNR 13-20 dB (MUSAN ``speech/``);
* ``music``:  music-like tones (random notes with harmonics and note changes), SNR 5-15 dB
  (MUSAN ``music/``);
* ``reverb``: convolution with a simulated room impulse response, exponentially
  decaying noise with RT60 in [0.2, 0.8] s after a direct path
  (RIRS_NOISES ``simulated_rirs/`` when configured).

Additive noise at a target SNR:  y = x + n * sqrt(P_x / (P_n 10^(SNR/10))).
All functions take float32 waveforms [N] and a numpy Generator (deterministic from a seed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from pystn.io import DataError

KINDS = ("noise", "babble", "music", "reverb")
SNR_RANGES = {"noise": (0.0, 15.0), "babble": (13.0, 20.0), "music": (5.0, 15.0)}


def power(x: np.ndarray) -> float:
    return float(np.mean(np.asarray(x, dtype=np.float64) ** 2)) + 1e-12


def fit_length(noise: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Tile (if short) and crop at a random offset to exactly ``n`` samples."""
    if len(noise) == 0:
        raise ValueError("empty noise signal")
    if len(noise) < n:
        noise = np.tile(noise, int(np.ceil(n / len(noise))) + 1)
    start = int(rng.integers(0, len(noise) - n + 1))
    return noise[start:start + n]


def add_at_snr(x: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """x + noise scaled so that 10 log10(P_x / P_noise) = snr_db (noise already len(x))."""
    scale = np.sqrt(power(x) / (power(noise) * 10.0 ** (snr_db / 10.0)))
    return (x + scale * noise).astype(np.float32)


def coloured_noise(n: int, rng: np.random.Generator, alpha: float | None = None) -> np.ndarray:
    """Gaussian noise with power spectrum ~ 1/f^alpha (alpha in [0, 2]: white ... brown)."""
    alpha = rng.uniform(0.0, 2.0) if alpha is None else alpha
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    out = np.fft.irfft(spec / f ** (alpha / 2.0), n)
    return (out / (np.std(out) + 1e-12)).astype(np.float32)


def music_tones(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Music-like signal: a note sequence (MIDI 40-84, 0.15-0.6 s each) with 1-4 decaying harmonics."""
    out = np.zeros(n, dtype=np.float64)
    pos = 0
    while pos < n:
        dur = int(sr * rng.uniform(0.15, 0.6))
        t = np.arange(min(dur, n - pos)) / sr
        f0 = 440.0 * 2 ** ((rng.integers(40, 85) - 69) / 12)
        note = sum(np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 2 * np.pi)) / h
                   for h in range(1, int(rng.integers(1, 5)) + 1) if f0 * h < sr / 2)
        out[pos:pos + len(t)] = note * np.exp(-t * rng.uniform(1.0, 6.0))
        pos += len(t)
    return (out / (np.std(out) + 1e-12)).astype(np.float32)


def simulated_rir(sr: int, rng: np.random.Generator, rt60: float | None = None) -> np.ndarray:
    """Room impulse response: unit direct path, then Gaussian noise decaying 60 dB in ``rt60`` seconds."""
    rt60 = rng.uniform(0.2, 0.8) if rt60 is None else rt60
    n = int(sr * rt60)
    t = np.arange(n) / sr
    tail = rng.standard_normal(n) * np.exp(-6.9078 * t / rt60)  # ln(1000) = 6.9078: -60 dB at rt60
    delay = int(sr * rng.uniform(0.002, 0.01))
    rir = np.zeros(n + delay)
    rir[0] = 1.0
    rir[delay:] += tail * rng.uniform(0.05, 0.3)
    return (rir / np.sqrt(np.sum(rir ** 2))).astype(np.float32)


def reverberate(x: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """Convolve with ``rir`` aligned on its direct path (strongest tap), same length and power as x."""
    from scipy.signal import fftconvolve

    d = int(np.argmax(np.abs(rir)))
    y = fftconvolve(x, rir)[d:d + len(x)]
    return (y * np.sqrt(power(x) / power(y))).astype(np.float32)


def list_audio(folder: str | Path, what: str) -> list[Path]:
    """Audio files under ``folder`` (recursively); a clear error when the folder is missing or empty."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{what} folder '{folder}' does not exist: download it or unset it in the config")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".wav", ".flac"))
    if not files:
        raise DataError(f"{what} folder '{folder}' holds no .wav/.flac files")
    return files


class Augmenter:
    """Chooses and applies one augmentation kind per call, from simulated sources or MUSAN / RIRS_NOISES.

    ``babble_pool``: paths of training utterances, mixed 3-7 at a time into babble.
    """

    def __init__(self, sr: int, kinds: Sequence[str] = KINDS, babble_pool: Sequence[str] = (),
                 musan: str | None = None, rirs: str | None = None):
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown augmentation kinds {sorted(unknown)} (known: {KINDS})")
        self.sr, self.kinds, self.babble_pool = sr, list(kinds), list(babble_pool)
        self.musan = {k: list_audio(Path(musan) / sub, f"MUSAN {sub}")
                      for k, sub in (("noise", "noise"), ("music", "music"), ("babble", "speech"))} if musan else None
        self.rirs = list_audio(Path(rirs) / "simulated_rirs", "RIRS_NOISES simulated_rirs") if rirs else None
        if "babble" in self.kinds and not self.musan and len(self.babble_pool) < 3:
            raise ValueError("babble needs at least 3 other training utterances (babble_pool)")

    def load(self, path) -> np.ndarray:
        from pystn.features import load_audio

        return load_audio(str(path), self.sr)[0]

    def source(self, kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
        """The interfering signal of ``kind`` (n samples)."""
        if self.musan:
            files = self.musan[kind]
            k = int(rng.integers(3, 8)) if kind == "babble" else 1
            return sum(fit_length(self.load(files[i]), n, rng) for i in rng.choice(len(files), k))
        if kind == "noise":
            return coloured_noise(n, rng)
        if kind == "music":
            return music_tones(n, self.sr, rng)
        picks = rng.choice(len(self.babble_pool), int(min(rng.integers(3, 8), len(self.babble_pool))), replace=False)
        return sum(fit_length(self.load(self.babble_pool[i]), n, rng) for i in picks)

    def __call__(self, x: np.ndarray, rng: np.random.Generator, kind: str | None = None) -> tuple[np.ndarray, str]:
        """(augmented x, kind used); ``kind`` None draws one of ``self.kinds``."""
        kind = kind or self.kinds[int(rng.integers(len(self.kinds)))]
        if kind == "reverb":
            rir = self.load(self.rirs[int(rng.integers(len(self.rirs)))]) if self.rirs else simulated_rir(self.sr, rng)
            return reverberate(x, rir), kind
        return add_at_snr(x, self.source(kind, len(x), rng), rng.uniform(*SNR_RANGES[kind])), kind
