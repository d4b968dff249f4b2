"""Prosody targets and edits of SpeechTripleNet (paper §3.3, §4.4).

Quantisation (paper §3.3, authors' code): per utterance, the voiced part of the
log-F0 contour is min-max scaled into [0, 1] and quantised into linear bins;
so is the energy contour. With ``n_bins = 8``:

* pitch ``y_f``: unvoiced frames (log-F0 = 0) take bin 0; voiced frames take bins
  1 .. 7 (the paper's Fig. 2 calls 1 "the lowest value for voiced speech").
* energy ``y_e``: every frame is min-max scaled over the utterance into bins 0 .. 7.

The joint class is ``y = y_f * n_bins + y_e`` (64 classes), the self-supervision
target of Eq. 2. Marginals of a joint distribution ``[..., 64]`` are
``p_f = sum_e p[f, e]`` and ``p_e = sum_f p[f, e]``.

Edits work on marginal bin indices ``[T]`` (ints), as the decoder reads the two
marginal codes separately.
"""

from __future__ import annotations

import numpy as np
import torch

N_BINS = 8


def _minmax_scale(values: np.ndarray) -> np.ndarray:
    """``values`` min-max scaled into [0, 1] (all 0 when they are constant)."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return v
    span = v.max() - v.min()
    return (v - v.min()) / span if span > 0 else np.zeros_like(v)


def _minmax_bins(values: np.ndarray, lo_bin: int, hi_bin: int) -> np.ndarray:
    """Min-max scale ``values`` into [0, 1] and quantise linearly into bins lo_bin .. hi_bin."""
    scaled = _minmax_scale(values)
    if scaled.size == 0:
        return np.zeros(0, dtype=np.int64)
    n = hi_bin - lo_bin + 1
    return lo_bin + np.minimum((scaled * n).astype(np.int64), n - 1)


def voiced_range(log_f0: np.ndarray) -> np.ndarray:
    """(min, max) [2] float32 of an utterance's voiced log-F0 [T]: the range that
    :func:`quantize_pitch` scales into the voiced bins; (0, 0) when nothing is voiced."""
    log_f0 = np.asarray(log_f0).reshape(-1)
    voiced = log_f0[log_f0 > 0]
    return np.array([voiced.min(), voiced.max()] if voiced.size else [0.0, 0.0], dtype=np.float32)


def quantize_pitch(log_f0: np.ndarray, n_bins: int = N_BINS) -> np.ndarray:
    """Pitch bins y_f [T] int64 from log-F0 [T] (unvoiced = 0): 0 unvoiced, 1..n_bins-1 voiced."""
    log_f0 = np.asarray(log_f0).reshape(-1)
    out = np.zeros(len(log_f0), dtype=np.int64)
    voiced = log_f0 > 0
    out[voiced] = _minmax_bins(log_f0[voiced], 1, n_bins - 1)
    return out


def quantize_energy(energy: np.ndarray, n_bins: int = N_BINS) -> np.ndarray:
    """Energy bins y_e [T] int64 in 0..n_bins-1 by per-utterance min-max of the energy [T]."""
    return _minmax_bins(np.asarray(energy).reshape(-1), 0, n_bins - 1)


def joint_target(log_f0: np.ndarray, energy: np.ndarray, n_bins: int = N_BINS) -> np.ndarray:
    """Joint class y = y_f * n_bins + y_e [T] int64 (the one-hot target of Eq. 2)."""
    yf, ye = quantize_pitch(log_f0, n_bins), quantize_energy(energy, n_bins)
    if len(yf) != len(ye):
        raise ValueError(f"pitch has {len(yf)} frames but energy has {len(ye)}")
    return yf * n_bins + ye


N_CONTOURS = 3


def prosody_contours(log_f0: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """The contours Eq. 2 quantises, before quantisation: [T, 3] float32 of (voiced log-F0 min-max
    scaled into [0, 1], 0 unvoiced; the voicing flag; energy min-max scaled into [0, 1]), per
    whole utterance. Relative, as the paper's bins: no speaker's register or loudness is left."""
    log_f0, energy = np.asarray(log_f0).reshape(-1), np.asarray(energy).reshape(-1)
    if len(log_f0) != len(energy):
        raise ValueError(f"pitch has {len(log_f0)} frames but energy has {len(energy)}")
    voiced = log_f0 > 0
    pitch = np.zeros(len(log_f0))
    pitch[voiced] = _minmax_scale(log_f0[voiced])
    return np.stack([pitch, voiced, _minmax_scale(energy)], 1).astype(np.float32)


def model_contours(reads_contours: bool, f0s: dict | None, energies: dict | None, source: str
                   ) -> dict[str, np.ndarray] | None:
    """utt -> :func:`prosody_contours` [T, 3] of every utterance of ``f0s`` (analysed log-F0) and
    ``energies`` for a model whose prosody encoder reads them (``model.prosody_contours``); None for
    one that reads the mel alone. Missing features or a frame-count mismatch is a DataError naming
    ``source`` (the model dir or the scps) and the utterance."""
    from pystn.io import DataError

    if not reads_contours:
        return None
    if f0s is None or energies is None:
        raise DataError(f"{source}: this model's prosody encoder reads the pitch and energy contours "
                        "(model.prosody_contours): give --f0-scp and --energy-scp")
    out = {}
    for u, log_f0 in f0s.items():
        try:
            out[u] = prosody_contours(log_f0, energies[u])
        except ValueError as e:
            raise DataError(f"utterance '{u}' ({source}): {e}") from None
    return out


def split_joint(y: np.ndarray | torch.Tensor, n_bins: int = N_BINS):
    """Joint class indices -> (pitch bins, energy bins)."""
    return y // n_bins, y % n_bins


def marginals(joint: torch.Tensor, n_bins: int = N_BINS) -> tuple[torch.Tensor, torch.Tensor]:
    """Pitch and energy marginals [..., n_bins] of a joint distribution / code [..., n_bins**2]."""
    grid = joint.reshape(*joint.shape[:-1], n_bins, n_bins)  # [..., f, e]
    return grid.sum(-1), grid.sum(-2)


def expected_voiced_bin(pitch_marginal: torch.Tensor) -> torch.Tensor:
    """The mean pitch bin given voicing, sum_{b>=1} b p_b / sum_{b>=1} p_b [...], of pitch
    marginals p [..., n_bins] (bin 0 unvoiced): a position between bins where the encoder
    hesitates between two neighbours, which its argmax rounds away."""
    voiced = pitch_marginal[..., 1:]
    bins = torch.arange(1, pitch_marginal.shape[-1], dtype=pitch_marginal.dtype, device=pitch_marginal.device)
    return (voiced * bins).sum(-1) / voiced.sum(-1).clamp_min(1e-12)


def voiced_segments(pitch_bins: np.ndarray, min_len: int = 3) -> list[tuple[int, int]]:
    """Runs [start, end) of voiced frames (pitch bin > 0) at least ``min_len`` long."""
    voiced = np.concatenate([[False], np.asarray(pitch_bins) > 0, [False]])
    edges = np.flatnonzero(np.diff(voiced.astype(np.int8)))
    runs = list(zip(edges[::2], edges[1::2]))
    return [(int(a), int(b)) for a, b in runs if b - a >= min_len]


def shift_segments(bins: np.ndarray, pitch_bins: np.ndarray, rng: np.random.Generator,
                   amount: int, lo: int = 0, n_bins: int = N_BINS, fraction: float = 1.0) -> np.ndarray:
    """Shift the marginal ``bins`` [T] of randomly chosen voiced segments up or down by ``amount``.

    Each voiced segment (from ``pitch_bins``) is edited with probability
    ``fraction`` (at least one is edited), in a random direction; values are
    clipped to lo..n_bins-1 (lo = 1 in the editing of ``pystn.models.stn_convert``: the paper's Fig. 2
    lowers the pitch and the energy of a syllable "into 1"; energy bin 0 is the silence's).
    Returns a new array; unvoiced frames are never touched.
    """
    out = np.array(bins, copy=True)
    segs = voiced_segments(pitch_bins)
    if not segs:
        return out
    chosen = [s for s in segs if rng.random() < fraction] or [segs[int(rng.integers(len(segs)))]]
    for a, b in chosen:
        sign = 1 if rng.random() < 0.5 else -1
        out[a:b] = np.clip(out[a:b] + sign * amount, lo, n_bins - 1)
    return out


def set_span(bins: np.ndarray, pitch_bins: np.ndarray, span: tuple[int, int], value: int) -> np.ndarray:
    """Set the voiced frames of ``span`` [start, end) to bin ``value`` (emphasis: the top bin)."""
    out = np.array(bins, copy=True)
    a, b = span
    voiced = np.asarray(pitch_bins[a:b]) > 0
    out[a:b][voiced] = value
    return out


def emphasis_span(pitch_bins: np.ndarray, energy: np.ndarray, rng: np.random.Generator,
                  min_len: int = 5) -> tuple[int, int]:
    """A word-like span to emphasise, chosen without word alignments.

    The synthetic corpus has no word alignment, so a "word" is approximated by
    one voiced segment (a run of voiced frames, usually a syllable nucleus and
    its voiced neighbours) of at least ``min_len`` frames, picked at random
    among the segments of the middle of the utterance (not the first or last
    segment, which carry phrase-initial / phrase-final prosody). Falls back to
    the highest-energy segment of any length, then to the middle fifth.
    """
    segs = voiced_segments(pitch_bins, min_len)
    inner = segs[1:-1] if len(segs) > 2 else segs
    if inner:
        return inner[int(rng.integers(len(inner)))]
    segs = voiced_segments(pitch_bins, 1)
    if segs:
        return max(segs, key=lambda s: float(np.mean(energy[s[0]:s[1]])))
    t = len(pitch_bins)
    return 2 * t // 5, max(2 * t // 5 + 1, 3 * t // 5)


def final_span(pitch_bins: np.ndarray, fraction: float = 0.25) -> tuple[int, int]:
    """The span from the last voiced segment that starts within the final ``fraction`` to the end.

    Statement -> question raises pitch and energy at the end of the utterance (paper §4.4).
    """
    t = len(pitch_bins)
    start = int(t * (1 - fraction))
    segs = voiced_segments(pitch_bins, 1)
    if segs:
        start = min(start, segs[-1][0])
    return start, t


def rising_contour(bins: np.ndarray, pitch_bins: np.ndarray, span: tuple[int, int],
                   top: int = N_BINS - 1) -> np.ndarray:
    """Raise the voiced frames of ``span`` along a ramp that reaches ``top`` at its last voiced frame."""
    out = np.array(bins, copy=True)
    a, b = span
    voiced = np.flatnonzero(np.asarray(pitch_bins[a:b]) > 0)
    if voiced.size == 0:
        return out
    idx = a + voiced
    ramp = np.linspace(0.0, 1.0, idx[-1] - a + 1)[voiced]
    out[idx] = np.maximum(out[idx], np.round(out[idx] + ramp * (top - out[idx])).astype(out.dtype))
    return out
