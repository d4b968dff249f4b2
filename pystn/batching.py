"""Batches for the training loop: load features into memory, sample by step, crop and pad.

Every sampler here is a pure function of (seed, step), as the resumable loop
in :mod:`pystn.training` requires.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch

from pystn.io import DataError, read_scp


def load_feats(scp: str, keys: Sequence[str] | None = None, min_frames: int = 1) -> dict[str, np.ndarray]:
    """Read every matrix of ``scp`` (or only ``keys``) into memory as float32.

    Utterances shorter than ``min_frames`` are dropped; a missing key is a DataError naming it.
    """
    table = read_scp(scp)
    keys = list(table.keys()) if keys is None else list(keys)
    out = {}
    for key in keys:
        if key not in table:
            raise DataError(f"{scp}: no features for utterance '{key}'")
        mat = np.asarray(table[key], dtype=np.float32)
        if len(mat) >= min_frames:
            out[key] = mat
    if not out:
        raise DataError(f"{scp}: no utterance has at least {min_frames} frames")
    return out


def step_rng(seed: int, step: int) -> np.random.Generator:
    """The random generator for one training step (independent of any earlier step)."""
    return np.random.default_rng([seed, step])


def sample_keys(keys: Sequence[str], batch_size: int, rng: np.random.Generator) -> list[str]:
    """``batch_size`` keys drawn without replacement (with replacement if there are fewer keys)."""
    replace = batch_size > len(keys)
    return [keys[i] for i in rng.choice(len(keys), size=batch_size, replace=replace)]


def random_crop(length: int, segment: int, rng: np.random.Generator) -> slice:
    """A random window of ``segment`` frames inside ``length`` frames (the whole if shorter)."""
    if length <= segment:
        return slice(0, length)
    start = int(rng.integers(0, length - segment + 1))
    return slice(start, start + segment)


def freq_warp(mat: np.ndarray, alpha: float) -> np.ndarray:
    """VTLN-like warp of filterbank channels [T, D]: out[:, k] = mat[:, k * alpha] (linear
    interpolation), so spectral features move from channel k * alpha to k; on a filterbank
    that is linear in Hz from 0 (a Slaney mel below 1 kHz) frequencies scale by 1 / alpha.

    A speaker's formants move by a near-constant factor on the mel axis; warping training
    utterances by random alpha in [1 - w, 1 + w] makes a model less speaker dependent (BNF DNNs)
    or shows it speakers it has not heard (SpeechTripleNet's pseudo-speakers).
    """
    d = mat.shape[1]
    src = np.clip(np.arange(d) * alpha, 0, d - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, d - 1)
    frac = (src - lo).astype(np.float32)
    return mat[:, lo] * (1 - frac) + mat[:, hi] * frac


def pad_batch(mats: Sequence[np.ndarray], pad_value: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack [T_i, D] (or [T_i]) arrays into a [B, T_max, D] tensor plus lengths [B] (long)."""
    lengths = torch.tensor([len(m) for m in mats], dtype=torch.long)
    t_max = int(lengths.max())
    shape = (len(mats), t_max, *mats[0].shape[1:])
    out = torch.full(shape, pad_value, dtype=torch.float32)
    for i, m in enumerate(mats):
        out[i, : len(m)] = torch.from_numpy(np.asarray(m, dtype=np.float32))
    return out, lengths


def length_mask(lengths: torch.Tensor, t_max: int | None = None) -> torch.Tensor:
    """Boolean mask [B, T] that is True on real (non-padded) frames."""
    t_max = int(lengths.max()) if t_max is None else t_max
    return torch.arange(t_max, device=lengths.device)[None, :] < lengths[:, None]


def label_index(labels: Mapping[str, str]) -> dict[str, int]:
    """Stable label -> integer index (sorted label names)."""
    return {lab: i for i, lab in enumerate(sorted(set(labels.values())))}
