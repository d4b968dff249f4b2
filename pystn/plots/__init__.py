"""Figures: shared helpers here, one module per track (``pystn/plots/<track>.py``)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: every figure is written to a file

import matplotlib.pyplot as plt  # noqa: E402

from pystn.io import atomic_path  # noqa: E402


def save_figure(fig, path: str | Path, dpi: int = 120) -> Path:
    """Write ``fig`` as PNG atomically and close it."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_train_log(records: list[dict], keys: list[str], path: str | Path, title: str = "") -> Path:
    """Curves of ``keys`` against step from train_log.jsonl records, one panel per key."""
    keys = [k for k in keys if any(k in r for r in records)]
    fig, axes = plt.subplots(len(keys), 1, figsize=(7, 1.8 * len(keys) + 0.6), sharex=True, squeeze=False)
    for ax, key in zip(axes[:, 0], keys):
        pts = [(r["step"], r[key]) for r in records if key in r]
        ax.plot(*zip(*pts), lw=1.2)
        ax.set_ylabel(key, fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("step")
    if title:
        axes[0, 0].set_title(title)
    return save_figure(fig, path)
