#!/usr/bin/env python
"""Stage 07: the SpeechTripleNet track's tables, figures, metrics.json and samples.json.

usage: tabulate_stn.py --config-json JSON <score-root> <train-root> <convert-root> <data-dir> <out-dir>

<score-root> holds <variant>/metrics.json and eer/<sweep model>.json, cp<C_p>[r<k>] (and eer/stn.json, the main
model's, when the variants include stn); <train-root> the training
dirs (results/05_train/stn); <convert-root> results/06_convert/stn. JSON:
{'variants', 'sweep' ({'C_p', 'replicates'}), 'targets' (configs/targets/stn.yaml content), 'this_run' (label),
'reference' (convert.reference: how X' was drawn), 'xvector_space' ('lda' | 'raw': where the x-vector CS is taken),
'f0_preset', 'energy_preset', 'fig2_utt' (or null: the first converted utterance), 'n_samples'}.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def fig2_rows(conv: Path, utt: str, source_wav: str, cfg: dict) -> list[dict]:
    """Fig. 2 rows for one utterance: source, speaker swap, pitch edit, energy edit, emphasis."""
    from pystn.io import read_kv, read_scp
    from pystn.stn_score import prosody_tracks

    rows = []
    for cond, label in (("copy", "X"), ("speaker", "X_s"), ("pitch", "X_f"), ("energy", "X_e"),
                        ("emphasis", "emphasis")):
        cdir = conv / cond
        if not (cdir / "feats.scp").is_file():
            continue
        wav = source_wav if cond == "copy" else read_kv(cdir / "wav.scp")[utt]
        f0, en = prosody_tracks(wav, cfg["f0_preset"], cfg["energy_preset"])
        codes = read_scp(cdir / "codes.scp")[utt]
        span = read_kv(cdir / "spans").get(utt) if (cdir / "spans").is_file() else None
        rows.append({"label": label, "mel": read_scp(cdir / "feats.scp")[utt], "log_f0": f0, "energy": en,
                     "bins_f": codes[:, 0], "bins_e": codes[:, 1],
                     "span": tuple(int(x) for x in span.split()) if span else None})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config-json", required=True)
    ap.add_argument("score_root")
    ap.add_argument("train_root")
    ap.add_argument("convert_root")
    ap.add_argument("data_dir")
    ap.add_argument("out_dir")
    args = ap.parse_args(argv)

    from pystn import stn_tables as T
    from pystn.io import read_json, read_kv, write_json
    from pystn.models.stn_variants import sweep_names, variant_names
    from pystn.plots.stn import plot_editing, plot_losses
    from pystn.training import read_train_log

    cfg = json.loads(args.config_json)
    out, conv_root = Path(args.out_dir), Path(args.convert_root)
    out.mkdir(parents=True, exist_ok=True)
    variants = cfg["variants"]
    stn_cfg = {"variants": variants, "sweep": cfg["sweep"]}
    train_names = variant_names(stn_cfg)
    train = {v: T.train_summary(Path(args.train_root) / v) for v in train_names}
    main_eer = Path(args.score_root) / "eer" / "stn.json"
    metrics = T.write_all(out, T.read_scores(Path(args.score_root), variants),
                          T.read_eers(Path(args.score_root), sweep_names(stn_cfg)), train, cfg["targets"],
                          {"this_run": cfg["this_run"], "reference": cfg.get("reference"),
                           "xvector_space": cfg.get("xvector_space")},
                          read_json(main_eer) if "stn" in variants else None)
    plot_losses({v: read_train_log(Path(args.train_root) / v) for v in train_names}, out / "losses.png")
    conv = conv_root / "stn"
    manifest = read_json(conv / "conversions.json")
    wavs = read_kv(Path(args.data_dir) / "wav.scp")
    utt = cfg.get("fig2_utt") or manifest["utterances"][0]
    plot_editing(fig2_rows(conv, utt, wavs[utt], cfg), out / "fig2.png")
    picks = manifest["utterances"][:: max(1, len(manifest["utterances"]) // max(1, cfg["n_samples"]))]
    write_json(out / "samples.json", T.samples(conv, picks[: cfg["n_samples"]],
                                               ["recon", "speaker", "pitch", "energy", "emphasis", "question"],
                                               wavs))
    print(json.dumps({k: v for k, v in metrics.items() if k.startswith("check.")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
