import torch

from pystn.models.stn import build_stn

SMALL = dict(n_mels=20, d_model=32, d_content=8, d_speaker=6, n_heads=2, n_attn=1, spk_channels=16)


def test_forward_shapes_and_decoder_input():
    torch.manual_seed(0)
    m = build_stn(SMALL)
    assert m.decoder.inp.in_features == 8 + 6 + 16
    mel = torch.randn(3, 40, 20)
    out = m(mel, spk_mel=torch.randn(3, 32, 20))
    assert out["mel_hat"].shape == (3, 40, 20)
    assert out["mu_c"].shape == (3, 40, 8) and out["mu_s"].shape == (3, 6)
    assert out["logits"].shape == (3, 40, 64)


def test_paper_sizes_decoder_input_272():
    m = build_stn({})
    assert m.decoder.inp.in_features == 272 and m.decoder.out.out_features == 80


def test_gumbel_codes_are_marginals_of_a_distribution():
    torch.manual_seed(0)
    m = build_stn(SMALL).train()
    logits = torch.randn(2, 10, 64)
    cf, ce = m.prosody_codes(logits, sample=True)
    assert torch.allclose(cf.sum(-1), torch.ones(2, 10), atol=1e-5)
    assert torch.allclose(ce.sum(-1), torch.ones(2, 10), atol=1e-5)
    # a very peaked joint gives the matching marginal bins
    peaked = torch.full((1, 1, 64), -50.0)
    peaked[0, 0, 3 * 8 + 6] = 50.0
    cf, ce = m.prosody_codes(peaked, sample=True)
    assert cf.argmax(-1).item() == 3 and ce.argmax(-1).item() == 6
    hf, he = m.prosody_codes(peaked, sample=False)
    assert hf[0, 0].tolist() == [0, 0, 0, 1, 0, 0, 0, 0] and he[0, 0, 6] == 1


def test_eval_analyse_is_deterministic_and_decodes():
    torch.manual_seed(0)
    m = build_stn(SMALL).eval()
    mel = torch.randn(1, 33, 20)
    a, b = m.analyse(mel), m.analyse(mel)
    assert torch.equal(a["z_c"], b["z_c"]) and a["bins_f"].shape == (33,)
    rec = m.decode(a["z_c"], a["z_s"], a["code_f"], a["code_e"])
    assert torch.allclose(rec, m(mel)["mel_hat"], atol=1e-5)


def test_f0_head_adds_two_decoder_outputs():
    torch.manual_seed(0)
    m = build_stn({**SMALL, "f0_head": True})
    assert m.decoder.out.out_features == 20 + 2
    out = m(torch.randn(2, 16, 20))
    assert out["mel_hat"].shape == (2, 16, 20) and out["log_f0_hat"].shape == out["vuv_logit"].shape == (2, 16)
    m.eval()
    a = m.analyse(torch.randn(1, 16, 20))
    dec = m.decode_all(a["z_c"], a["z_s"], a["code_f"], a["code_e"])
    assert torch.equal(dec["mel"], m.decode(a["z_c"], a["z_s"], a["code_f"], a["code_e"]))
    assert "log_f0" not in build_stn(SMALL).eval().decode_all(a["z_c"], a["z_s"], a["code_f"], a["code_e"])


def test_beta_vaevc_variant_has_no_prosody():
    m = build_stn({**SMALL, "prosody": False})
    assert m.decoder.inp.in_features == 14 and not hasattr(m, "prosody")
    out = m(torch.randn(2, 16, 20))
    assert "logits" not in out and out["mel_hat"].shape == (2, 16, 20)
