"""Spectral features: HiFi-GAN log-mel, Kaldi fbank / MFCC, and the SER 41-d fbank.

All functions are pure: ``(wav [N] float32 in [-1, 1], sr, settings) -> [T, D] float32``.
torch is imported inside the functions: F0 / energy / WORLD jobs never pay its start-up.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np

from pystn.features import framing
from pystn.features.framing import INT16_SCALE
from pystn.features.vad import energy_vad

# settings key -> torchaudio.compliance.kaldi argument (the rest pass through unchanged)
_KALDI_RENAMES = {"frame_length_ms": "frame_length", "frame_shift_ms": "frame_shift"}
_KALDI_COMMON = {"blackman_coeff", "dither", "energy_floor", "frame_length", "frame_shift",
                 "high_freq", "htk_compat", "low_freq", "min_duration", "num_mel_bins",
                 "preemphasis_coefficient", "raw_energy", "remove_dc_offset",
                 "round_to_power_of_two", "snip_edges", "subtract_mean", "use_energy",
                 "vtln_high", "vtln_low", "vtln_warp", "window_type"}
_KALDI_ONLY = {"fbank": {"use_log_fbank", "use_power"}, "mfcc": {"cepstral_lifter", "num_ceps"}}
if TYPE_CHECKING:  # torch is imported lazily: energy / f0 jobs never pay for it
    import torch

# Kaldi's own defaults where torchaudio differs (energy_floor 1.0 in torchaudio, 0 in Kaldi)
_KALDI_DEFAULTS = {"dither": 0.0, "energy_floor": 0.0}


@functools.lru_cache(maxsize=16)
def mel_basis(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None) -> "torch.Tensor":
    """librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax) [n_mels, n_fft//2 + 1]: slaney mel
    scale and slaney (area) norm; the one filter bank of the project (the mel features, the STN
    harmonic source, the Griffin-Lim vocoder's pseudo-inverse). Built with torchaudio (same
    filters to float32 rounding, tested against librosa) because librosa's first use costs ~1.5 s
    of imports per job. Cached: the caller must not modify it in place."""
    import torchaudio.functional as AF

    return AF.melscale_fbanks(n_fft // 2 + 1, float(fmin), float(fmax if fmax is not None else sr / 2),
                              n_mels, sr, norm="slaney", mel_scale="slaney").T.contiguous()


@functools.lru_cache(maxsize=16)
def _hann(win_length: int) -> "torch.Tensor":
    import torch

    return torch.hann_window(win_length)


def mel(wav: np.ndarray, sr: int, s: dict) -> np.ndarray:
    """HiFi-GAN ``mel_spectrogram``: log mel magnitude spectrogram [T, n_mels].

    ``|STFT|`` with a Hann window of ``win_length`` (periodic, as torch.hann_window),
    ``n_fft``, ``hop_length``; with ``center: false`` the signal is reflect-padded
    by ``(n_fft - hop) / 2`` each side first (T = framing.num_frames). Magnitude
    ``sqrt(re^2 + im^2 + 1e-9)``; librosa slaney mel filters on [fmin, fmax];
    ``log(max(x, log_floor))`` (natural log).
    """
    n_fft, hop, win = int(s["n_fft"]), int(s["hop_length"]), int(s.get("win_length", s["n_fft"]))
    center = bool(s.get("center", False))
    import torch

    x = np.asarray(wav, dtype=np.float32)
    if not center:
        x = framing.pad_reflect(x, n_fft, hop)
    if len(x) < n_fft:
        raise ValueError(f"signal of {len(wav)} samples is shorter than one {n_fft}-sample frame")
    spec = torch.stft(torch.from_numpy(np.ascontiguousarray(x)), n_fft, hop_length=hop,
                      win_length=win, window=_hann(win), center=center, pad_mode="reflect",
                      normalized=False, onesided=True, return_complex=True)
    mag = torch.sqrt(spec.real.pow(2) + spec.imag.pow(2) + 1e-9)
    basis = mel_basis(sr, n_fft, int(s["n_mels"]), float(s.get("fmin", 0.0)),
                       float(s["fmax"]) if s.get("fmax") is not None else None)
    out = torch.log(torch.clamp(basis @ mag, min=float(s.get("log_floor", 1e-5))))
    return out.T.contiguous().numpy()


def kaldi_options(s: dict, sr: int, kind: str) -> dict:
    """Map preset settings to ``torchaudio.compliance.kaldi.<kind>`` keyword arguments.

    Unknown keys raise ValueError naming the key (a typo must not be ignored).
    """
    allowed = _KALDI_COMMON | _KALDI_ONLY[kind]
    opts = dict(_KALDI_DEFAULTS)
    for key, value in s.items():
        if key in ("kind", "sample_rate"):
            continue
        name = _KALDI_RENAMES.get(key, key)
        if name not in allowed:
            raise ValueError(f"unknown {kind} setting '{key}' (allowed: {sorted(allowed)})")
        opts[name] = value
    opts["sample_frequency"] = float(sr)
    return opts


def _kaldi(kind: str, wav: np.ndarray, sr: int, opts: dict) -> np.ndarray:
    import torch
    import torchaudio.compliance.kaldi as kaldi

    x = torch.from_numpy(np.asarray(wav, dtype=np.float32) * INT16_SCALE)[None]
    fn = kaldi.fbank if kind == "fbank" else kaldi.mfcc
    return fn(x, **opts).numpy().astype(np.float32, copy=False)


def fbank(wav: np.ndarray, sr: int, s: dict) -> np.ndarray:
    """Kaldi ``compute-fbank-feats`` [T, num_mel_bins (+1 energy first if use_energy)].

    Input scaled to the int16 range as Kaldi reads WAV; dither defaults to 0.
    """
    return _kaldi("fbank", wav, sr, kaldi_options(s, sr, "fbank"))


def mfcc(wav: np.ndarray, sr: int, s: dict) -> np.ndarray:
    """Kaldi ``compute-mfcc-feats`` [T, num_ceps]; C0 is log energy when use_energy."""
    return _kaldi("mfcc", wav, sr, kaldi_options(s, sr, "mfcc"))


def ser_fbank(wav: np.ndarray, sr: int, s: dict) -> np.ndarray:
    """SER front-end input [T_speech, 1 + n_mels]: log energy then ``n_mels`` log mel fbanks.

    "41-dim filter-banks ... over 40 ms Hamming windows with a 10 ms shift, and
    a VAD applied": Kaldi fbank with ``use_energy`` (column 0 = raw log
    energy). With ``vad: true`` frames that :func:`energy_vad` marks as
    non-speech on column 0 are dropped; an utterance with no speech frame at all
    is kept whole, so no utterance vanishes from the feature set.
    """
    opts = kaldi_options({"frame_length_ms": s.get("frame_length_ms", 40),
                          "frame_shift_ms": s.get("frame_shift_ms", 10),
                          "num_mel_bins": s.get("n_mels", 40),
                          "window_type": s.get("window_type", "hamming"),
                          "use_energy": True}, sr, "fbank")
    feats = _kaldi("fbank", wav, sr, opts)
    if s.get("vad", True):
        voiced = energy_vad(feats[:, 0], float(s.get("energy_threshold", 5.5)),
                            float(s.get("energy_mean_scale", 0.5))).astype(bool)
        if voiced.any():
            feats = feats[voiced]
    return np.ascontiguousarray(feats)
