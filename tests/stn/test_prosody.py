import numpy as np
import pytest
import torch

from pystn import prosody as P


def test_quantize_pitch_voiced_bins_and_unvoiced_zero():
    lf0 = np.array([0.0, np.log(100), np.log(200), 0.0, np.log(150), np.log(100)])
    y = P.quantize_pitch(lf0)
    # min log100 -> bin 1, max log200 -> bin 7; log150 scaled (0.585) -> 1 + int(0.585*7)=5
    assert y.tolist() == [0, 1, 7, 0, 5, 1]


def test_quantize_energy_minmax_all_frames():
    e = np.array([0.0, 1.0, 0.5, 0.25, 0.999])
    assert P.quantize_energy(e).tolist() == [0, 7, 4, 2, 7]
    assert P.quantize_energy(np.ones(3)).tolist() == [0, 0, 0]


def test_joint_target_and_marginals_roundtrip():
    lf0 = np.array([0.0, np.log(100), np.log(200)])
    e = np.array([0.0, 0.5, 1.0])
    y = P.joint_target(lf0, e)
    assert y.tolist() == [0 * 8 + 0, 1 * 8 + 4, 7 * 8 + 7]
    f, en = P.split_joint(y)
    assert f.tolist() == [0, 1, 7] and en.tolist() == [0, 4, 7]
    onehot = torch.nn.functional.one_hot(torch.as_tensor(y), 64).float()
    pf, pe = P.marginals(onehot)
    assert pf.argmax(-1).tolist() == [0, 1, 7] and pe.argmax(-1).tolist() == [0, 4, 7]
    probs = torch.softmax(torch.randn(5, 64), -1)
    pf, pe = P.marginals(probs)
    assert torch.allclose(pf.sum(-1), torch.ones(5)) and torch.allclose(pe.sum(-1), torch.ones(5))
    assert torch.allclose(pf[:, 2], probs[:, 16:24].sum(-1))
    assert torch.allclose(pe[:, 3], probs[:, 3::8].sum(-1))


def test_segments_shift_and_spans():
    pb = np.array([0, 3, 3, 3, 0, 0, 4, 4, 4, 4, 0])
    assert P.voiced_segments(pb) == [(1, 4), (6, 10)]
    rng = np.random.default_rng(0)
    shifted = P.shift_segments(pb, pb, rng, amount=2, lo=1)
    assert (shifted[pb == 0] == 0).all()
    changed = np.abs(shifted - pb)[pb > 0]
    assert set(changed.tolist()) <= {2} and changed.sum() > 0
    top = P.set_span(pb, pb, (5, 9), 7)
    assert top.tolist() == [0, 3, 3, 3, 0, 0, 7, 7, 7, 4, 0]
    assert P.final_span(pb, 0.25) == (6, 11)
    ramp = P.rising_contour(pb, pb, (6, 11))
    assert ramp[9] == 7 and (ramp >= pb).all() and ramp[10] == 0


def test_emphasis_span_prefers_inner_segment():
    pb = np.array([2] * 6 + [0] * 2 + [3] * 6 + [0] * 2 + [4] * 6)
    span = P.emphasis_span(pb, np.ones(len(pb)), np.random.default_rng(1), min_len=5)
    assert span == (8, 14)


def test_expected_voiced_bin_ignores_the_unvoiced_mass():
    p = torch.tensor([[0.5, 0.0, 0.25, 0.25, 0.0, 0.0, 0.0, 0.0],   # voiced mass split over bins 2 and 3
                      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]])
    assert torch.allclose(P.expected_voiced_bin(p), torch.tensor([2.5, 7.0]))


def test_prosody_contours_are_the_scaled_contours_eq2_quantises():
    lf0 = np.array([0.0, np.log(100), np.log(200), 0.0, np.log(150)])
    e = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    c = P.prosody_contours(lf0, e)
    assert c.shape == (5, 3) and c.dtype == np.float32
    np.testing.assert_allclose(c[:, 0], [0, 0, 1, 0, np.log2(1.5)], atol=1e-6)
    assert c[:, 1].tolist() == [0, 1, 1, 0, 1] and c[:, 2].tolist() == [0, 0.25, 0.5, 0.75, 1]
    # the bins of Eq. 2 are these contours quantised
    assert (1 + np.minimum((c[1:, 0] * 7).astype(int), 6))[[0, 1, 3]].tolist() == P.quantize_pitch(lf0)[[1, 2, 4]].tolist()
    np.testing.assert_array_equal(P.prosody_contours(lf0 + np.log(2) * (lf0 > 0), e * 3), c)  # relative
    with pytest.raises(ValueError, match="pitch has 5 frames but energy has 4"):
        P.prosody_contours(lf0, e[:4])


def test_model_contours_name_the_utterance_and_the_missing_scps():
    from pystn.io import DataError

    f0s, energies = {"u1": np.log(np.full((6, 1), 120.0, np.float32))}, {"u1": np.ones((5, 1), np.float32)}
    with pytest.raises(ValueError, match="utterance 'u1'"):
        P.model_contours(True, f0s, energies, "m")
    with pytest.raises(DataError, match="m: .*give --f0-scp and --energy-scp"):
        P.model_contours(True, f0s, None, "m")
    assert P.model_contours(False, None, None, "m") is None
    energies["u1"] = np.ones((6, 1), np.float32)
    assert P.model_contours(True, f0s, energies, "m")["u1"].shape == (6, 3)
