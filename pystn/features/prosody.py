"""Prosody tracks: F0 (RAPT, DIO + StoneMask, Harvest) and RMS energy, one value per frame.

Both use the frame count of the HiFi-GAN mel with the same hop at the same
sample rate (see :mod:`pystn.features.framing`), so that ``f0[t]``,
``energy[t]`` and ``mel[t]`` describe the same frame.

Known limitation: pysptk's RAPT (SPTK's get_f0 code) keeps static buffers
between calls, so its output depends slightly on the calls made before it in
the same process (measured: voicing identical, |delta log F0| <= 0.01 on CMU
ARCTIC). A make_feats job is a fresh process that sees its shard in C order,
so reruns of a job agree; DIO / Harvest are exactly reproducible everywhere.
"""

from __future__ import annotations

import warnings

import numpy as np

from pystn.features import framing
from pystn.features.framing import INT16_SCALE

F0_METHODS = ("rapt", "dio", "harvest")


def _pyworld():
    with warnings.catch_warnings():  # pyworld imports the deprecated pkg_resources
        warnings.simplefilter("ignore")
        import pyworld
    return pyworld


def track_f0(x: np.ndarray, sr: int, method: str, hop: int, fmin: float, fmax: float,
             voice_bias: float = 0.0) -> np.ndarray:
    """Raw F0 track in Hz [T'] (unvoiced = 0), frame ``t`` analysed at sample ``t * hop``.

    ``rapt``: pysptk.rapt (Talkin's RAPT) on the int16-scaled signal;
    ``dio``: pyworld.dio refined by pyworld.stonemask; ``harvest``: pyworld.harvest.
    ``T'`` is the tracker's own count (about N / hop + 1); see :func:`f0` for alignment.
    """
    if method == "rapt":
        import pysptk

        sig = np.ascontiguousarray(x, dtype=np.float32) * np.float32(INT16_SCALE)
        # get_f0 refuses inputs under two frame steps + its 7.5 ms window: zero-pad short ones
        need = int(np.ceil((2 * hop / sr + 0.0075) * sr)) + 1
        if len(sig) < need:
            sig = np.concatenate([sig, np.zeros(need - len(sig), dtype=np.float32)])
        return pysptk.rapt(sig, fs=sr, hopsize=hop, min=fmin, max=fmax, voice_bias=voice_bias,
                           otype="f0").astype(np.float64)
    pw = _pyworld()
    x64 = np.ascontiguousarray(x, dtype=np.float64)
    period = 1000.0 * hop / sr
    if method == "dio":
        f0, t = pw.dio(x64, sr, f0_floor=fmin, f0_ceil=fmax, frame_period=period)
        return pw.stonemask(x64, f0, t, sr)
    if method == "harvest":
        return pw.harvest(x64, sr, f0_floor=fmin, f0_ceil=fmax, frame_period=period)[0]
    raise ValueError(f"unknown F0 method '{method}' (choose from {F0_METHODS})")


def speaker_ceiling(track_hz: np.ndarray, fmax: float, factor: float = 1.5) -> float:
    """The F0 search ceiling for a second pass, from a first, wide-range track [T'] in Hz
    (0 = unvoiced): ``factor`` times the upper quartile of its voiced frames (Hirst 2011,
    "The analysis by synthesis of speech melody": ceiling = 1.5 q3), at most ``fmax``;
    ``fmax`` itself with fewer than 5 voiced frames.

    A fixed ceiling cannot suit every voice: 300 Hz tracks a raised female voice (310-370 Hz)
    a whole octave low, 600 Hz lets RAPT double low male frames. Only the ceiling adapts:
    RAPT, given Hirst's floor (0.75 q1) as well, marks whole voiced stretches unvoiced.
    """
    track_hz = np.asarray(track_hz)
    voiced = track_hz[track_hz > 0]
    if len(voiced) < 5:
        return fmax
    return min(fmax, factor * float(np.percentile(voiced, 75)))


def fix_octaves(track_hz: np.ndarray, width: int = 9) -> np.ndarray:
    """F0 [T] in Hz (0 = unvoiced) with octave errors undone: each voiced frame is moved by the
    power of 2 that brings it nearest the median of the ``width`` voiced frames around it (a
    tracker's halving / doubling; within a factor sqrt(2) of the median nothing moves). One
    halved frame would otherwise set a whole utterance's min-max quantisation range.
    """
    from scipy.ndimage import median_filter

    out = np.asarray(track_hz, dtype=np.float64).copy()
    voiced = np.flatnonzero(out > 0)
    if len(voiced) < 3:
        return out
    log_f0 = np.log(out[voiced])
    median = median_filter(log_f0, size=min(width, len(log_f0)), mode="nearest")
    shifted = log_f0 + np.round((median - log_f0) / np.log(2.0)) * np.log(2.0)
    out[voiced] = np.exp(shifted)
    return out


def f0(wav: np.ndarray, sr: int, s: dict) -> np.ndarray:
    """F0 per frame [T] float32: Hz, or ``log(Hz)`` on voiced frames when ``log: true``.

    Unvoiced frames are 0. ``T = framing.num_frames(N, frame_length, hop)`` with
    ``frame_length`` (default ``4 * hop``) standing for the mel's n_fft: the
    tracker's output is cut (or zero-padded) to ``T``. ``two_pass: true`` tracks twice: in
    (``fmin``, ``fmax``), then in (``fmin``, :func:`speaker_ceiling` of that first track).
    ``octave_fix: true`` applies :func:`fix_octaves` to the tracker's output.
    """
    hop = int(s["hop_length"])
    n = framing.num_frames(len(wav), int(s.get("frame_length", 4 * hop)), hop)
    if n == 0:
        raise ValueError(f"signal of {len(wav)} samples is shorter than one {hop}-sample hop")
    method, bias = s.get("method", "rapt"), float(s.get("voice_bias", 0.0))
    fmin, fmax = float(s.get("fmin", 60.0)), float(s.get("fmax", 400.0))
    track = track_f0(wav, sr, method, hop, fmin, fmax, bias)
    if s.get("two_pass", False):
        ceiling = speaker_ceiling(track, fmax)
        if ceiling < fmax:  # at fmax the second pass would repeat the first
            track = track_f0(wav, sr, method, hop, fmin, ceiling, bias)
    track = framing.align(np.where(track > 0, track, 0.0), n)
    if s.get("octave_fix", False):
        track = fix_octaves(track)
    if s.get("log", False):
        track = np.where(track > 0, np.log(np.maximum(track, 1e-10)), 0.0)
    return track.astype(np.float32)


def energy(wav: np.ndarray, sr: int, s: dict) -> np.ndarray:
    """RMS energy per frame [T] float32: ``e_t = sqrt(mean_{i<L} x[t*hop + i]^2)``.

    Rectangular frames of ``frame_length`` L on the HiFi-GAN reflect-padded signal,
    so ``T`` equals the mel frame count for ``n_fft = L`` (a sine of amplitude A
    gives A / sqrt(2)). Computed in O(N) from a float64 cumulative sum of ``x^2``.
    """
    L, hop = int(s["frame_length"]), int(s["hop_length"])
    n = framing.num_frames(len(wav), L, hop)
    if n == 0:
        raise ValueError(f"signal of {len(wav)} samples is shorter than one {L}-sample frame")
    x = framing.pad_reflect(np.asarray(wav, dtype=np.float64), L, hop)
    csum = np.concatenate([[0.0], np.cumsum(x * x)])
    starts = np.arange(n) * hop
    power = (csum[starts + L] - csum[starts]) / L
    return np.sqrt(np.maximum(power, 0.0)).astype(np.float32)
