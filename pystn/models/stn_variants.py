"""SpeechTripleNet training variants from the ``stn:`` config block (torch-free: the Snakefile reads it)."""

from __future__ import annotations


def _merge(base: dict, over: dict) -> dict:
    """Recursive dict merge: ``over`` wins; nested dicts are merged."""
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def variant_names(stn_cfg: dict) -> list[str]:
    """Every trained variant: the listed ``variants`` plus one ``cp<C_p>`` per Table 3 sweep value."""
    return list(stn_cfg["variants"]) + [f"cp{c}" for c in stn_cfg["sweep"]["C_p"]]


def sweep_c_p(variant: str) -> float | None:
    """C_p of a Table 3 sweep variant ``cp<C_p>`` (as :func:`variant_names` writes it); None otherwise."""
    return float(variant[2:]) if variant.startswith("cp") else None


def variant_config(stn_cfg: dict, variant: str, device: str | None = None) -> dict:
    """Resolved {'model','loss','data','train'} of a variant of the ``stn:`` config block.

    ``stn``: the base settings. ``beta_vaevc``: base merged with ``beta_vaevc:``.
    ``cp<x>``: base merged with ``sweep.overrides`` and ``loss.C_p = x`` (Table 3).
    """
    base = {k: stn_cfg[k] for k in ("model", "loss", "data", "train")}
    if device is not None:
        base = _merge(base, {"train": {"device": device}})
    if variant == "stn":
        return base
    if variant == "beta_vaevc":
        return _merge(base, stn_cfg["beta_vaevc"])
    c_p = sweep_c_p(variant)
    if c_p is not None:
        if c_p not in [float(c) for c in stn_cfg["sweep"]["C_p"]]:
            raise KeyError(f"variant '{variant}': C_p={c_p} is not in stn.sweep.C_p {stn_cfg['sweep']['C_p']}")
        return _merge(_merge(base, stn_cfg["sweep"].get("overrides", {})), {"loss": {"C_p": c_p}})
    raise KeyError(f"unknown stn variant '{variant}' (known: {variant_names(stn_cfg)})")
