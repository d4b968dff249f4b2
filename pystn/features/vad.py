"""Energy voice activity detection, as Kaldi's ``compute-vad``.

Kaldi's rule on the per-frame log energy ``e_t`` (C0 of MFCC with raw energy):

    thr = energy_threshold + energy_mean_scale * mean_t(e_t)
    vad_t = 1  if  #{s in [t-c, t+c] : e_s > thr} >= proportion_threshold * #{s in [t-c, t+c]}

with ``c = frames_context`` (Kaldi default 0, i.e. plain thresholding).
"""

from __future__ import annotations

import numpy as np

from pystn.features.framing import INT16_SCALE


def energy_vad(log_energy: np.ndarray, energy_threshold: float = 5.5,
               energy_mean_scale: float = 0.5, frames_context: int = 0,
               proportion_threshold: float = 0.6) -> np.ndarray:
    """0/1 speech decision per frame [T] float32 from a log-energy track [T]."""
    e = np.asarray(log_energy, dtype=np.float64)
    if len(e) == 0:
        return np.zeros(0, dtype=np.float32)
    thr = energy_threshold + energy_mean_scale * e.mean()
    above = (e > thr).astype(np.float64)
    c = int(frames_context)
    if c == 0:
        return above.astype(np.float32)
    csum = np.concatenate([[0.0], np.cumsum(above)])
    t = np.arange(len(e))
    lo, hi = np.maximum(t - c, 0), np.minimum(t + c + 1, len(e))
    num, den = csum[hi] - csum[lo], hi - lo
    return (num >= proportion_threshold * den).astype(np.float32)


def raw_log_energy(wav: np.ndarray, sr: int, frame_length_ms: float, frame_shift_ms: float
                   ) -> np.ndarray:
    """Kaldi raw log energy per frame [T] (snip_edges framing, DC removed, int16 scale)."""
    import torch
    import torchaudio.compliance.kaldi as kaldi

    x = torch.from_numpy(np.asarray(wav, dtype=np.float32) * INT16_SCALE)[None]
    feats = kaldi.fbank(x, sample_frequency=float(sr), frame_length=frame_length_ms,
                        frame_shift=frame_shift_ms, num_mel_bins=23, use_energy=True,
                        raw_energy=True, dither=0.0, energy_floor=0.0)
    return feats[:, 0].numpy()


def vad(wav: np.ndarray, sr: int, s: dict) -> np.ndarray:
    """Kaldi compute-vad decisions [T] on the framing of the Kaldi MFCC / fbank presets."""
    e = raw_log_energy(wav, sr, float(s.get("frame_length_ms", 25)), float(s.get("frame_shift_ms", 10)))
    return energy_vad(e, float(s.get("energy_threshold", 5.5)), float(s.get("energy_mean_scale", 0.5)),
                      int(s.get("frames_context", 0)), float(s.get("proportion_threshold", 0.6)))
