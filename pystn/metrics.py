"""Metrics shared by every track: verification (EER, minDCF), error rates, correlation, similarity.

Each function is pure over numpy arrays; scorers in ``steps/score_*.py`` compose them.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def det_curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Miss and false-alarm rates at every threshold (scores sorted ascending).

    ``labels``: 1 for target trials, 0 for non-target. Returns (p_miss, p_fa,
    thresholds), where a trial is accepted when its score > threshold; the first
    point rejects nothing-below-the-lowest (p_miss = 0, p_fa = 1).
    """
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels).astype(bool)
    n_tar, n_non = labels.sum(), (~labels).sum()
    if n_tar == 0 or n_non == 0:
        raise ValueError(f"need target and non-target trials, got {n_tar} target and {n_non} non-target")
    order = np.argsort(scores, kind="mergesort")
    sorted_labels = labels[order]
    # after rejecting the k lowest scores: misses = targets among them, false alarms = non-targets above
    misses = np.concatenate([[0], np.cumsum(sorted_labels)])
    fas = n_non - np.concatenate([[0], np.cumsum(~sorted_labels)])
    thresholds = np.concatenate([[-np.inf], scores[order]])
    return misses / n_tar, fas / n_non, thresholds


def eer(scores, labels) -> float:
    """Equal error rate (fraction), the point where miss and false-alarm rates cross (interpolated)."""
    p_miss, p_fa, _ = det_curve(scores, labels)
    i = int(np.argmax(p_miss >= p_fa))  # first point where the curves have crossed
    if i == 0:
        return float(p_fa[0])
    m0, m1, f0, f1 = p_miss[i - 1], p_miss[i], p_fa[i - 1], p_fa[i]
    denom = (m1 - m0) - (f1 - f0)
    t = 0.0 if denom == 0 else (f0 - m0) / denom
    return float(m0 + t * (m1 - m0))


def min_dcf(scores, labels, p_target: float = 0.01, c_miss: float = 1.0, c_fa: float = 1.0) -> float:
    """Normalised minimum detection cost (NIST SRE): min over thresholds of
    (C_miss P_miss P_tar + C_fa P_fa (1 - P_tar)) / min(C_miss P_tar, C_fa (1 - P_tar))."""
    p_miss, p_fa, _ = det_curve(scores, labels)
    cost = c_miss * p_miss * p_target + c_fa * p_fa * (1 - p_target)
    return float(cost.min() / min(c_miss * p_target, c_fa * (1 - p_target)))


def edit_distance(ref: Sequence, hyp: Sequence) -> int:
    """Levenshtein distance between two token sequences (substitutions, insertions, deletions)."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i]
        for j, h in enumerate(hyp, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h)))
        prev = cur
    return prev[-1]


def error_rate(refs: Sequence[Sequence], hyps: Sequence[Sequence]) -> float:
    """Corpus-level token error rate: total edits / total reference tokens (PER, CER or WER)."""
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
    n_ref = sum(len(r) for r in refs)
    if n_ref == 0:
        raise ValueError("references are empty")
    return sum(edit_distance(r, h) for r, h in zip(refs, hyps)) / n_ref


def pearson(a, b) -> float:
    """Pearson correlation of two equal-length 1-d sequences (nan if either is constant)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"pearson needs equal shapes, got {a.shape} and {b.shape}")
    a, b = a - a.mean(), b - b.mean()
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denom) if denom > 0 else float("nan")


def cosine(a, b) -> float:
    """Cosine similarity of two vectors."""
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))
