"""Energy VAD (Kaldi compute-vad) and per-speaker CMVN."""

import kaldiio
import numpy as np
import pytest

from pystn.features import apply_cmvn, cmvn_stats, compute_cmvn, extract
from pystn.features.vad import energy_vad
from pystn.io import DataError, write_ark_scp, write_kv


def test_vad_marks_silence_0_and_tone_1(presets, sine):
    sil = np.zeros(16000, dtype=np.float32)
    x = np.concatenate([sil, sine(440.0, 16000, 1.0, 0.3), sil])
    v = extract(presets["vad"], x, 16000)
    assert v.shape == (1 + (48000 - 400) // 160,)
    assert set(np.unique(v)) == {0.0, 1.0}
    assert np.all(v[:95] == 0) and np.all(v[102:195] == 1) and np.all(v[202:] == 0)


def test_energy_vad_context_matches_brute_force():
    rng = np.random.default_rng(0)
    e = rng.normal(10, 5, 200)
    got = energy_vad(e, 5.5, 0.5, frames_context=3, proportion_threshold=0.6)
    thr = 5.5 + 0.5 * e.mean()
    ref = []
    for t in range(len(e)):
        win = e[max(t - 3, 0): t + 4]
        ref.append(float((win > thr).sum() >= 0.6 * len(win)))
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(energy_vad(e, 5.5, 0.5), (e > thr).astype(np.float32))


def test_cmvn_stats_against_numpy():
    rng = np.random.default_rng(1)
    mats = [rng.normal(3, 2, (n, 4)) for n in (10, 25)]
    s = cmvn_stats(mats)
    allx = np.vstack(mats)
    np.testing.assert_allclose(s[0, :4], allx.sum(0))
    np.testing.assert_allclose(s[1, :4], (allx ** 2).sum(0))
    assert s[0, 4] == 35 and s[1, 4] == 0


def test_frame_mean_std_pools_every_frame():
    from pystn.features.cmvn import frame_mean_std

    rng = np.random.default_rng(3)
    mats = [rng.normal([0.0, 7.0, -3.0], [1.0, 0.1, 4.0], (n, 3)) for n in (7, 40, 13)]
    mean, std = frame_mean_std(iter(mats))  # a generator, as the trainers pass it
    allx = np.vstack(mats)
    np.testing.assert_allclose(mean, allx.mean(0), rtol=1e-10)
    np.testing.assert_allclose(std, allx.std(0), rtol=1e-8)
    const_mean, const_std = frame_mean_std([np.full((5, 2), 4.0)])  # zero variance: floored, not NaN
    np.testing.assert_allclose(const_mean, 4.0)
    assert np.all(np.isfinite(const_std)) and np.all(const_std > 0)


def test_apply_cmvn_gives_zero_mean_unit_variance():
    rng = np.random.default_rng(2)
    x = rng.normal([1.0, -5.0, 20.0], [0.5, 3.0, 10.0], (500, 3))
    s = cmvn_stats([x])
    y = apply_cmvn(x, s, norm_vars=True)
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(0), 1, atol=1e-4)
    y_mean_only = apply_cmvn(x, s, norm_vars=False)
    np.testing.assert_allclose(y_mean_only.std(0), x.std(0), rtol=1e-5)


def test_compute_cmvn_per_speaker(tmp_path):
    rng = np.random.default_rng(3)
    feats = {f"spk{s}_u{i}": rng.normal(s * 10, 1, (20 + i, 5)).astype(np.float32)
             for s in (1, 2) for i in range(3)}
    write_ark_scp(tmp_path / "f.ark", tmp_path / "feats.scp", sorted(feats.items()))
    write_kv(tmp_path / "spk2utt", {s: " ".join(u for u in sorted(feats) if u.startswith(s))
                                    for s in ("spk1", "spk2")})
    n = compute_cmvn(tmp_path / "feats.scp", tmp_path / "spk2utt", tmp_path / "c.ark", tmp_path / "c.scp")
    assert n == 2
    stats = kaldiio.load_scp(str(tmp_path / "c.scp"))
    for spk in ("spk1", "spk2"):
        allx = np.vstack([feats[u] for u in sorted(feats) if u.startswith(spk)]).astype(np.float64)
        np.testing.assert_allclose(stats[spk][0, :5], allx.sum(0), rtol=1e-5)
        np.testing.assert_allclose(stats[spk][1, :5], (allx ** 2).sum(0), rtol=1e-5)
        assert stats[spk][0, 5] == len(allx)


def test_compute_cmvn_names_missing_utterance(tmp_path):
    write_ark_scp(tmp_path / "f.ark", tmp_path / "feats.scp", [("spk1_a", np.ones((3, 2)))])
    write_kv(tmp_path / "spk2utt", {"spk1": "spk1_a spk1_b"})
    with pytest.raises(DataError, match="spk1_b"):
        compute_cmvn(tmp_path / "feats.scp", tmp_path / "spk2utt", tmp_path / "c.ark", tmp_path / "c.scp")
    assert not (tmp_path / "c.scp").exists() and not (tmp_path / "c.ark").exists()
