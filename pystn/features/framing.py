"""Frame counting and alignment shared by the mel, F0 and energy features.

The STN / HiFi-GAN mel (``center: false``) reflect-pads ``p = (n_fft - hop) // 2``
samples on each side and then frames without centring, so an ``N``-sample
signal gives

    T = 1 + (N + 2p - n_fft) // hop          (= N // hop when n_fft - hop is even)

frames, frame ``t`` covering padded samples ``[t*hop, t*hop + n_fft)``, i.e.
centred on original sample ``t*hop + hop/2``. F0 trackers (RAPT, DIO,
Harvest) analyse frame ``t`` at sample ``t*hop`` and return one or two frames
more than ``T``; :func:`align` keeps their first ``T`` frames (padding with the
fill value if a tracker returned fewer), which is the convention of the
FastSpeech2 / SpeechTripleNet code (a fixed offset of half a hop).
"""

from __future__ import annotations

import numpy as np

# Kaldi reads 16-bit PCM as integers, so its log energies (and compute-vad's
# thresholds) are on the int16 scale: Kaldi-compatible features scale by 2**15.
INT16_SCALE = 32768.0


def hifigan_pad(n_fft: int, hop: int) -> int:
    """Samples of reflect padding on each side: ``(n_fft - hop) // 2`` (HiFi-GAN)."""
    return (n_fft - hop) // 2


def num_frames(n_samples: int, n_fft: int, hop: int) -> int:
    """Frame count ``1 + (N + 2p - n_fft) // hop`` of the HiFi-GAN framing (0 if too short)."""
    padded = n_samples + 2 * hifigan_pad(n_fft, hop)
    if padded < n_fft:
        return 0
    return 1 + (padded - n_fft) // hop


def pad_reflect(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Reflect-pad ``x`` [N] by ``(n_fft - hop) // 2`` samples each side -> [N + 2p]."""
    p = hifigan_pad(n_fft, hop)
    if p == 0:
        return x
    mode = "reflect" if len(x) > p else "symmetric" if len(x) > 0 else "constant"
    return np.pad(x, (p, p), mode=mode)


def align(track: np.ndarray, n_frames: int, fill: float = 0.0) -> np.ndarray:
    """Cut or pad a per-frame track [T'] to exactly ``n_frames`` frames."""
    if len(track) >= n_frames:
        return track[:n_frames]
    return np.concatenate([track, np.full(n_frames - len(track), fill, dtype=track.dtype)])
