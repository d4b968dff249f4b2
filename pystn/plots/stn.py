"""SpeechTripleNet figures: Fig. 2 (editing visualisation) and the training curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pystn.plots import plt, save_figure


def run_styles(labels: list[str]) -> dict[str, dict]:
    """Line colour and legend label per training run: the Table 3 sweep's replicates of one C_p
    (``cp<C_p>r<k>``) share the colour of ``cp<C_p>`` and stay out of the legend."""
    from pystn.models.stn_variants import sweep_c_p, sweep_replicate

    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    colours: dict = {}
    styles = {}
    for label in labels:
        group = sweep_c_p(label) if sweep_c_p(label) is not None else label
        colour = colours.setdefault(group, cycle[len(colours) % len(cycle)])
        styles[label] = {"color": colour, "label": "_nolegend_" if sweep_replicate(label) else label}
    return styles


def plot_losses(runs: dict[str, list[dict]], path: str | Path) -> Path:
    """Training curves of every run (label -> train_log records): NLL, each KL with its capacity, L_p,
    and the harmonic source's register L1 when a run logs it."""
    panels = [("nll", None, "reconstruction NLL"), ("kl_c", "cap_c", "KL content (C_c dashed)"),
              ("kl_s", "cap_s", "KL speaker (C_s dashed)"), ("kl_p", "cap_p", "KL prosody (C_p dashed)"),
              ("ssl_p", None, "prosody self-supervision L_p")]
    if any("f0_range_l1" in r for recs in runs.values() for r in recs):
        panels.append(("f0_range_l1", None, "register L1 (log-F0 min, max)"))
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.2))
    styles = run_styles(list(runs))
    for ax, (key, cap, title) in zip(axes, panels):
        for label, recs in runs.items():
            steps = [r["step"] for r in recs if key in r]
            if not steps:
                continue
            line, = ax.plot(steps, [r[key] for r in recs if key in r], lw=1, **styles[label])
            if cap and all(cap in r for r in recs if key in r):
                ax.plot(steps, [r[cap] for r in recs if key in r], "--", color=line.get_color(), lw=0.8)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("step")
        if key == "nll":
            ax.set_yscale("log")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_editing(rows: list[dict], path: str | Path, n_bins: int = 8, hop_s: float = 256 / 22050) -> Path:
    """Fig. 2: one row per version (label, mel [T,M], log_f0 [T], energy [T], bins_f [T], bins_e [T]).

    Columns: the pitch latent and the energy latent (one-hot bins over time), and the
    mel-spectrogram with the F0 (Hz, voiced frames) and energy contours measured on the audio.
    """
    fig, axes = plt.subplots(len(rows), 3, figsize=(13, 2.2 * len(rows)),
                             gridspec_kw={"width_ratios": [1, 1, 2.2]}, squeeze=False)
    for ax_row, r in zip(axes, rows):
        t = len(r["mel"])
        for ax, key, name in ((ax_row[0], "bins_f", "pitch latent"), (ax_row[1], "bins_e", "energy latent")):
            img = np.zeros((n_bins, t))
            img[np.asarray(r[key], dtype=int), np.arange(t)] = 1
            ax.imshow(img, origin="lower", aspect="auto", cmap="Greys", interpolation="nearest")
            ax.set_ylabel(f"{r['label']}\n{name}" if key == "bins_f" else name, fontsize=8)
        ax = ax_row[2]
        ax.imshow(np.asarray(r["mel"]).T, origin="lower", aspect="auto", cmap="magma",
                  extent=(0, t * hop_s, 0, r["mel"].shape[1]))
        f0 = np.where(r["log_f0"] > 0, np.exp(r["log_f0"]), np.nan)
        tt = np.arange(len(f0)) * hop_s
        ax.plot(tt, f0 / 400 * r["mel"].shape[1], color="cyan", lw=1.2, label="F0 (0-400 Hz)")
        en = np.asarray(r["energy"])
        ax.plot(np.arange(len(en)) * hop_s, en / (en.max() + 1e-9) * r["mel"].shape[1] * 0.9,
                color="white", lw=0.8, label="energy (scaled)")
        if r.get("span"):
            ax.axvspan(r["span"][0] * hop_s, r["span"][1] * hop_s, color="yellow", alpha=0.15)
        ax.set_xlim(0, t * hop_s)
    axes[0, 2].legend(fontsize=7, loc="upper right")
    axes[-1, 2].set_xlabel("time (s)")
    fig.tight_layout()
    return save_figure(fig, path)
