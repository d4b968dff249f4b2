"""The SpeechTripleNet track's final tables, figures and metrics (results/07_score/stn/).

Inputs are the per-variant scores (``<score>/<variant>/metrics.json``), the Table 3
EER files (``<score>/eer/cp<C_p>[r<k>].json``, a sweep model per C_p and training seed), the training
logs and the conversions.
Every table prints this run's value beside the paper's (``configs/targets/stn.yaml``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pystn.io import read_json, write_json
from pystn.models.stn_variants import sweep_c_p
from pystn.stn_score import fmt_cell, table1
from pystn.tables import write_table as write_md_csv

TABLE2_ROWS = [("per", "content: project PER of X_s"), ("wer", "content: pocketsphinx WER of X_s"),
               ("cs_xref_resemblyzer", "CS(X_s, X') Resemblyzer"), ("cs_x_resemblyzer", "CS(X_s, X) Resemblyzer"),
               ("cs_xref_xvector", "CS(X_s, X') x-vector"), ("closer_to_xref_resemblyzer", "share of X_s closer to X'"),
               ("pitch_pcc", "pitch PCC of X_s with X")]


def table2(scores: dict, paper: dict) -> tuple[list[str], list[list[str]]]:
    """β-VAEVC beside SpeechTripleNet on the speaker swap X_s (objective measures; the
    paper's Table 2 is a listening test, whose MOS are printed for reference)."""
    header = ["measure", "β-VAEVC", "SpeechTripleNet"]
    rows = [[label] + [fmt_cell(scores.get(v, {}).get("speaker", {}).get(key)) for v in ("beta_vaevc", "stn")]
            for key, label in TABLE2_ROWS]
    for key in ("naturalness_mos", "similarity_mos"):
        rows.append([f"paper {key} (listening test)"] +
                    [str(paper.get(v, {}).get(key, "–")) for v in ("beta_vaevc", "stn")])
    return header, rows


def replicate_stats(runs: list[dict]) -> tuple[dict, dict]:
    """Mean and sample standard deviation (ddof 1; empty for one run) of each number that every
    run's dict holds: the EERs of one C_p over the sweep's replicates (training seeds)."""
    keys = [k for k in runs[0] if all(isinstance(r.get(k), (int, float)) for r in runs)]
    values = {k: np.array([r[k] for r in runs], dtype=np.float64) for k in keys}
    mean = {k: float(v.mean()) for k, v in values.items()}
    sd = {k: float(v.std(ddof=1)) for k, v in values.items()} if len(runs) > 1 else {}
    return mean, sd


def table3(eers: dict[float, list[dict]], paper: dict, kl_p: dict[float, list[float]] | None = None,
           main: tuple[str, dict] | None = None) -> tuple[list[str], list[list[str]]]:
    """EER per latent (rows) per C_p (columns): 'this run (paper)'; ``eers``: C_p -> the EER dicts of
    its sweep replicates (``stn.sweep.replicates``), printed as 'mean ± sd' when there are several
    (the mean alone where they agree to 4 decimals, as for the seed-independent targets Y_f, Y_e);
    ``main`` = (label, EER dict) of the main model, a last column.

    ``kl_p``: C_p -> KL(Z_p) at the last training step of each replicate (nats/frame), their mean
    printed as a last row. While KL(Z_p) < C_p the capacity term γ_p|KL − C_p| (Eq. 5) has the
    gradient −γ_p ∇KL whatever C_p is, so models whose KL never reached their capacity are the same model.
    Rows for Z_c (the time-averaged content latent), Y_f / Y_e (the time-averaged Eq. 2 targets),
    the codes' distance from them (:func:`pystn.stn_score.target_distance`) and for the harmonic
    source's register (:func:`pystn.stn_score.register_fit`) appear when the EER files have them.
    """
    cps = sorted(eers)
    columns = [replicate_stats(eers[c]) for c in cps] + ([(main[1], {})] if main else [])
    header = ["EER"] + [f"C_p={c:g}" for c in cps] + ([main[0]] if main else [])

    def row(label: str, key: str, paper_key: str | None = None) -> list[str] | None:
        if not any(key in mean for mean, _ in columns):
            return None
        cells = [label]
        for k, (mean, sd) in enumerate(columns):
            ref = paper.get(float(cps[k]), {}).get(paper_key) if paper_key and k < len(cps) else None
            spread = sd.get(key, 0.0) >= 5e-5  # the targets' rows (Y_f, Y_e) do not depend on the seed
            this = fmt_cell(mean.get(key)) + (f" ± {sd[key]:.4f}" if spread else "")
            cells.append(this if ref is None else f"{this} ({ref:.4f})")
        return cells

    rows = [row(f"EER({z})", f"eer_{z}", z) for z in ("Z_f", "Z_e", "Z_p", "Z_s")]
    rows.append(row("EER(Z_c): the time-averaged content latent (not in the paper: the speaker that the "
                    "content path keeps; 0.5 = none)", "eer_Z_c"))
    rows += [row(f"EER({y}): the time-averaged {what}-bin target of Eq. 2 (what Z_{y[-1]} tends to)", f"eer_{y}")
             for y, what in (("Y_f", "pitch"), ("Y_e", "energy"))]
    rows += [row(f"L1 of time-averaged Z_{c} from Y_{c} (0: the code is its target)", f"l1_Z_{c}_Y_{c}")
             for c in ("f", "e")]
    rows += [row("register from Z_s vs the analysed F0 range: PCC of the minimum", "register_pcc_min"),
             row("register from Z_s vs the analysed F0 range: PCC of the maximum", "register_pcc_max"),
             row("register from Z_s: spread / analysed spread (< 1: compressed)", "register_spread")]
    rows = [r for r in rows if r]
    if kl_p:
        kl = {c: float(np.mean(v)) for c, v in kl_p.items() if v}
        rows.append(["KL(Z_p) at the last step, nats/frame"] +
                    [("–" if c not in kl else f"{kl[c]:.2f} ({kl_vs_capacity(kl[c], c)})")
                     for c in cps] + (["–"] if main else []))
    return header, rows


def kl_vs_capacity(kl: float, c: float, tol: float = 0.05) -> str:
    """Where a model's last KL(Z_p) sits against its capacity C_p: held there, held down from above
    (a fine-tune that started above it), or below it, where γ_p|KL − C_p| has the same gradient
    −γ_p ∇KL whatever C_p is."""
    if abs(kl - c) <= tol:
        return "at C_p"
    if kl > c:
        return "above C_p: the capacity term pulls it down"
    return "below C_p: capacity never bound"


def write_table(out: Path, name: str, title: str, header: list[str], rows: list[list[str]]) -> None:
    write_md_csv(out, name, header, rows, title=title)


def emphasis_table(scores: dict) -> tuple[list[str], list[list[str]]]:
    """Per edit (emphasis, question): mean F0 / energy change of the edited span, and the share
    of utterances where both rise, against the source X and against the reconstruction X̂."""
    header = ["variant", "edit", "n", "F0 rise vs X (Hz)", "energy rise vs X", "both rise vs X",
              "F0 rise vs X̂ (Hz)", "energy rise vs X̂", "both rise vs X̂"]
    rows = []
    for v, s in scores.items():
        for edit in ("emphasis", "question"):
            e = s.get(edit)
            if e and "f0_rise_hz" in e:
                rows.append([v, edit, str(e["n"])] + [fmt_cell(e.get(k)) for k in (
                    "f0_rise_hz", "energy_rise", "both_rise_frac", "f0_rise_vs_recon_hz", "energy_rise_vs_recon",
                    "both_rise_vs_recon_frac")])
    return header, rows


def flat_metrics(scores: dict, eers: dict, train: dict) -> dict:
    """metrics.json: flat keys -> numbers."""
    out = {}
    for v, s in scores.items():
        for cond, summ in s.items():
            if isinstance(summ, dict):
                out.update({f"{v}.{cond}.{k}": float(x) for k, x in summ.items()
                            if isinstance(x, (int, float)) and x is not None})
            elif isinstance(summ, (int, float)):
                out[f"{v}.{cond}"] = float(summ)
    for c, runs in eers.items():
        mean, sd = replicate_stats(runs)
        out.update({f"table3.cp{c:g}.{k}": x for k, x in mean.items()})
        out.update({f"table3.cp{c:g}.{k}_sd": x for k, x in sd.items()})
    for v, info in train.items():
        out.update({f"train.{v}.{k}": float(x) for k, x in info.items()})
    return {k: x for k, x in out.items() if not np.isnan(x)}


def quality_checks(scores: dict, eers: dict) -> dict:
    """The issue's default-corpus checks as booleans (1.0 / 0.0) plus the compared numbers."""
    s = scores.get("stn", {})
    g = lambda c, k: s.get(c, {}).get(k, np.nan)  # noqa: E731
    checks = {
        "check.xs_closer_to_xref_most": float(g("speaker", "closer_to_xref_resemblyzer") > 0.5),
        "check.xf_changes_pitch_more_than_xs": float(g("pitch", "pitch_pcc") < g("speaker", "pitch_pcc")),
        "check.xe_changes_energy_more_than_xs": float(g("energy", "energy_pcc") < g("speaker", "energy_pcc")),
        "check.xs_pitch_pcc_ge_0.7": float(g("speaker", "pitch_pcc") >= 0.7),
        "check.recon_per_minus_source_per": float(g("recon", "per") - g("source", "per")),
    }
    if len(eers) >= 2:
        cps = sorted(eers)
        mean = {c: replicate_stats(eers[c])[0] for c in cps}
        zf = [mean[c]["eer_Z_f"] for c in cps]
        checks["check.eer_zf_falls_with_cp"] = float(zf[-1] < zf[0])
        checks["check.eer_zs_below_zf"] = float(all(mean[c]["eer_Z_s"] < mean[c]["eer_Z_f"] for c in cps))
    return checks


def train_summary(train_dir: Path) -> dict:
    """Steps, wall time and throughput of a training run, from its train_log.jsonl."""
    from pystn.training import read_train_log

    log = read_train_log(train_dir)
    last = log[-1]
    summary = {"steps": last["step"], "train_seconds": last["elapsed_s"],
               "steps_per_s": last["step"] / max(1e-9, last["elapsed_s"]), "final_nll": last["nll"]}
    if "kl_p" in last:
        summary["final_kl_p"] = last["kl_p"]
    return summary


def samples(convert_dir: Path, utts: list[str], conditions: list[str], data_wavs: dict) -> list[dict]:
    """samples.json entries: the source and each condition's output for a few utterances."""
    out = []
    for u in utts:
        out.append({"label": f"{u} source X", "wav": data_wavs[u], "group": u})
        for c in conditions:
            wav = convert_dir / c / "wav" / f"{u}.wav"
            if wav.is_file():
                out.append({"label": f"{u} {c}", "wav": str(wav), "group": u})
    return out


def read_scores(score_root: Path, variants: list[str]) -> dict:
    return {v: read_json(score_root / v / "metrics.json") for v in variants}


def by_c_p(named: list[tuple[str, object]]) -> dict[float, list]:
    """(sweep model name, value) pairs grouped by the model's C_p, in the given order (replicates
    of one C_p together); pairs of other variants are dropped."""
    groups: dict[float, list] = {}
    for name, value in named:
        if sweep_c_p(name) is not None:
            groups.setdefault(sweep_c_p(name), []).append(value)
    return groups


def read_eers(score_root: Path, sweep_models: list[str]) -> dict[float, list[dict]]:
    """C_p -> the Table 3 EER files (``eer/<model>.json``) of its sweep models, in the given order."""
    return by_c_p([(name, read_json(score_root / "eer" / f"{name}.json")) for name in sweep_models])


def sweep_kl_p(train: dict) -> dict[float, list[float]]:
    """C_p -> the last KL(Z_p) of each of its sweep models, from the training summaries (:func:`train_summary`)."""
    return by_c_p([(name, info["final_kl_p"]) for name, info in train.items() if "final_kl_p" in info])


REFERENCE_LABELS = {"parallel": "; X' another test speaker reading X's sentence in X's style",
                    "any": "; X' an utterance of another test speaker"}   # stn.convert.reference
XVECTOR_SPACE_LABELS = {"lda": "; x-vector CS in the x-vector system's length-normalised LDA space",
                        "raw": "; x-vector CS of raw x-vectors"}               # stn.score.xvector_backend


def write_all(out: Path, scores: dict, eers: dict, train: dict, paper: dict, labels: dict,
              main_eer: dict | None = None) -> dict:
    """Tables 1-3 and the emphasis table (.md + .csv) and metrics.json; returns the metrics.
    ``main_eer``: the main model's latent EERs (``eer/stn.json``), Table 3's last column."""
    run, ref = labels["this_run"], paper.get("label", "paper")
    x_ref = (REFERENCE_LABELS.get(labels.get("reference"), "")
             + XVECTOR_SPACE_LABELS.get(labels.get("xvector_space"), ""))
    write_table(out, "table1", f"Table 1: factor similarity with source speech X — {run}{x_ref}; "
                f"paper values in parentheses ({ref}; the paper's content column is a CER)",
                *table1(scores["stn"], paper.get("table1", {})))
    if "beta_vaevc" in scores:
        write_table(out, "table2", f"Table 2 (objective part): speaker swap, β-VAEVC vs SpeechTripleNet — "
                    f"{run}{x_ref}", *table2(scores, paper.get("table2", {})))
    if eers:
        write_table(out, "table3", f"Table 3: speaker verification EER from time-averaged latents vs C_p — "
                    f"{run}; paper in parentheses ({ref})",
                    *table3(eers, {float(k): v for k, v in paper.get("table3", {}).items()},
                            sweep_kl_p(train),
                            (f"main model ({train.get('stn', {}).get('steps', 0):.0f} steps)", main_eer)
                            if main_eer else None))
    write_table(out, "emphasis", "Emphasis check: the emphasised span's mean F0 and energy vs the source X "
                f"(paper: {paper.get('emphasis_listening_accuracy', '–')} of emphasised words identified by "
                f"listeners) — {run}", *emphasis_table(scores))
    metrics = flat_metrics(scores, eers, train)
    if main_eer:
        metrics.update({f"table3.main.{k}": float(x) for k, x in main_eer.items() if not np.isnan(x)})
    metrics.update({k: v for k, v in quality_checks(scores, eers).items() if not np.isnan(v)})
    write_json(out / "metrics.json", metrics)
    return metrics
