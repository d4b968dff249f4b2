"""Harmonic source of the STN decoder (a recipe addition, off in the paper configs).

A CPU-sized decoder trained for minutes regresses a smooth spectral envelope: the
harmonics of the voice are averaged away, and a phase-free vocoder (Griffin-Lim)
then makes whispered speech whose pitch no analysis can follow. The pitch the
prosody latent carries is therefore rendered explicitly:

1. :func:`render_log_f0`: the pitch code's bins (paper §3.3: per-utterance min-max
   quantised voiced log-F0, bin 0 unvoiced) are mapped back into a log-F0 range
   (lo, hi) — the inverse of the quantisation — and smoothed within voiced runs. At
   editing time the bins carry the encoder's sub-bin detail (its expected voiced bin).
   The range is predicted from Z_s (:class:`F0Range`), so a swapped speaker
   brings its own pitch register.
2. :func:`harmonic_contrast`: the log-mel contrast that a harmonic comb at that F0
   adds to a flat spectrum: log M·comb − log M·mean(comb), with Gaussian lobes for
   the analysis window's main lobe. The decoder's mel is envelope + contrast.
   The model reads it from a :class:`ContrastTable` (the same function on a fine log-F0
   grid): computed frame by frame it took a quarter of a CPU training step.

Shapes: B batch, T frames, M mel bins, F = n_fft / 2 + 1 linear bins.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def render_log_f0(bins_f: torch.Tensor, f0_range: torch.Tensor, n_bins: int, smooth: int = 5) -> torch.Tensor:
    """Log-F0 [B, T] (0 = unvoiced) from pitch bins [B, T] (ints, or float positions between
    bins at editing time) and a range [B, 2] (lo, hi).

    Bin b >= 1 maps to the centre of its quantisation cell, lo + (b - 1/2) / (n_bins - 1) * (hi - lo)
    (inverse of :func:`pystn.prosody.quantize_pitch`); then a ``smooth``-frame moving average
    over voiced frames only turns the staircase into a contour.
    """
    voiced = (bins_f > 0).float()
    lo, hi = f0_range[:, :1], f0_range[:, 1:]
    log_f0 = (lo + (bins_f.float() - 0.5) / (n_bins - 1) * (hi - lo)) * voiced
    if smooth > 1:
        kernel = torch.ones(1, 1, smooth, device=bins_f.device) / smooth
        pad = smooth // 2
        num = F.conv1d(F.pad(log_f0[:, None], (pad, pad)), kernel)[:, 0]
        den = F.conv1d(F.pad(voiced[:, None], (pad, pad)), kernel)[:, 0]
        log_f0 = num / den.clamp_min(1e-6) * voiced
    return log_f0


def comb_power(f0_hz: torch.Tensor, freqs: torch.Tensor, sigma_hz: float) -> torch.Tensor:
    """Power of a harmonic comb [B, T, F] at F0 [B, T] (Hz, > 0): sum over the three harmonics
    k f0 nearest each frequency (k >= 1) of exp(-(f - k f0)^2 / (2 sigma^2))."""
    f0 = f0_hz[..., None]
    nearest = torch.round(freqs / f0)
    power = torch.zeros_like(nearest)
    for offset in (-1.0, 0.0, 1.0):
        k = nearest + offset
        power = power + torch.where(k >= 1, torch.exp(-0.5 * ((freqs - k * f0) / sigma_hz) ** 2), 0.0)
    return power


def harmonic_contrast(log_f0: torch.Tensor, mel_basis: torch.Tensor, freqs: torch.Tensor,
                      sigma_hz: float = 13.0, floor: float = 0.01) -> torch.Tensor:
    """Log-magnitude contrast [B, T, M] of a comb at exp(log_f0) [B, T] against a flat spectrum
    of the same mean power, in the mel bins of ``mel_basis`` [M, F]; 0 on unvoiced frames (log_f0 = 0).

    = 1/2 (log(M comb + floor * M mean) - log(M mean)), mean = sqrt(2 pi) sigma / f0 (a comb's
    mean power), so a bin between harmonics sits at most 1/2 log(floor) below the envelope.
    """
    voiced = log_f0 > 0
    f0 = torch.where(voiced, log_f0.exp(), torch.full_like(log_f0, 100.0))
    per_bin = comb_power(f0, freqs, sigma_hz) @ mel_basis.T  # [B, T, M]
    flat = (math.sqrt(2 * math.pi) * sigma_hz / f0)[..., None] * mel_basis.sum(1)
    contrast = 0.5 * (torch.log(per_bin + floor * flat) - torch.log(flat))
    return contrast * voiced[..., None]


class ContrastTable(nn.Module):
    """:func:`harmonic_contrast` tabulated on ``n`` log-F0 points evenly spaced over [f0_min, f0_max]
    Hz, read by linear interpolation; an F0 outside the grid takes its edge's row. The table is a
    non-persistent buffer: it moves with its model and is not saved in checkpoints.

    On the stn_mel preset (8192 points, 20-2000 Hz: 0.56 cents apart) it differs from the direct
    computation by 4e-5 on average and at most 0.014 (log-magnitude units; the contrast spans
    -2.3 to 1.4), and costs a gather instead of T x F exponentials per utterance (building it: 0.1 s).
    """

    def __init__(self, mel_basis: torch.Tensor, freqs: torch.Tensor, sigma_hz: float = 13.0,
                 floor: float = 0.01, f0_min: float = 20.0, f0_max: float = 2000.0, n: int = 8192):
        super().__init__()
        self.lo, self.hi = math.log(f0_min), math.log(f0_max)
        grid = torch.linspace(self.lo, self.hi, n)
        with torch.no_grad():  # in chunks: a comb is [chunk, F]
            rows = [harmonic_contrast(g[None], mel_basis, freqs, sigma_hz, floor)[0] for g in grid.split(1024)]
        self.register_buffer("table", torch.cat(rows), persistent=False)  # [n, M]

    def forward(self, log_f0: torch.Tensor) -> torch.Tensor:
        """Contrast [B, T, M] at log_f0 [B, T] (0 = unvoiced, whose rows are 0)."""
        n = self.table.shape[0]
        position = (log_f0.clamp(self.lo, self.hi) - self.lo) / (self.hi - self.lo) * (n - 1)
        below = position.floor().long().clamp(max=n - 2)
        weight = (position - below)[..., None]
        contrast = self.table[below] * (1 - weight) + self.table[below + 1] * weight
        return contrast * (log_f0 > 0)[..., None]


class F0Range(nn.Module):
    """Z_s [B, D_s] -> the voiced log-F0 range (lo, hi) [B, 2] of the speaker's utterance:
    a one-hidden-layer MLP whose output starts at a typical register (90-220 Hz).

    Its two outputs are returned in ascending order, so that lo <= hi for every Z_s: an
    unseen voice's narrow range (0.16 in log-F0) once came out as (5.50, 5.46), and the
    harmonic source rendered that utterance's contour upside down (pitch PCC -0.99)."""

    def __init__(self, d_speaker: int, hidden: int = 64, init_lo: float = math.log(90.0),
                 init_hi: float = math.log(220.0)):
        super().__init__()
        self.hidden = nn.Sequential(nn.Linear(d_speaker, hidden), nn.ReLU())
        self.out = nn.Linear(hidden, 2)
        nn.init.zeros_(self.out.weight)
        with torch.no_grad():
            self.out.bias.copy_(torch.tensor([init_lo, init_hi]))

    def forward(self, z_s: torch.Tensor) -> torch.Tensor:
        return self.out(self.hidden(z_s)).sort(dim=-1).values


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """(slaney mel basis [M, F] of :func:`pystn.features.spectral.mel_basis`, linear bin
    frequencies [F] in Hz) of the stn_mel preset."""
    from pystn.features.spectral import mel_basis

    freqs = torch.arange(n_fft // 2 + 1, dtype=torch.float32) * sample_rate / n_fft
    return mel_basis(sample_rate, n_fft, n_mels, fmin, fmax), freqs
