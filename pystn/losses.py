"""Loss terms of SpeechTripleNet (paper Eq. 1, 2, 4, 5) and of β-VAEVC.

Every term is averaged over the batch; sequence terms are summed over feature
dimensions and averaged over frames ("frame-normalised", paper §4.3).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LOG_2PI = math.log(2 * math.pi)


def gaussian_nll(mel_hat: torch.Tensor, mel: torch.Tensor) -> torch.Tensor:
    """-log N(mel | mel_hat, I) per frame, mean over frames and batch.  [B,T,M] x [B,T,M] -> scalar.

    = mean_{b,t} sum_m [ (x - x̂)^2 / 2 + log(2π) / 2 ]  (unit variance, paper §4.3).
    """
    return (0.5 * (mel - mel_hat) ** 2 + 0.5 * LOG_2PI).sum(-1).mean()


def kl_gaussian(mu: torch.Tensor, log_sigma: torch.Tensor) -> torch.Tensor:
    """KL[N(μ, σ²) || N(0, I)] summed over the last dim, mean over all other dims.

    = 1/2 sum_d (μ² + σ² - 1 - 2 log σ).  [B, D] (speaker) or [B, T, D] (content) -> scalar.
    """
    return 0.5 * (mu ** 2 + torch.exp(2 * log_sigma) - 1 - 2 * log_sigma).sum(-1).mean()


def kl_categorical_uniform(logits: torch.Tensor) -> torch.Tensor:
    """KL[Cat(softmax π) || Cat(1/K)] = sum_k q_k log q_k + log K per frame, mean.  [B,T,K] -> scalar."""
    logq = F.log_softmax(logits, dim=-1)
    return ((logq.exp() * logq).sum(-1) + math.log(logits.shape[-1])).mean()


def prosody_ssl(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Eq. 2, L_p: divergence of q(Z_p|X) [B,T,K] logits from the one-hot joint target y [B,T] (ints).

    KL[q || one-hot] is infinite wherever q puts mass off the target, so, as in
    practice, the divergence is taken from the target side: KL[one-hot || q] =
    -log q(y) per frame (cross-entropy), mean over frames.
    """
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))


def capacity(step: int, c_max: float, ramp_steps: int) -> float:
    """Capacity C at (0-based) ``step``: linear ramp from 0 to ``c_max`` over ``ramp_steps`` steps."""
    if ramp_steps <= 0:
        return float(c_max)
    return float(c_max) * min(1.0, step / ramp_steps)


def capacity_term(kl: torch.Tensor, c: float, gamma: float) -> torch.Tensor:
    """γ |KL - C| (Eq. 4), with KL already averaged over the batch."""
    return gamma * (kl - c).abs()


def stn_loss(out: dict, mel: torch.Tensor, target: torch.Tensor | None, step: int, w: dict,
             f0_range: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
    """Eq. 5 (SpeechTripleNet) or the β-VAEVC loss, from a model's forward ``out``.

    ``w`` (the ``loss:`` config): ``kind`` 'capacity' (Eq. 4-5: gamma_c/s/p, C_c/s/p,
    ramp_steps, gamma_fe) or 'beta' (β-VAEVC: beta_c, beta_s: NLL + β_c KL_c + β_s KL_s).
    With the harmonic source (``out['f0_range_hat']``: the register predicted from Z_s, a recipe
    addition, see :mod:`pystn.models.stn`) and the utterances' analysed voiced log-F0 (min, max)
    ``f0_range`` [B, 2], ``gamma_f0`` * their L1 is added. Returns (loss, terms) with every term,
    KL and capacity as floats.
    """
    nll = gaussian_nll(out["mel_hat"], mel)
    kl_c = kl_gaussian(out["mu_c"], out["logsig_c"])
    kl_s = kl_gaussian(out["mu_s"], out["logsig_s"])
    terms = {"nll": nll.item(), "kl_c": kl_c.item(), "kl_s": kl_s.item()}
    source = torch.zeros((), device=mel.device)
    if "f0_range_hat" in out and f0_range is not None:
        range_l1 = (out["f0_range_hat"] - f0_range).abs().mean()
        source = w.get("gamma_f0", 10.0) * range_l1
        terms["f0_range_l1"] = range_l1.item()
    if w.get("kind", "capacity") == "beta":
        loss = nll + w["beta_c"] * kl_c + w["beta_s"] * kl_s + source
        return loss, terms
    caps = {k: capacity(step, w[f"C_{k}"], w["ramp_steps"]) for k in ("c", "s", "p")}
    loss = (nll + capacity_term(kl_c, caps["c"], w["gamma_c"]) + capacity_term(kl_s, caps["s"], w["gamma_s"])
            + source)
    terms.update(cap_c=caps["c"], cap_s=caps["s"])
    if "logits" in out:
        kl_p = kl_categorical_uniform(out["logits"])
        lp = prosody_ssl(out["logits"], target)
        loss = loss + capacity_term(kl_p, caps["p"], w["gamma_p"]) + w["gamma_fe"] * lp
        terms.update(kl_p=kl_p.item(), cap_p=caps["p"], ssl_p=lp.item())
    return loss, terms
