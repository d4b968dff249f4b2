import numpy as np
import pytest
import torch

from pystn import vocoder as V

TINY = dict(upsample_rates=[4, 2], upsample_kernel_sizes=[8, 4], upsample_initial_channel=16,
            resblock_kernel_sizes=[3, 5], resblock_dilation_sizes=[[1, 3, 5], [1, 3, 5]], n_mels=10)


def _official_style_state(model: torch.nn.Module) -> dict:
    """The state dict as the official code saves it: weight-normalised convs (weight_g / weight_v)."""
    torch.manual_seed(0)
    state = {}
    for k, w in model.state_dict().items():
        if k.endswith(".weight"):
            v = torch.randn_like(w)
            state[k[:-7] + ".weight_v"] = v
            state[k[:-7] + ".weight_g"] = torch.rand(w.shape[0], *[1] * (w.dim() - 1)) + 0.5
        else:
            state[k] = torch.randn_like(w) * 0.01
    return state


def test_hifigan_loads_official_layout_and_folds_weight_norm(tmp_path):
    ref = V.HifiGanGenerator(**TINY)
    state = _official_style_state(ref)
    assert "conv_pre.weight_g" in state and "resblocks.0.convs1.2.weight_v" in state
    ckpt = tmp_path / "generator_tiny"
    torch.save({"generator": state}, ckpt)
    gen = V.load_hifigan(ckpt, TINY)
    v, g = state["ups.0.weight_v"], state["ups.0.weight_g"]
    expect = g * v / v.reshape(v.shape[0], -1).norm(dim=1)[:, None, None]
    assert torch.allclose(gen.ups[0].weight, expect)
    # equals torch's own weight_norm on the same (g, v)
    conv = torch.nn.utils.parametrizations.weight_norm(torch.nn.Conv1d(10, 16, 7, padding=3))
    conv.parametrizations.weight.original0.data = state["conv_pre.weight_g"]
    conv.parametrizations.weight.original1.data = state["conv_pre.weight_v"]
    assert torch.allclose(conv.weight, gen.conv_pre.weight, atol=1e-6)
    wav = V.make_vocoder({"kind": "hifigan", "checkpoint": str(ckpt), "params": TINY}, {})(np.zeros((7, 10)))
    assert wav.shape == (7 * 8,) and np.abs(wav).max() <= 1.0


def test_hifigan_v1_module_names_match_official():
    keys = set(V.HifiGanGenerator(**V.HIFIGAN_V1).state_dict())
    assert {"conv_pre.weight", "ups.3.weight", "resblocks.11.convs2.2.bias", "conv_post.weight"} <= keys
    assert "resblocks.12.convs1.0.weight" not in keys


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="stn.vocoder.checkpoint"):
        V.make_vocoder({"kind": "hifigan", "checkpoint": str(tmp_path / "nope.pt")}, {})


def test_griffin_lim_recovers_a_tone():
    from pystn.features.spectral import mel

    preset = dict(sample_rate=22050, n_fft=1024, win_length=1024, hop_length=256, n_mels=80, fmin=0,
                  fmax=8000, center=False, log_floor=1e-5)
    t = np.arange(22050 // 2) / 22050
    x = 0.5 * np.sin(2 * np.pi * 440 * t).astype(np.float32)
    m = mel(x, 22050, preset)
    y = V.griffin_lim(m, preset, n_iter=16)
    assert abs(len(y) - len(x)) <= 256
    spec = np.abs(np.fft.rfft(y[2048:-2048]))
    peak = np.fft.rfftfreq(len(y[2048:-2048]), 1 / 22050)[spec.argmax()]
    assert abs(peak - 440) < 30
    m2 = mel(y, 22050, preset)
    n = min(len(m), len(m2))
    assert np.abs(m2[5:n - 5] - m[5:n - 5]).mean() < 1.0


def _harmonic_voice(f0_hz: np.ndarray, sr: int, tilt: float) -> np.ndarray:
    """Harmonics up to 0.95 Nyquist of a time-varying F0 [N] with amplitudes k ** -tilt (a steeper
    tilt: a darker voice), over a faint noise floor, so the envelope is defined at every frequency."""
    phase = 2 * np.pi * np.cumsum(f0_hz) / sr
    x = sum(np.sin(k * phase) * k ** -tilt * (k * f0_hz < 0.95 * sr / 2) for k in range(1, int(sr / 2 / 60)))
    return (0.2 * x + 1e-4 * np.random.default_rng(0).standard_normal(len(x))).astype(np.float32)


def test_world_global_swap_moves_f0_statistics_and_tilt_to_the_reference():
    import pysptk

    sr = 16000
    t = np.arange(sr) / sr
    src = _harmonic_voice(120 + 10 * np.sin(2 * np.pi * 3 * t), sr, tilt=0.7)    # 110-130 Hz, bright
    ref = _harmonic_voice(200 + 20 * np.sin(2 * np.pi * 2 * t), sr, tilt=2.0)    # 180-220 Hz, dark
    preset = {"frame_period_ms": 5.0, "f0_method": "dio", "mcep_order": 24, "alpha": 0.42}
    out = V.world_global_swap(src, ref, sr, preset)

    def f0_track(sig):
        f0 = pysptk.rapt((sig * 32767).astype(np.float32), fs=sr, hopsize=80, min=60, max=400, otype="f0")
        return f0[f0 > 0]

    def high_band_share(sig):  # energy above 1.5 kHz over total
        spec = np.abs(np.fft.rfft(sig)) ** 2
        return spec[np.fft.rfftfreq(len(sig), 1 / sr) > 1500].sum() / spec.sum()

    f0 = f0_track(out)
    assert abs(np.median(f0) - 200) < 12 and np.percentile(f0, 95) - np.percentile(f0, 5) > 25
    assert abs(np.log(high_band_share(out) / high_band_share(ref))) < abs(
        np.log(high_band_share(src) / high_band_share(ref))) / 2
    with pytest.raises(ValueError, match="voiced"):
        V.world_global_swap(np.zeros(sr, np.float32), ref, sr, preset)


def test_world_vocoder_excites_a_smooth_envelope_at_the_given_f0():
    import pysptk

    from pystn.features.spectral import mel

    preset = dict(sample_rate=22050, n_fft=1024, win_length=1024, hop_length=256, n_mels=80, fmin=0,
                  fmax=8000, center=False, log_floor=1e-5)
    sr, n = 22050, 22050
    t = np.arange(n) / sr
    x = 0.3 * sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 20)).astype(np.float32)
    m = mel(x, sr, preset)
    smooth = np.log(np.exp(m) @ np.ones((80, 80)) / 80 + 1e-5)  # an envelope with no harmonics left
    f0 = np.full(len(m), 200.0)
    f0[: len(m) // 4] = 0.0  # the first quarter unvoiced
    y = V.world_vocode(smooth, f0, preset)
    assert len(y) == len(m) * 256 and np.isfinite(y).all()
    track = pysptk.rapt((y * 32767).astype(np.float32), fs=sr, hopsize=256, min=60, max=400, otype="f0")
    voiced = track[len(track) // 3:]
    assert abs(np.median(voiced[voiced > 0]) - 200) < 10
    # the loudness follows the mel: the output's mel energy equals the input's
    assert abs(np.log(np.exp(2 * mel(y, sr, preset)).sum() / np.exp(2 * smooth).sum())) < 0.05
    with pytest.raises(ValueError, match="harmonic"):
        V.make_vocoder({"kind": "world"}, preset)(smooth, None)
