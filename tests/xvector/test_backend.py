"""Back end: LDA, PLDA (EM, scoring vs speechbrain), cosine, EER, GMM-UBM and i-vectors."""

import numpy as np
import pytest

from pystn import backend as B
from pystn import metrics


def speaker_data(n_spk=40, per_spk=8, dim=12, seed=0, between=1.0, within=0.5):
    """Gaussian two-covariance data: x = m + y_s + e (known Sb, Sw)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((dim, dim)) / np.sqrt(dim)
    y = rng.standard_normal((n_spk, dim)) * between
    x = 3.0 + np.repeat(y, per_spk, 0) + rng.standard_normal((n_spk * per_spk, dim)) @ a * within
    return x, np.repeat(np.arange(n_spk), per_spk)


def all_trials(labels):
    n = len(labels)
    i, j = np.triu_indices(n, 1)
    return np.stack([i, j], 1), (labels[i] == labels[j]).astype(int)


def test_length_norm_and_lda_separate_classes():
    x, lab = speaker_data()
    assert np.allclose(np.linalg.norm(B.length_norm(x), axis=1), np.sqrt(x.shape[1]))
    mean, w = B.fit_lda(x, lab, 5)
    assert w.shape == (12, 5)
    z = (x - mean) @ w
    _, sw, sb = B.class_scatter(z, lab)
    # LDA directions: within-class scatter whitened (I) and between-class ordered by ratio
    assert np.allclose(np.diag(sw), 1.0, atol=1e-2)  # up to the 1e-6 ridge on Sw
    ratios = np.diag(sb)
    assert np.all(np.diff(ratios) <= 1e-9) and ratios[0] > 1.0


def test_plda_em_recovers_covariances():
    rng = np.random.default_rng(3)
    dim, n_spk, per = 4, 2000, 6
    sb_true = np.diag([4.0, 2.0, 1.0, 0.5])
    sw_true = np.diag([0.5, 1.0, 0.3, 0.2])
    y = rng.multivariate_normal(np.zeros(dim), sb_true, n_spk)
    x = np.repeat(y, per, 0) + rng.multivariate_normal(np.zeros(dim), sw_true, n_spk * per)
    _, sw, sb = B.em_two_covariance(x, np.repeat(np.arange(n_spk), per), n_iter=10)
    assert np.allclose(sw, sw_true, atol=0.05)
    assert np.allclose(sb, sb_true, rtol=0.1, atol=0.08)


def test_plda_scores_match_speechbrain_and_closed_form():
    from speechbrain.processing.PLDA_LDA import Ndx, StatObject_SB, fast_PLDA_scoring

    x, lab = speaker_data(dim=6)
    plda = B.PLDA.fit(x, lab, n_iter=5)
    inv_p = np.linalg.inv(plda.proj)
    sw = inv_p.T @ inv_p
    sb = inv_p.T @ np.diag(plda.psi) @ inv_p
    enroll, test = x[:10], x[10:25]
    ours = plda.score(enroll, test)
    # brute force Eq. 1 with the joint Gaussian
    from scipy.stats import multivariate_normal as mvn
    joint = np.block([[sb + sw, sb], [sb, sb + sw]])
    u, v = enroll[3] - plda.mean, test[7] - plda.mean
    ref = mvn(np.zeros(12), joint).logpdf(np.concatenate([u, v])) - \
        mvn(np.zeros(6), sb + sw).logpdf(u) - mvn(np.zeros(6), sb + sw).logpdf(v)
    assert ours[3, 7] == pytest.approx(ref, rel=1e-6, abs=1e-6)
    # speechbrain's PLDA scorer with F F' = Sb, Sigma = Sw gives the same LLRs
    ids = lambda p, n: np.array([f"{p}{i:03d}" for i in range(n)], dtype="|O")
    stat = lambda p, m: StatObject_SB(modelset=ids(p, len(m)), segset=ids(p, len(m)), start=np.array([None] * len(m)),
                                      stop=np.array([None] * len(m)), stat0=np.ones((len(m), 1)), stat1=m.copy())
    ndx = Ndx(models=ids("e", 10), testsegs=ids("t", 15))
    sb_scores = fast_PLDA_scoring(stat("e", enroll), stat("t", test), ndx, plda.mean,
                                  np.linalg.cholesky(sb), sw)
    assert np.allclose(ours, sb_scores.scoremat, rtol=1e-5, atol=1e-5)
    # trial-list scoring agrees with the full matrix
    pairs = np.array([[0, 0], [3, 7], [9, 14]])
    assert np.allclose(plda.score(enroll, test, pairs), ours[pairs[:, 0], pairs[:, 1]], atol=1e-4)


def test_backend_pipeline_verifies_unseen_speakers():
    x, lab = speaker_data(n_spk=60, dim=20, seed=1)
    train = lab < 40
    be = B.Backend.fit(x[train], lab[train], lda_dim=10)
    xt, lt = x[~train], lab[~train]
    pairs, truth = all_trials(lt)
    plda_eer = metrics.eer(be.score(xt, xt, pairs), truth)
    cos_eer = metrics.eer(B.cosine_scores(xt, xt, pairs, x[train].mean(0)), truth)
    assert plda_eer < 0.05 and cos_eer < 0.2
    assert plda_eer <= cos_eer + 1e-9


def test_eer_matches_speechbrain():
    import torch
    from speechbrain.utils.metric_stats import EER

    rng = np.random.default_rng(0)
    tar, non = rng.normal(2, 1, 500), rng.normal(0, 1, 2000)
    ours = metrics.eer(np.concatenate([tar, non]), np.r_[np.ones(500), np.zeros(2000)])
    theirs, _ = EER(torch.tensor(tar), torch.tensor(non))
    assert ours == pytest.approx(float(theirs), abs=2e-3)
    assert ours == pytest.approx(0.1587, abs=0.02)  # Phi(-1) for unit-variance classes 2 apart


def test_gmm_em_recovers_mixture_and_ivectors_separate_speakers():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(-3, 0.5, (600, 2)), rng.normal(3, 1.0, (400, 2))])
    gmm = B.DiagGMM.fit(x, 2, n_iter=30, seed=1)
    order = np.argsort(gmm.means[:, 0])
    assert np.allclose(gmm.means[order, 0], [-3, 3], atol=0.15)
    assert np.allclose(gmm.weights[order], [0.6, 0.4], atol=0.03)
    assert np.allclose(np.sqrt(gmm.variances[order, 0]), [0.5, 1.0], atol=0.1)
    # utterances: frames from a 4-component "phone" space shifted per speaker
    centres = rng.normal(0, 3, (4, 3))
    spk_shift = rng.normal(0, 1.0, (6, 3))
    utts, lab = [], []
    for s in range(6):
        for _ in range(6):
            comp = rng.integers(0, 4, 150)
            utts.append(centres[comp] + spk_shift[s] + rng.normal(0, 0.5, (150, 3)))
            lab.append(s)
    ubm = B.DiagGMM.fit(np.concatenate(utts), 4, n_iter=15)
    ext = B.IvectorExtractor.fit(ubm, utts, dim=5, n_iter=5)
    iv = ext.extract(utts)
    assert iv.shape == (36, 5)
    pairs, truth = all_trials(np.array(lab))
    assert metrics.eer(B.cosine_scores(iv, iv, pairs, iv.mean(0)), truth) < 0.1


def test_feature_warp_and_deltas():
    x = np.arange(20, dtype=float)[:, None] * np.array([[1.0, -2.0]])
    w = B.feature_warp(x, window=301)
    assert np.all(np.diff(w[:, 0]) > 0) and np.all(np.diff(w[:, 1]) < 0)
    assert abs(w[:, 0].mean()) < 1e-6
    d = B.deltas(x)
    assert np.allclose(d[2:-2, 0], 1.0) and np.allclose(d[2:-2, 1], -2.0)
    f = B.ivector_features(np.random.default_rng(0).normal(size=(50, 30)), 13, True, True)
    assert f.shape == (50, 39)


def test_backend_save_load_roundtrip(tmp_path):
    x, lab = speaker_data()
    be = B.Backend.fit(x, lab)
    be.save(tmp_path / "b.npz")
    be2 = B.Backend.load(tmp_path / "b.npz")
    assert np.allclose(be.score(x[:5], x[5:9]), be2.score(x[:5], x[5:9]))
