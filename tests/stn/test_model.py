import pytest
import torch

from pystn.models.stn import build_stn, cepstral_lifter

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


def test_mel_standardisation_is_a_reparametrisation():
    """With stats (mean, std), the model on mean + std * x equals the identity-stats model on x,
    and its decoded mel is mean + std * the identity model's output."""
    torch.manual_seed(0)
    plain = build_stn(SMALL).eval()
    scaled = build_stn(SMALL).eval()
    scaled.load_state_dict(plain.state_dict())
    mean, std = torch.linspace(-8, 1, 20), torch.linspace(0.5, 3, 20)
    scaled.set_mel_stats(mean, std)
    x = torch.randn(1, 40, 20)
    a, b = plain.analyse(x), scaled.analyse(mean + std * x)
    assert torch.allclose(a["z_c"], b["z_c"], atol=1e-5) and torch.allclose(a["z_s"], b["z_s"], atol=1e-5)
    assert torch.equal(a["bins_f"], b["bins_f"])
    assert torch.allclose(scaled.decode(a["z_c"], a["z_s"], a["code_f"], a["code_e"]),
                          mean + std * plain.decode(a["z_c"], a["z_s"], a["code_f"], a["code_e"]), atol=1e-4)
    assert torch.equal(build_stn(SMALL).state_dict()["mel_std"], torch.ones(20))  # identity by default


def test_beta_vaevc_variant_has_no_prosody():
    m = build_stn({**SMALL, "prosody": False})
    assert m.decoder.inp.in_features == 14 and not hasattr(m, "prosody")
    out = m(torch.randn(2, 16, 20))
    assert "logits" not in out and out["mel_hat"].shape == (2, 16, 20)


def test_instance_norm_removes_each_utterance_s_constant_spectral_offset():
    """content_norm 'instance': a spectral offset constant over the utterance (a channel gain, the
    global part of a voice) becomes a per-channel offset after the input FC, which InstanceNorm
    removes (exactly with kernel-1 convolutions, so no zero padding at the edges); the paper's
    BatchNorm (eval) passes it on. An unknown kind is an error."""
    from pystn.models.stn import ConvAttnStack

    torch.manual_seed(0)
    x, offset = torch.randn(1, 40, 20), torch.randn(20)
    for kind, invariant in (("instance", True), ("batch", False)):
        enc = ConvAttnStack(20, 8, d_model=16, n_attn=1, kernel=1, dropout=0.0, norm=kind).eval()
        assert torch.allclose(enc(x), enc(x + offset), atol=1e-4) == invariant, kind
    assert isinstance(build_stn({**SMALL, "content_norm": "instance"}).content.convs[0][1], torch.nn.InstanceNorm1d)
    with pytest.raises(ValueError, match="content_norm"):
        build_stn({**SMALL, "content_norm": "layer"})


def test_content_input_feeds_the_content_encoder_only():
    """forward(content_mel=...): Z_c is read from content_mel; Z_s from spk_mel; the prosody
    encoder and the reconstruction target stay on mel."""
    torch.manual_seed(0)
    m = build_stn(SMALL).eval()
    mel, other = torch.randn(2, 40, 20), torch.randn(2, 40, 20)
    out = m(mel, spk_mel=mel, content_mel=other)
    assert torch.allclose(out["mu_c"], m.encode_content(other)[0])
    assert torch.allclose(out["logits"], m.prosody_logits(mel))
    assert torch.allclose(out["mu_s"], m.encode_speaker(mel)[0])


def test_prosody_encoder_reads_the_contours_when_configured():
    torch.manual_seed(0)
    m = build_stn({**SMALL, "prosody_contours": True}).eval()
    assert m.prosody.inp.in_features == 20 + 3
    mel, contours = torch.randn(1, 40, 20), torch.rand(1, 40, 3)
    a, b = m.analyse(mel, contours), m.analyse(mel, contours.flip(1))
    assert not torch.equal(a["logits"], b["logits"])  # the contours reach the logits
    assert torch.equal(a["z_c"], b["z_c"]) and torch.equal(a["z_s"], b["z_s"])  # and nothing else
    with pytest.raises(ValueError, match="prosody_contours"):
        m.analyse(mel)
    with pytest.raises(ValueError, match=r"\(1, 40, 20\)"):
        m.analyse(mel, contours[:, :30])
    assert not build_stn({**SMALL, "prosody": False, "prosody_contours": True}).reads_contours


def test_cepstral_lifter_keeps_the_envelope_and_drops_the_harmonic_ripple():
    """The lifter is an orthogonal projection onto the first K DCT-II coefficients of the mel axis:
    idempotent, symmetric, the identity at K = M; it keeps a slow envelope (a low DCT basis vector)
    exactly and removes a ripple made of coefficients >= K (a harmonic comb's quefrency)."""
    p = cepstral_lifter(20, 6)
    assert torch.allclose(p @ p, p, atol=1e-5) and torch.allclose(p, p.T, atol=1e-6)
    assert torch.allclose(cepstral_lifter(20, 20), torch.eye(20), atol=1e-5)
    bins = torch.arange(20.0) + 0.5
    envelope = torch.cos(torch.pi * bins * 2 / 20)   # DCT coefficient 2
    ripple = torch.cos(torch.pi * bins * 12 / 20)    # DCT coefficient 12
    assert torch.allclose(envelope @ p, envelope, atol=1e-5)
    assert torch.allclose(ripple @ p, torch.zeros(20), atol=1e-5)


def test_spectrum_lifter_takes_the_speaker_spectrum_without_the_harmonic_ripple():
    """model.spectrum_lifter K: s̄ of a speaker input is unchanged by a ripple of DCT coefficients
    >= K on every frame (a steady F0's comb), and moves with an envelope change; without the lifter
    the ripple reaches s̄. K needs speaker_spectrum and 1 <= K <= n_mels."""
    torch.manual_seed(0)
    bins = torch.arange(20.0) + 0.5
    spk = torch.randn(1, 32, 20)
    ripple = torch.cos(torch.pi * bins * 9 / 20)
    envelope = torch.cos(torch.pi * bins * 2 / 20)
    lifted = build_stn({**SMALL, "speaker_spectrum": True, "spectrum_lifter": 6}).eval()
    lifted.set_mel_stats(torch.linspace(-8, 1, 20), torch.linspace(0.5, 3, 20))
    assert torch.allclose(lifted.spectrum_of(spk + ripple), lifted.spectrum_of(spk), atol=1e-5)
    moved = (lifted.spectrum_of(spk + envelope) - lifted.spectrum_of(spk)) * lifted.mel_std
    assert torch.allclose(moved[0], envelope, atol=1e-5)
    whole = build_stn({**SMALL, "speaker_spectrum": True}).eval()
    assert not torch.allclose(whole.spectrum_of(spk + ripple), whole.spectrum_of(spk), atol=1e-3)
    for bad in ({"speaker_spectrum": True, "spectrum_lifter": 21}, {"spectrum_lifter": 6}):
        with pytest.raises(ValueError, match="spectrum_lifter"):
            build_stn({**SMALL, **bad})


def test_speaker_spectrum_sets_the_decoded_mean():
    """speaker_spectrum: the decoded log-mel is the mean log-mel of the speaker encoder's
    input plus std x the decoder's output, so changing the speaker spectrum moves every decoded
    frame by the difference of the two spectra; forward reads it from spk_mel."""
    torch.manual_seed(0)
    m = build_stn({**SMALL, "speaker_spectrum": True}).eval()
    m.set_mel_stats(torch.linspace(-8, 1, 20), torch.linspace(0.5, 3, 20))
    mel, spk_a, spk_b = torch.randn(1, 40, 20), torch.randn(1, 32, 20), torch.randn(1, 32, 20) + 2.0
    a = m.analyse(mel)
    sa, sb = m.spectrum_of(spk_a), m.spectrum_of(spk_b)
    dec_a = m.decode(a["z_c"], a["z_s"], a["code_f"], a["code_e"], spectrum=sa)
    dec_b = m.decode(a["z_c"], a["z_s"], a["code_f"], a["code_e"], spectrum=sb)
    expected = spk_b.mean(1) - spk_a.mean(1)
    assert torch.allclose(dec_b - dec_a, expected.expand(40, -1)[None], atol=1e-4)
    assert torch.allclose(m(mel, spk_mel=spk_a)["mel_hat"],
                          m.decode(a["z_c"], m.encode_speaker(spk_a)[0], a["code_f"], a["code_e"], spectrum=sa),
                          atol=1e-5)
    with pytest.raises(ValueError, match="speaker_spectrum"):
        m.decode(a["z_c"], a["z_s"], a["code_f"], a["code_e"])
    assert build_stn(SMALL).spectrum_of(mel) is None
