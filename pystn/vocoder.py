"""Vocoders for log-mel spectrograms: Griffin-Lim (default) and a HiFi-GAN V1 generator.

The mel convention is the HiFi-GAN one of the ``stn_mel`` preset (see
:func:`pystn.features.spectral.mel`): natural log of the slaney-mel magnitude,
no centring (reflect padding of (n_fft - hop) / 2 each side).

* :func:`griffin_lim`: mel -> linear magnitude by the mel basis pseudo-inverse,
  then fast Griffin-Lim phase reconstruction (torchaudio).
* :class:`HifiGanGenerator`: the official HiFi-GAN ``Generator`` (jik876/hifi-gan,
  ``models.py``) with the same module names, so the official ``generator``
  checkpoints (``{'generator': state_dict}``, weight-normalised ``weight_g`` /
  ``weight_v`` pairs) load into it; weight norm is folded into plain weights on load.
* :func:`world_vocode`: a source-filter vocoder: the mel (pseudo-inverted) as WORLD's spectral
  envelope, excited at a given F0 contour (the STN harmonic source's, or the analysed F0).
  It needs no harmonics in the mel, which a CPU-sized decoder does not resolve.
* :func:`make_vocoder`: the ``vocoder:`` config block -> a callable ``(mel [T, M], f0 [T] Hz | None) -> wav [N]``.
* :func:`world_global_swap`: the classic global-statistics voice conversion (log-F0 mean and
  variance, mel-cepstral and aperiodicity means moved to a reference's), a reference for X_s.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HIFIGAN_V1 = dict(upsample_rates=[8, 8, 2, 2], upsample_kernel_sizes=[16, 16, 4, 4],
                  upsample_initial_channel=512, resblock_kernel_sizes=[3, 7, 11],
                  resblock_dilation_sizes=[[1, 3, 5], [1, 3, 5], [1, 3, 5]], n_mels=80)
LRELU_SLOPE = 0.1


@functools.lru_cache(maxsize=4)
def _mel_pinv(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float | None) -> np.ndarray:
    from pystn.features.spectral import mel_basis

    return np.linalg.pinv(mel_basis(sr, n_fft, n_mels, fmin, fmax).numpy())


def mel_to_magnitude(log_mel: np.ndarray, preset: dict) -> np.ndarray:
    """Linear magnitude [n_fft/2+1, T] from a log-mel [T, M]: pseudo-inverse of the slaney
    mel basis applied to exp(log-mel), clipped at 1e-8 (a fast stand-in for librosa's NNLS)."""
    fmax = preset.get("fmax")
    pinv = _mel_pinv(int(preset["sample_rate"]), int(preset["n_fft"]), int(preset["n_mels"]),
                     float(preset.get("fmin", 0.0)), None if fmax is None else float(fmax))
    return np.maximum(pinv @ np.exp(np.asarray(log_mel, dtype=np.float64)).T, 1e-8)


def griffin_lim(log_mel: np.ndarray, preset: dict, n_iter: int = 32, seed: int = 0) -> np.ndarray:
    """Waveform [T * hop] float32 from a log-mel [T, M] of ``preset`` (the stn_mel settings).

    Fast Griffin-Lim (momentum 0.99, torchaudio) on :func:`mel_to_magnitude`.
    """
    import torchaudio.functional as AF

    n_fft, hop = int(preset["n_fft"]), int(preset["hop_length"])
    win = int(preset.get("win_length", n_fft))
    mag = torch.from_numpy(mel_to_magnitude(log_mel, preset)).float()
    torch.manual_seed(seed)
    wav = AF.griffinlim(mag, torch.hann_window(win), n_fft, hop, win, power=1.0, n_iter=n_iter,
                        momentum=0.99, length=(mag.shape[1] - 1) * hop, rand_init=True)
    return np.pad(wav.numpy(), (0, hop)).astype(np.float32)  # centred frames: T frames <-> T * hop samples


def world_aperiodicity(f0_hz: np.ndarray, n_bins: int, sr: int) -> np.ndarray:
    """WORLD band aperiodicity [T, n_bins]: 1 on unvoiced frames; on voiced frames a floor of
    0.01 rising with the square of frequency (breathier highs, as in natural voiced speech)."""
    freq = np.linspace(0.0, 1.0, n_bins)[None, :]
    voiced = np.minimum(1.0, 0.01 + freq ** 2)
    return np.where(np.asarray(f0_hz)[:, None] > 0, voiced, 1.0)


def world_vocode(log_mel: np.ndarray, f0_hz: np.ndarray, preset: dict) -> np.ndarray:
    """Waveform [T * hop] float32 from a log-mel [T, M] (envelope) and an F0 contour [T] in Hz (0 = unvoiced).

    The power spectrum of :func:`mel_to_magnitude` is WORLD's spectral envelope (fft size =
    ``n_fft``, frame period = hop), :func:`world_aperiodicity` the aperiodicity; the output
    is scaled so that its mel energy equals the input's.
    """
    import pyworld

    from pystn.features.spectral import mel as mel_of

    sr, hop = int(preset["sample_rate"]), int(preset["hop_length"])
    f0 = np.ascontiguousarray(np.asarray(f0_hz, dtype=np.float64).reshape(-1))
    if len(f0) != len(log_mel):
        raise ValueError(f"F0 has {len(f0)} frames, the mel {len(log_mel)}")
    sp = np.ascontiguousarray(np.maximum(mel_to_magnitude(log_mel, preset).T ** 2, 1e-12))
    ap = np.ascontiguousarray(world_aperiodicity(f0, sp.shape[1], sr))
    wav = pyworld.synthesize(f0, sp, ap, sr, 1000.0 * hop / sr)
    wav = np.pad(wav, (0, max(0, len(f0) * hop - len(wav))))[: len(f0) * hop].astype(np.float32)
    target = np.exp(2 * np.asarray(log_mel, dtype=np.float64)).sum()
    got = np.exp(2 * mel_of(wav, sr, preset).astype(np.float64)).sum()
    return (wav * np.sqrt(target / max(got, 1e-20))).astype(np.float32)


def _padding(kernel: int, dilation: int = 1) -> int:
    return (kernel * dilation - dilation) // 2


class ResBlock1(nn.Module):
    """HiFi-GAN ResBlock1: three (dilated conv, conv) pairs with residuals.  [B, C, L] -> [B, C, L]."""

    def __init__(self, channels: int, kernel: int, dilations):
        super().__init__()
        self.convs1 = nn.ModuleList(nn.Conv1d(channels, channels, kernel, 1, dilation=d,
                                              padding=_padding(kernel, d)) for d in dilations)
        self.convs2 = nn.ModuleList(nn.Conv1d(channels, channels, kernel, 1, dilation=1,
                                              padding=_padding(kernel)) for _ in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for c1, c2 in zip(self.convs1, self.convs2):
            x = x + c2(F.leaky_relu(c1(F.leaky_relu(x, LRELU_SLOPE)), LRELU_SLOPE))
        return x


class HifiGanGenerator(nn.Module):
    """HiFi-GAN generator (V1 by default).  mel [B, n_mels, T] -> wav [B, 1, T * prod(upsample_rates)]."""

    def __init__(self, upsample_rates, upsample_kernel_sizes, upsample_initial_channel,
                 resblock_kernel_sizes, resblock_dilation_sizes, n_mels: int = 80):
        super().__init__()
        self.num_kernels = len(resblock_kernel_sizes)
        ch = upsample_initial_channel
        self.conv_pre = nn.Conv1d(n_mels, ch, 7, 1, padding=3)
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        for i, (u, k) in enumerate(zip(upsample_rates, upsample_kernel_sizes)):
            c_in, ch = upsample_initial_channel // 2 ** i, upsample_initial_channel // 2 ** (i + 1)
            self.ups.append(nn.ConvTranspose1d(c_in, ch, k, u, padding=(k - u) // 2))
            for kr, dil in zip(resblock_kernel_sizes, resblock_dilation_sizes):
                self.resblocks.append(ResBlock1(ch, kr, dil))
        self.conv_post = nn.Conv1d(ch, 1, 7, 1, padding=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_pre(x)
        for i, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, LRELU_SLOPE))
            blocks = self.resblocks[i * self.num_kernels:(i + 1) * self.num_kernels]
            x = sum(block(x) for block in blocks) / self.num_kernels
        return torch.tanh(self.conv_post(F.leaky_relu(x)))


def fold_weight_norm(state: dict) -> dict:
    """Replace every ``<name>.weight_g`` / ``<name>.weight_v`` pair by ``<name>.weight = g v / ||v||``.

    The norm is over every dim but 0 (``torch.nn.utils.weight_norm``'s default ``dim=0``).
    """
    out = {k: v for k, v in state.items() if not k.endswith((".weight_g", ".weight_v"))}
    for key in state:
        if key.endswith(".weight_v"):
            base = key[: -len(".weight_v")]
            v, g = state[key], state[base + ".weight_g"]
            norm = v.reshape(v.shape[0], -1).norm(dim=1).reshape(-1, *[1] * (v.dim() - 1))
            out[base + ".weight"] = g * v / norm
    return out


def load_hifigan(checkpoint: str | Path, params: dict | None = None, device: str = "cpu") -> HifiGanGenerator:
    """A HiFi-GAN generator from an official ``generator`` checkpoint (``{'generator': state_dict}``)."""
    path = Path(checkpoint) if checkpoint else None
    if path is None or not path.is_file():
        raise FileNotFoundError(
            f"HiFi-GAN checkpoint '{checkpoint}' not found: set stn.vocoder.checkpoint to a local "
            "generator file (e.g. the official LJ_V1 / VCTK_V1 'generator_v1'), or use vocoder kind griffin_lim")
    state = torch.load(path, map_location=device, weights_only=True)
    if "generator" not in state:
        raise KeyError(f"{path}: no 'generator' entry (keys: {sorted(state)[:5]}); expected a HiFi-GAN generator checkpoint")
    model = HifiGanGenerator(**{**HIFIGAN_V1, **(params or {})})
    model.load_state_dict(fold_weight_norm(state["generator"]))
    return model.to(device).eval()


def make_vocoder(cfg: dict, preset: dict):
    """``cfg`` {'kind': 'griffin_lim' | 'hifigan' | 'world', 'n_iter', 'checkpoint', 'params'} ->
    ``vocode(mel [T, M], f0 [T] Hz or None) -> wav [N]``; only 'world' uses (and needs) the F0."""
    kind = cfg.get("kind", "griffin_lim")
    if kind == "griffin_lim":
        return lambda mel, f0=None: griffin_lim(mel, preset, n_iter=int(cfg.get("n_iter", 32)))
    if kind == "world":
        def vocode_world(mel: np.ndarray, f0: np.ndarray | None = None) -> np.ndarray:
            if f0 is None:
                raise ValueError("the world vocoder needs an F0 contour: train the STN with model.harmonic: true")
            return world_vocode(mel, f0, preset)

        return vocode_world
    if kind == "hifigan":
        gen = load_hifigan(cfg.get("checkpoint"), cfg.get("params"))

        @torch.no_grad()
        def vocode(mel: np.ndarray, f0: np.ndarray | None = None) -> np.ndarray:
            return gen(torch.from_numpy(np.asarray(mel, dtype=np.float32)).T[None])[0, 0].numpy()

        return vocode
    raise ValueError(f"unknown vocoder kind '{kind}' (griffin_lim | hifigan | world)")


def world_global_swap(wav: np.ndarray, ref_wav: np.ndarray, sr: int, world_preset: dict) -> np.ndarray:
    """``wav`` [N] resynthesised by WORLD with the global voice statistics of ``ref_wav`` [N'].

    The signal-processing voice conversion baseline: voiced log-F0 mapped linearly,
    log f0' = (log f0 - mu_x) / sigma_x * sigma_ref + mu_ref, and the mel-cepstrum and
    band aperiodicity shifted by the reference's mean minus the source's (means over voiced
    frames, where the voice defines the envelope). Frame-level detail stays the source's, so it
    shows how far global statistics alone move a speaker embedding toward the reference.
    Both waveforms at ``sr``; the preset's frame period, F0 method and mel-cepstrum order.
    """
    from pystn.features.world import world, world_split, world_synthesize

    world_preset = dict(world_preset, alpha=None)  # the all-pass constant of ``sr``, not of the preset's rate
    src = world(np.asarray(wav, dtype=np.float32), sr, world_preset)
    ref = world(np.asarray(ref_wav, dtype=np.float32), sr, world_preset)
    (f0_s, mc_s, ap_s), (f0_r, mc_r, ap_r) = world_split(src, sr, world_preset), world_split(ref, sr, world_preset)
    v_s, v_r = f0_s > 0, f0_r > 0
    if v_s.sum() < 2 or v_r.sum() < 2:
        raise ValueError("world_global_swap: the source or the reference has under 2 voiced frames")
    ls, lr = np.log(f0_s[v_s]), np.log(f0_r[v_r])
    out = src.copy()
    out[v_s, 0] = np.exp((ls - ls.mean()) / max(ls.std(), 1e-6) * lr.std() + lr.mean())
    m = mc_s.shape[1]
    out[:, 1:1 + m] += mc_r[v_r].mean(0) - mc_s[v_s].mean(0)
    out[:, 1 + m:] = np.minimum(ap_s + (ap_r[v_r].mean(0) - ap_s[v_s].mean(0)), 0.0)  # coded ap is <= 0 dB
    return world_synthesize(out, sr, world_preset)
