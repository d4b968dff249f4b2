"""Figures of the xvector track: DET curves and the Fig. 3 comparison (EER per front end)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.stats import norm

from pystn.metrics import det_curve, eer
from pystn.plots import plt, save_figure

DET_TICKS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4]


def det_plot(systems: dict[str, tuple[np.ndarray, np.ndarray]], path: str | Path, title: str = "") -> Path:
    """DET curves (probit axes) of {label: (scores, labels 1=target)}, EER in the legend."""
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    lo, hi = 5e-4, 0.5
    for label, (scores, labels) in systems.items():
        p_miss, p_fa, _ = det_curve(scores, labels)
        ax.plot(norm.ppf(np.clip(p_fa, lo, hi)), norm.ppf(np.clip(p_miss, lo, hi)), lw=1.4,
                label=f"{label} (EER {100 * eer(scores, labels):.2f}%)")
    ticks = norm.ppf(DET_TICKS)
    ax.set_xticks(ticks, [f"{100 * t:g}" for t in DET_TICKS])
    ax.set_yticks(ticks, [f"{100 * t:g}" for t in DET_TICKS])
    ax.set_xlim(norm.ppf(lo), norm.ppf(hi))
    ax.set_ylim(norm.ppf(lo), norm.ppf(hi))
    ax.plot([norm.ppf(lo), norm.ppf(hi)], [norm.ppf(lo), norm.ppf(hi)], "k:", lw=0.6)
    ax.set_xlabel("false-alarm rate (%)")
    ax.set_ylabel("miss rate (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    if title:
        ax.set_title(title, fontsize=9)
    return save_figure(fig, path)


def fig3_plot(labels: list[str], measured: list[float], paper: list[float | None], path: str | Path,
              measured_label: str, paper_label: str) -> Path:
    """Grouped bars of EER (%) per front end: this run beside the paper's (missing paper values skipped)."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    x = np.arange(len(labels))
    for ax, values, name, colour in ((axes[0], measured, measured_label, "tab:blue"),
                                     (axes[1], paper, paper_label, "tab:gray")):
        vals = [np.nan if v is None else v for v in values]
        bars = ax.bar(x, vals, color=colour)
        for b, v in zip(bars, vals):
            if np.isfinite(v):
                ax.annotate(f"{v:.2f}", (b.get_x() + b.get_width() / 2, v), ha="center", va="bottom", fontsize=8)
        ax.set_xticks(x, labels, fontsize=8)
        ax.set_ylabel("EER (%)")
        ax.set_title(name, fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    return save_figure(fig, path)
