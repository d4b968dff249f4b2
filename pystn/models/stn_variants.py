"""SpeechTripleNet training variants from the ``stn:`` config block (torch-free: the Snakefile reads it)."""

from __future__ import annotations

import re


def _merge(base: dict, over: dict) -> dict:
    """Recursive dict merge: ``over`` wins; nested dicts are merged."""
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


SWEEP_VARIANT = re.compile(r"cp(?P<c_p>[0-9]+(?:\.[0-9]+)?)(?:r(?P<replicate>[1-9][0-9]*))?")


def sweep_replicates(stn_cfg: dict) -> int:
    """Training seeds per C_p of the Table 3 sweep (``sweep.replicates``, default 1)."""
    return int(stn_cfg["sweep"].get("replicates") or 1)


def sweep_variant(c_p, replicate: int = 0) -> str:
    """Name of a Table 3 sweep model: ``cp<C_p>`` (replicate 0, the run's seed), ``cp<C_p>r<k>`` (seed + k)."""
    return f"cp{c_p}" + (f"r{replicate}" if replicate else "")


def sweep_names(stn_cfg: dict) -> list[str]:
    """Every Table 3 sweep model: one per C_p and replicate (:func:`sweep_variant`)."""
    return [sweep_variant(c, k) for c in stn_cfg["sweep"]["C_p"] for k in range(sweep_replicates(stn_cfg))]


def variant_names(stn_cfg: dict) -> list[str]:
    """Every trained variant: the listed ``variants`` plus the Table 3 sweep models (:func:`sweep_names`)."""
    return list(stn_cfg["variants"]) + sweep_names(stn_cfg)


def sweep_c_p(variant: str) -> float | None:
    """C_p of a Table 3 sweep variant (as :func:`sweep_variant` writes it); None otherwise."""
    m = SWEEP_VARIANT.fullmatch(variant)
    return float(m["c_p"]) if m else None


def sweep_replicate(variant: str) -> int:
    """Replicate k of a Table 3 sweep variant ``cp<C_p>r<k>`` (0 for ``cp<C_p>`` and every other variant)."""
    m = SWEEP_VARIANT.fullmatch(variant)
    return int(m["replicate"] or 0) if m else 0


def variant_seed(variant: str, seed: int) -> int:
    """Training seed of a variant: the run's ``seed``, plus k for the sweep's replicate k, so the
    replicates of one C_p differ in their fresh initialisation and batches alone."""
    return seed + sweep_replicate(variant)


def sweep_init(stn_cfg: dict, variant: str) -> str | None:
    """The variant whose trained model a Table 3 sweep model ``cp<C_p>`` starts from
    (``sweep.init``: 'stn', a fine-tune of the main model; null: trained from scratch as in the
    paper). None for every other variant."""
    if sweep_c_p(variant) is None:
        return None
    init = stn_cfg["sweep"].get("init")
    if init not in (None, "stn"):
        raise KeyError(f"stn.sweep.init must be 'stn' (fine-tune the main model) or null, got {init!r}")
    return init


HARMONIC_PRESET_KEYS = ("sample_rate", "n_fft", "fmin", "fmax")
PROSODY_DATA_KEYS = ("prosody_warp", "prosody_warp_share")  # data settings of the prosody encoder alone
PROSODY_ENCODER_KEYS = ("prosody_contours",)  # model settings that shape the prosody encoder alone


def with_mel_preset(model_cfg: dict, mel_preset: dict | None) -> dict:
    """``model.harmonic: true`` -> the harmonic source's settings: the stn_mel preset's sample rate,
    n_fft, fmin, fmax (a dict ``harmonic`` keeps its own keys, e.g. sigma_hz, smooth, over them)."""
    h = model_cfg.get("harmonic")
    if not h:
        return model_cfg
    if mel_preset is None:
        raise KeyError("stn model.harmonic needs the stn_mel feature preset (sample_rate, n_fft, fmin, fmax)")
    own = h if isinstance(h, dict) else {}
    return {**model_cfg, "harmonic": {**{k: mel_preset.get(k) for k in HARMONIC_PRESET_KEYS}, **own}}


def variant_config(stn_cfg: dict, variant: str, device: str | None = None, mel_preset: dict | None = None) -> dict:
    """Resolved {'model','loss','data','train'} of a variant of the ``stn:`` config block.

    ``stn``: the base settings. ``beta_vaevc``: base merged with ``beta_vaevc:``, whose ``loss``
    replaces the base's (β weights, no capacities) and without the prosody encoder's data keys.
    ``cp<x>`` / ``cp<x>r<k>``: base merged with ``sweep.overrides`` (null: none) and ``loss.C_p = x`` (Table 3;
    with ``sweep.init`` the training starts from that variant's model, :func:`sweep_init`, whose
    modules listed in ``sweep.reinit`` (e.g. ``[prosody]``) start afresh: key ``reinit``).
    ``mel_preset`` (stn_mel) fills in the harmonic source's settings (:func:`with_mel_preset`).
    """
    cfg = _variant_config(stn_cfg, variant, device)
    return {**cfg, "model": with_mel_preset(cfg["model"], mel_preset)}


def _variant_config(stn_cfg: dict, variant: str, device: str | None) -> dict:
    base = {k: stn_cfg[k] for k in ("model", "loss", "data", "train")}
    if device is not None:
        base = _merge(base, {"train": {"device": device}})
    if variant == "stn":
        return base
    if variant == "beta_vaevc":  # its own loss and no prosody-only data keys: changing the main model's
        cfg = _merge(base, stn_cfg["beta_vaevc"])  # capacities or prosody input does not retrain it
        cfg["loss"] = {"kind": "beta", **stn_cfg["beta_vaevc"].get("loss", {})}
        cfg["data"] = {k: v for k, v in cfg["data"].items() if k not in PROSODY_DATA_KEYS}
        return cfg
    c_p = sweep_c_p(variant)
    if c_p is not None:
        if c_p not in [float(c) for c in stn_cfg["sweep"]["C_p"]]:
            raise KeyError(f"variant '{variant}': C_p={c_p} is not in stn.sweep.C_p {stn_cfg['sweep']['C_p']}")
        if sweep_replicate(variant) >= sweep_replicates(stn_cfg):
            raise KeyError(f"variant '{variant}': replicate {sweep_replicate(variant)} is beyond "
                           f"stn.sweep.replicates {sweep_replicates(stn_cfg)}")
        cfg = _merge(_merge(base, stn_cfg["sweep"].get("overrides") or {}), {"loss": {"C_p": c_p}})
        reinit = stn_cfg["sweep"].get("reinit") or []
        return {**cfg, "reinit": list(reinit)} if reinit else cfg
    raise KeyError(f"unknown stn variant '{variant}' (known: {variant_names(stn_cfg)})")
