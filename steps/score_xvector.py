#!/usr/bin/env python
"""Speaker verification scoring (04_xvector) and the track's tables and figures (07_score).

usage: score_xvector.py backend --params JSON <train.scp> <train_utt2spk> <test.scp> <trials> <out_dir>
         mean subtraction -> LDA -> length norm -> PLDA fitted on training embeddings; writes
         <out_dir>/backend.npz and <out_dir>/scores ("enroll test plda_llr cosine target|nontarget")
       score_xvector.py report --system NAME SCORES [--system ...] --targets YAML --run-label TEXT
                               [--recogniser DIR --per-feats SCP --per-phones TEXT] <out_dir>
         metrics.json (eer_/mindcf01_/mindcf001_/eer_cosine_<system>, per_recogniser), table1.md/.csv,
         fig3.md/.csv/.png, det.png
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import yaml


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as steps/<name>.py
from pystn import metrics, tables
from pystn.backend import Backend, cosine_scores, trial_arrays
from pystn.batching import load_feats
from pystn.io import read_kv, write_json, write_text

TABLE1 = [("UBM/i-vector", "ivector_mfcc", "ubm_ivector"), ("DNN/i-vector", None, "dnn_ivector"),
          ("BNF i-vector", "ivector_bnf", "bnf_ivector"), ("x-vector system", "xvector_mfcc", "xvector"),
          ("x-vector system (aug)", "xvector_mfcc_aug", "xvector_aug")]
FIG3 = [("MFCC", "xvector_mfcc_aug", "mfcc"), ("BNF", "xvector_bnf", "bnf"), ("SBNF", "xvector_sbnf", "sbnf"),
        ("MT-SBNF", "xvector_mtsbnf", "mtsbnf")]


def backend(args) -> None:
    p = json.loads(args.params)
    train = load_feats(args.train_scp)
    utt2spk = read_kv(args.utt2spk)
    keys = sorted(train)
    x = np.stack([train[k] for k in keys])
    be = Backend.fit(x, [utt2spk[k] for k in keys], p.get("lda_dim"), int(p.get("plda_iters", 10)))
    test = load_feats(args.test_scp)
    tkeys = sorted(test)
    t = np.stack([test[k] for k in tkeys])
    trials = [tuple(ln.split()) for ln in Path(args.trials).read_text().splitlines() if ln.strip()]
    pairs, labels = trial_arrays(trials, tkeys, tkeys)
    plda = be.score(t, t, pairs)
    cos = cosine_scores(t, t, pairs, be.mean)
    out = Path(args.out_dir)
    be.save(out / "backend.npz")
    write_text(out / "scores", "".join(f"{a} {b} {s:.6f} {c:.6f} {lab}\n"
                                       for (a, b, lab), s, c in zip(trials, plda, cos)))


def read_scores(path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = [ln.split() for ln in Path(path).read_text().splitlines() if ln.strip()]
    plda = np.array([float(r[2]) for r in rows])
    cos = np.array([float(r[3]) for r in rows])
    return plda, cos, np.array([r[4] == "target" for r in rows], dtype=int)


def system_metrics(name: str, plda, cos, labels) -> dict:
    return {f"eer_{name}": 100 * metrics.eer(plda, labels),
            f"mindcf01_{name}": metrics.min_dcf(plda, labels, 0.01),
            f"mindcf001_{name}": metrics.min_dcf(plda, labels, 0.001),
            f"eer_cosine_{name}": 100 * metrics.eer(cos, labels)}


def recogniser_per(model_dir, feats_scp, phones_text) -> float:
    from pystn.recognizer import PhoneRecognizer

    rec = PhoneRecognizer.load(model_dir)
    refs = {u: v.split() for u, v in read_kv(phones_text).items()}
    feats = load_feats(feats_scp, sorted(refs))
    keys = sorted(feats)
    return 100 * metrics.error_rate([refs[k] for k in keys], [rec.recognize(feats[k]) for k in keys])


def fmt(v) -> str:
    return "-" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{v:.2f}"


def write_table(out: Path, stem: str, header: list[str], rows: list[list], notes: list[str]) -> None:
    """Markdown with 2 decimals, CSV with 4; None / non-finite cells are '-' (md) or empty (csv)."""
    md = [[c if isinstance(c, str) else fmt(c) for c in r] for r in rows]
    csv = [["" if c is None else (c if isinstance(c, str) else f"{c:.4f}") for c in r] for r in rows]
    tables.write_table(out, stem, header, md, csv, notes=notes)


def relative(ref, v):
    return None if ref is None or v is None else 100 * (ref - v) / ref


def report(args) -> None:
    from pystn.plots.xvector import det_plot, fig3_plot

    out = Path(args.out_dir)
    targets = yaml.safe_load(Path(args.targets).read_text())
    scores = {name: read_scores(path) for name, path in args.system}
    m = {}
    for name, (plda, cos, labels) in scores.items():
        m.update(system_metrics(name, plda, cos, labels))
    first = next(iter(scores.values()))[2]
    m.update(n_trials=int(len(first)), n_target_trials=int(first.sum()))
    if args.recogniser:
        m["per_recogniser"] = recogniser_per(args.recogniser, args.per_feats, args.per_phones)
    write_json(out / "metrics.json", m)
    eer = {n: m.get(f"eer_{n}") for n in scores}
    paper = targets["table1"]
    rows = [[label, eer.get(sys_) if sys_ else None, paper.get(key)] for label, sys_, key in TABLE1]
    head = ["system", f"EER % ({args.run_label})", f"EER % ({targets['label']})"]
    write_table(out, "table1", head, rows, [f"Table 1 of the paper. {targets['table1_note']}"])
    f3 = targets["fig3"]
    ref = eer.get("xvector_mfcc_aug")
    rows = [[label, eer.get(sys_), relative(ref, eer.get(sys_)), f3["eer"].get(key), f3["relative_to_mfcc"].get(key)]
            for label, sys_, key in FIG3]
    write_table(out, "fig3", ["front end", f"EER % ({args.run_label})", "rel. impr. vs MFCC % (this run)",
                              f"EER % ({targets['label']})", "rel. impr. vs MFCC % (paper)"], rows,
                [f"Fig. 3 of the paper. {f3['note']}", args.fig3_note])
    fig3_plot([r[0] for r in rows], [r[1] for r in rows], [r[3] for r in rows], out / "fig3.png",
              f"this run: {args.run_label}", targets["label"])
    det_plot({n: (s[0], s[2]) for n, s in scores.items()}, out / "det.png", f"PLDA, {args.run_label}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("backend")
    b.add_argument("--params", default="{}")
    for name in ("train_scp", "utt2spk", "test_scp", "trials", "out_dir"):
        b.add_argument(name)
    r = sub.add_parser("report")
    r.add_argument("--system", nargs=2, action="append", required=True, metavar=("NAME", "SCORES"))
    r.add_argument("--targets", required=True)
    r.add_argument("--run-label", required=True)
    r.add_argument("--fig3-note", default="")
    r.add_argument("--recogniser")
    r.add_argument("--per-feats")
    r.add_argument("--per-phones")
    r.add_argument("out_dir")
    args = ap.parse_args(argv)
    backend(args) if args.cmd == "backend" else report(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
