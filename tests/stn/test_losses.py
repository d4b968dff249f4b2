import math

import torch

from pystn import losses as L


def test_gaussian_nll_hand_computed():
    mel = torch.zeros(1, 2, 2)
    hat = torch.tensor([[[1.0, 0.0], [2.0, 2.0]]])
    # frame 1: 0.5*1 + log2π; frame 2: 0.5*8 + log2π -> mean = 2.25 + log(2π)
    assert math.isclose(L.gaussian_nll(hat, mel).item(), 2.25 + math.log(2 * math.pi), rel_tol=1e-6)


def test_kl_gaussian_hand_computed():
    mu = torch.tensor([[1.0, 0.0]])
    ls = torch.tensor([[0.0, math.log(2.0)]])
    # 0.5*(1 + 0) + 0.5*(4 - 1 - 2 log 2)
    expect = 0.5 + 0.5 * (3 - 2 * math.log(2))
    assert math.isclose(L.kl_gaussian(mu, ls).item(), expect, rel_tol=1e-6)
    assert L.kl_gaussian(torch.zeros(3, 4, 5), torch.zeros(3, 4, 5)).item() == 0.0


def test_kl_categorical_uniform():
    assert abs(L.kl_categorical_uniform(torch.zeros(2, 3, 64)).item()) < 1e-6
    big = torch.full((1, 1, 64), -1e4)
    big[..., 5] = 0
    assert math.isclose(L.kl_categorical_uniform(big).item(), math.log(64), rel_tol=1e-5)


def test_prosody_ssl_is_minus_log_q_target():
    logits = torch.log(torch.tensor([[[0.5, 0.25, 0.25]]]))
    assert math.isclose(L.prosody_ssl(logits, torch.tensor([[1]])).item(), math.log(4), rel_tol=1e-6)


def test_capacity_ramp_and_term():
    assert L.capacity(0, 3.0, 100) == 0.0
    assert L.capacity(50, 3.0, 100) == 1.5
    assert L.capacity(500, 3.0, 100) == 3.0
    assert L.capacity(7, 3.0, 0) == 3.0
    assert L.capacity_term(torch.tensor(1.0), 3.0, 10).item() == 20.0


def test_stn_loss_combines_terms():
    B, T, M = 2, 4, 3
    out = {"mel_hat": torch.zeros(B, T, M), "mu_c": torch.zeros(B, T, 2), "logsig_c": torch.zeros(B, T, 2),
           "mu_s": torch.ones(B, 2), "logsig_s": torch.zeros(B, 2), "logits": torch.zeros(B, T, 64)}
    mel = torch.zeros(B, T, M)
    w = {"gamma_c": 100, "gamma_s": 10, "gamma_p": 10, "gamma_fe": 2.0, "C_c": 1.0, "C_s": 4.0,
         "C_p": 3.0, "ramp_steps": 10}
    loss, terms = L.stn_loss(out, mel, torch.zeros(B, T, dtype=torch.long), 5, w)
    nll = 1.5 * math.log(2 * math.pi)
    # kl_c 0 vs cap 0.5 -> 50; kl_s 1 vs 2 -> 10; kl_p 0 vs 1.5 -> 15; ssl log64 * 2
    expect = nll + 50 + 10 + 15 + 2 * math.log(64)
    assert math.isclose(loss.item(), expect, rel_tol=1e-5)
    assert terms["cap_p"] == 1.5 and terms["kl_s"] == 1.0
    beta, t2 = L.stn_loss({k: v for k, v in out.items() if k != "logits"}, mel, None, 5,
                          {"kind": "beta", "beta_c": 0.5, "beta_s": 0.1})
    assert math.isclose(beta.item(), nll + 0.1, rel_tol=1e-5) and "kl_p" not in t2


def test_register_l1_hand_computed():
    B, T, M = 2, 3, 2
    out = {"mel_hat": torch.zeros(B, T, M), "mu_c": torch.zeros(B, T, 1), "logsig_c": torch.zeros(B, T, 1),
           "mu_s": torch.zeros(B, 1), "logsig_s": torch.zeros(B, 1),
           "f0_range_hat": torch.tensor([[4.5, 5.5], [5.0, 5.0]])}
    f0_range = torch.tensor([[4.7, 5.4], [5.0, 5.6]])  # |errors| 0.2, 0.1, 0, 0.6 -> mean 0.225
    w = {"kind": "beta", "beta_c": 0.0, "beta_s": 0.0, "gamma_f0": 10.0}
    loss, terms = L.stn_loss(out, torch.zeros(B, T, M), None, 0, w, f0_range)
    assert math.isclose(loss.item(), M / 2 * math.log(2 * math.pi) + 10 * 0.225, rel_tol=1e-5)
    assert math.isclose(terms["f0_range_l1"], 0.225, rel_tol=1e-5)
    _, no_range = L.stn_loss(out, torch.zeros(B, T, M), None, 0, w)
    assert "f0_range_l1" not in no_range
