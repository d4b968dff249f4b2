"""Per-speaker cepstral mean and variance normalisation (Kaldi ``compute-cmvn-stats``).

Statistics of frames x_t in R^D pooled over a speaker's utterances, in Kaldi's
2 x (D + 1) layout:

    stats[0, :D] = sum_t x_t        stats[0, D] = count
    stats[1, :D] = sum_t x_t^2      stats[1, D] = 0

``apply_cmvn`` computes (x - mu) (/ sigma with norm_vars), mu = sum / count,
sigma^2 = sumsq / count - mu^2, as Kaldi's ``apply-cmvn``.
"""

from __future__ import annotations

import os
from typing import Iterable, Mapping

import numpy as np
from tqdm import tqdm

from pystn.io import DataError, read_kv, read_scp, write_ark_scp

VAR_FLOOR = 1.0e-20  # Kaldi apply-cmvn's variance floor


def cmvn_stats(mats: Iterable[np.ndarray]) -> np.ndarray:
    """Accumulate Kaldi CMVN stats [2, D + 1] float64 over matrices [T_i, D]."""
    stats = None
    for mat in mats:
        x = np.asarray(mat, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"CMVN needs frames x dims matrices, got shape {x.shape}")
        if stats is None:
            stats = np.zeros((2, x.shape[1] + 1))
        elif x.shape[1] + 1 != stats.shape[1]:
            raise ValueError(f"dimension {x.shape[1]} differs from earlier {stats.shape[1] - 1}")
        stats[0, :-1] += x.sum(axis=0)
        stats[1, :-1] += (x * x).sum(axis=0)
        stats[0, -1] += x.shape[0]
    if stats is None:
        raise ValueError("CMVN stats of no matrices")
    return stats


def apply_cmvn(feats: np.ndarray, stats: np.ndarray, norm_vars: bool = False) -> np.ndarray:
    """Normalise feats [T, D] with stats [2, D + 1] -> [T, D] float32."""
    stats = np.asarray(stats, dtype=np.float64)
    d = stats.shape[1] - 1
    if feats.shape[-1] != d:
        raise ValueError(f"feature dim {feats.shape[-1]} != CMVN stats dim {d}")
    mean, std = stats_mean_std(stats)
    out = np.asarray(feats, dtype=np.float64) - mean
    if norm_vars:
        out = out / std
    return out.astype(np.float32)


def stats_mean_std(stats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation [D] (float64) of stats [2, D + 1]: mu = sum / count,
    sigma = sqrt(max(sumsq / count - mu^2, VAR_FLOOR))."""
    stats = np.asarray(stats, dtype=np.float64)
    d = stats.shape[1] - 1
    count = stats[0, d]
    if count < 1:
        raise ValueError(f"CMVN stats with count {count}")
    mean = stats[0, :d] / count
    return mean, np.sqrt(np.maximum(stats[1, :d] / count - mean * mean, VAR_FLOOR))


def frame_mean_std(mats: Iterable[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Global mean and standard deviation [D] of every frame of matrices [T_i, D]: the input
    standardisation a network trains with (one pass, as :func:`cmvn_stats`)."""
    return stats_mean_std(cmvn_stats(mats))


def speaker_stats(feats: Mapping[str, np.ndarray], spk2utt: Mapping[str, list[str]],
                  where: str = "feats.scp") -> Iterable[tuple[str, np.ndarray]]:
    """Yield (speaker, stats [2, D+1]) for each speaker, C-ordered as spk2utt.

    Raises DataError naming the speaker and utterance missing from ``where``.
    """
    for spk, utts in tqdm(spk2utt.items(), desc="cmvn", unit="spk"):
        for utt in utts:
            if utt not in feats:
                raise DataError(f"{where}: utterance '{utt}' of speaker '{spk}' has no features")
        yield spk, cmvn_stats(feats[u] for u in utts)


def compute_cmvn(feats_scp: str | os.PathLike, spk2utt_path: str | os.PathLike,
                 out_ark: str | os.PathLike, out_scp: str | os.PathLike) -> int:
    """Write per-speaker CMVN stats of ``feats_scp`` to a Kaldi ark/scp; return #speakers."""
    spk2utt = {spk: line.split() for spk, line in read_kv(spk2utt_path).items()}
    feats = read_scp(feats_scp)
    return write_ark_scp(out_ark, out_scp, speaker_stats(feats, spk2utt, str(feats_scp)))
