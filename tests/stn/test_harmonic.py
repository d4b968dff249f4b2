import math

import numpy as np
import pytest
import torch

from pystn.models import harmonic as H
from pystn.models.stn import build_stn
from pystn.models.stn_variants import with_mel_preset

PRESET = dict(sample_rate=22050, n_fft=1024, win_length=1024, hop_length=256, n_mels=80, fmin=0,
              fmax=8000, center=False, log_floor=1e-5)
SMALL = dict(n_mels=80, d_model=32, d_content=8, d_speaker=6, n_heads=2, n_attn=1, spk_channels=16)


def test_render_inverts_the_quantisation_cells():
    bins = torch.tensor([[0, 1, 7, 4, 0]])
    lo, hi = 4.5, 5.2
    got = H.render_log_f0(bins, torch.tensor([[lo, hi]]), n_bins=8, smooth=1)
    width = (hi - lo) / 7
    expect = [0.0, lo + 0.5 * width, hi - 0.5 * width, lo + 3.5 * width, 0.0]
    assert torch.allclose(got[0], torch.tensor(expect), atol=1e-6)


def test_render_smooths_within_voiced_runs_only():
    bins = torch.tensor([[0, 0, 3, 3, 3, 5, 5, 5, 0, 2, 0]])
    got = H.render_log_f0(bins, torch.tensor([[4.0, 5.4]]), n_bins=8, smooth=3)[0]
    plain = H.render_log_f0(bins, torch.tensor([[4.0, 5.4]]), n_bins=8, smooth=1)[0]
    assert (got[bins[0] == 0] == 0).all()
    assert torch.isclose(got[2], plain[2:4].mean())  # the unvoiced neighbour does not pull it down
    assert torch.isclose(got[9], plain[9])  # a one-frame run keeps its value
    assert plain[4] < got[4] < plain[5]  # the step between bins 3 and 5 is ramped


def test_comb_power_peaks_at_harmonics():
    freqs = torch.tensor([200.0, 400.0, 1600.0, 213.0, 300.0, 0.0, 40.0])
    p = H.comb_power(torch.tensor([[200.0]]), freqs, 13.0)[0, 0]
    assert torch.allclose(p[:3], torch.ones(3), atol=1e-4)
    assert abs(p[3].item() - math.exp(-0.5)) < 1e-4  # one sigma off the harmonic
    assert p[4] < 1e-6 and p[5] < 1e-6 and p[6] < 1e-4  # between harmonics; no DC "harmonic"


def test_contrast_zero_unvoiced_and_peaks_on_harmonic_bins():
    import librosa

    basis, freqs = H.mel_filterbank(22050, 1024, 80, 0.0, 8000.0)
    log_f0 = torch.tensor([[0.0, math.log(150.0)]])
    c = H.harmonic_contrast(log_f0, basis, freqs)
    assert c.shape == (1, 2, 80) and (c[0, 0] == 0).all()
    centres = librosa.mel_frequencies(n_mels=82, fmin=0, fmax=8000)[1:-1]
    on = [int(np.abs(centres - 150 * k).argmin()) for k in (1, 2, 3)]
    off = [int(np.abs(centres - 150 * (k + 0.5)).argmin()) for k in (1, 2)]
    assert min(c[0, 1, on]) > max(c[0, 1, off]) + 0.5


def test_contrast_table_matches_the_direct_computation():
    basis, freqs = H.mel_filterbank(22050, 1024, 80, 0.0, 8000.0)
    table = H.ContrastTable(basis, freqs)
    log_f0 = torch.empty(4, 500).uniform_(math.log(40.0), math.log(900.0))
    log_f0[:, ::7] = 0.0  # unvoiced frames
    direct = H.harmonic_contrast(log_f0, basis, freqs)
    got = table(log_f0)
    assert got.shape == direct.shape and (got[:, ::7] == 0).all()
    assert (got - direct).abs().max() < 0.02 and (got - direct).abs().mean() < 1e-3
    edge = H.harmonic_contrast(torch.tensor([[math.log(2000.0)]]), basis, freqs)
    assert torch.allclose(table(torch.tensor([[math.log(5000.0)]])), edge, atol=1e-4)  # clamped to the grid


def test_model_adds_the_tabulated_contrast():
    model = build_stn(with_mel_preset(dict(SMALL, harmonic=True), PRESET)).eval()
    z_c, z_s = torch.randn(1, 30, SMALL["d_content"]), torch.randn(1, SMALL["d_speaker"])
    code_f = torch.nn.functional.one_hot(torch.randint(1, 8, (1, 30)), 8).float()
    code_e = torch.nn.functional.one_hot(torch.randint(0, 8, (1, 30)), 8).float()
    out = model.decode_all(z_c, z_s, code_f, code_e, f0_range=torch.tensor([[4.6, 5.3]]))
    plain = model.mel_mean + model.mel_std * model.decoder(torch.cat(
        [z_c, z_s[:, None].expand(-1, 30, -1), model.emb_f(code_f), model.emb_e(code_e)], -1))
    basis, freqs = H.mel_filterbank(PRESET["sample_rate"], PRESET["n_fft"], 80, PRESET["fmin"], PRESET["fmax"])
    direct = H.harmonic_contrast(out["source_log_f0"], basis, freqs)
    assert (out["mel"] - plain - direct).abs().max() < 0.02


def test_harmonics_added_to_a_flat_envelope_carry_the_pitch_through_griffin_lim():
    """The reason for the source: Griffin-Lim of envelope + contrast is heard (and tracked) at F0."""
    import pysptk

    from pystn.vocoder import griffin_lim

    basis, freqs = H.mel_filterbank(22050, 1024, 80, 0.0, 8000.0)
    n = 80
    f0 = torch.where(torch.arange(n) < n // 2, 140.0, 190.0)
    envelope = -1.0 - 0.05 * np.arange(80)  # falling with frequency, as a voice's does
    mel = envelope + H.harmonic_contrast(f0.log()[None], basis, freqs)[0].numpy()
    wav = griffin_lim(mel, PRESET, n_iter=32)
    track = pysptk.rapt((wav * 32767 / np.abs(wav).max()).astype(np.float32), fs=22050, hopsize=256,
                        min=60, max=400, otype="f0")
    first, second = track[5:n // 2 - 5], track[n // 2 + 5:n - 5]
    assert abs(np.median(first[first > 0]) - 140) < 10 and abs(np.median(second[second > 0]) - 190) < 12
    assert (first > 0).mean() > 0.8 and (second > 0).mean() > 0.8


def test_f0_range_head_starts_at_a_typical_register():
    head = H.F0Range(6)
    out = head(torch.randn(3, 6))
    assert torch.allclose(out, torch.tensor([[math.log(90.0), math.log(220.0)]]).expand(3, 2))


def test_f0_range_head_keeps_lo_below_hi_whatever_its_weights():
    torch.manual_seed(0)
    head = H.F0Range(6)
    with torch.no_grad():  # weights that push the two ends past each other for about half the inputs
        head.out.weight.normal_(0, 5.0)
        head.out.bias.copy_(torch.tensor([5.0, 5.0]))
    z = torch.randn(256, 6)
    raw = head.out(head.hidden(z))
    assert (raw[:, 0] > raw[:, 1]).float().mean() > 0.2
    out = head(z)
    assert (out[:, 0] <= out[:, 1]).all()
    assert torch.equal(out, torch.stack([raw.min(-1).values, raw.max(-1).values], -1))


def test_model_with_harmonic_source():
    torch.manual_seed(0)
    cfg = with_mel_preset(dict(SMALL, harmonic=True), PRESET)
    assert cfg["harmonic"] == {"sample_rate": 22050, "n_fft": 1024, "fmin": 0, "fmax": 8000}
    m = build_stn(cfg).eval()
    mel = torch.randn(1, 40, 80)
    a = m.analyse(mel)
    forced = m.decode_all(a["z_c"], a["z_s"], a["code_f"], a["code_e"], f0_range=torch.tensor([[4.6, 5.2]]))
    free = m.decode_all(a["z_c"], a["z_s"], a["code_f"], a["code_e"])
    voiced = a["bins_f"] > 0
    assert (forced["source_log_f0"][0, ~voiced] == 0).all()
    assert forced["source_log_f0"][0, voiced].min() >= 4.6 and forced["source_log_f0"][0, voiced].max() <= 5.2
    assert not torch.allclose(forced["mel"], free["mel"]) or not voiced.any()
    m.train()
    out = m(torch.randn(2, 40, 80), f0_range=torch.tensor([[4.6, 5.2], [5.0, 5.5]]))
    assert out["f0_range_hat"].shape == (2, 2)
    with pytest.raises(ValueError, match="prosody"):
        build_stn(dict(cfg, prosody=False))
    with pytest.raises(ValueError, match="variant_config"):
        build_stn(dict(SMALL, harmonic=True))
    with pytest.raises(KeyError, match="stn_mel"):
        with_mel_preset({"harmonic": True}, None)


def test_render_places_a_position_between_bins_between_their_f0s():
    bins = torch.tensor([[3, 3.5, 4, 0]])
    got = H.render_log_f0(bins, torch.tensor([[4.0, 5.4]]), n_bins=8, smooth=1)[0]
    assert torch.isclose(got[1], (got[0] + got[2]) / 2) and got[3] == 0
