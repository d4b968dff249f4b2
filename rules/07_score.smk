# Stage 07: scoring. Each track's scorer writes results/07_score/<track>/ with
# metrics.json, tables (.md / .csv), figures (.png) and samples.json, registers
# its outputs in TRACK_TARGETS[<track>], and defines the target rule <track>.

# --- track: xvector ---
# Tables (Table 1, Fig. 3), DET curves and metrics.json of the speaker track, plus the
# PER of the project's phone recogniser (xvector.bnf.recogniser: the stacked DNN by default) on the
# unseen test speakers.
XV_CORPUS = config["xvector"]["corpus"]
XV_OUT = "results/07_score/xvector"
XV_OUTPUTS = [f"{XV_OUT}/{name}" for name in ("metrics.json", "table1.md", "table1.csv", "fig3.md",
                                               "fig3.csv", "fig3.png", "det.png")]


rule xvector_report:
    input:
        scores=expand("results/04_xvector/{system}/{corpus}/scores", system=config["xvector"]["systems"],
                      corpus=XV_CORPUS),
        targets="configs/targets/xvector.yaml",
        recogniser=f"{bnf_model_dir(bnf_asr_corpus(), config['xvector']['bnf'].get('recogniser', 'bnf'))}/final.pt",
        per_feats=W.feats_scp(bnf_asr_corpus(), "test", config["xvector"]["bnf"]["base_feat"]),
        per_phones=f"results/03_bnf/{bnf_asr_corpus()}/phones/test/text",
    output:
        XV_OUTPUTS,
    params:
        systems=lambda wc, input: " ".join(f"--system {s} {f}" for s, f in
                                           zip(config["xvector"]["systems"], input.scores)),
        label=xv_run_label(),
        note=(("BNF-based x-vectors are trained on the augmented copies too, as in the paper" if
               xv_augmented("bnf") else "BNF-based x-vectors are trained without augmentation") +
              "; relative gains are against the augmented MFCC x-vector as in the paper. Synthetic test "
              "speakers read the same sentences as the training speakers."),
        recogniser=lambda wc, input: os.path.dirname(input.recogniser),
        out=lambda wc, output: os.path.dirname(output[0]),
    log:
        "results/logs/07_score/xvector/report.log",
    benchmark:
        "results/benchmarks/07_score/xvector/report.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../environment.yml"
    shell:
        "$PYSTN_PY $PYSTN_STEPS/score_xvector.py report {params.systems} --targets {input.targets}"
        " --run-label {params.label:q} --fig3-note {params.note:q} --recogniser {params.recogniser}"
        " --per-feats {input.per_feats} --per-phones {input.per_phones} {params.out} > {log} 2>&1"


TRACK_TARGETS["xvector"] = XV_OUTPUTS


rule xvector:
    input:
        XV_OUTPUTS,


# --- track: stn ---
# stn_score_variant   Table 1 / 2 measures of one converted variant -> results/07_score/stn/<variant>/
# stn_score_eer       Table 3 EERs of a C_p sweep model / the main one -> results/07_score/stn/eer/{cp<C_p>[r<k>],stn}.json
# stn_tables          tables, figures, metrics.json, samples.json  -> results/07_score/stn/


rule stn_score_variant:
    input:
        unpack(stn_score_inputs),
        manifest="results/06_convert/stn/{variant}/conversions.json",
        wav_scp=lambda wc: W.data_file(config["stn"]["corpus"], "test", "wav.scp"),  # text sits beside it
    output:
        metrics="results/07_score/stn/{variant}/metrics.json",
        utts="results/07_score/stn/{variant}/utts.csv",
    wildcard_constraints:
        variant="stn|beta_vaevc",
    params:
        cfg=lambda wc: json.dumps(stn_score_cfg(wc.variant), sort_keys=True),
        conv=lambda wc, input: os.path.dirname(input.manifest),
        data_dir=lambda wc, input: os.path.dirname(input.wav_scp),
        out=lambda wc, output: os.path.dirname(output.metrics),
        global_swap=lambda wc: f"--global-swap {os.path.dirname(STN_GLOBAL_SWAP_SCP)} "
        if stn_scores_global_swap(wc.variant) else "",
    log:
        "results/logs/07_score/stn/{variant}.log",
    benchmark:
        "results/benchmarks/07_score/stn/{variant}.tsv"
    threads: config["stn"]["threads"]
    resources:
        gpu=0,
        mem_mb=3000,
        runtime=60,
    conda:
        "../environment.yml"
    shell:
        "$PYSTN_PY $PYSTN_STEPS/score_stn.py --threads {threads} --config-json '{params.cfg}' {params.global_swap}"
        "{params.conv} {params.data_dir} {params.out} > {log} 2>&1"


rule stn_score_eer:
    input:
        model=STN_MODEL,
        mel=lambda wc: stn_feats("test", "stn_mel"),
        f0=lambda wc: stn_feats("test", "stn_f0"),
        energy=lambda wc: stn_feats("test", "stn_energy"),
        utt2spk=lambda wc: W.data_file(config["stn"]["corpus"], "test", "utt2spk"),
    output:
        "results/07_score/stn/eer/{variant}.json",
    wildcard_constraints:
        variant=f"{STN_SWEEP_WILDCARD}|stn",   # Table 3's sweep models and its last column, the main model
    params:
        model_dir=lambda wc, input: os.path.dirname(input.model),
        data_dir=lambda wc, input: os.path.dirname(input.utt2spk),
    log:
        "results/logs/07_score/stn/eer_{variant}.log",
    benchmark:
        "results/benchmarks/07_score/stn/eer_{variant}.tsv"
    threads: 1
    resources:
        gpu=0,
        mem_mb=2000,
        runtime=30,
    conda:
        "../environment.yml"
    shell:
        "$PYSTN_PY $PYSTN_STEPS/score_stn_eer.py --threads {threads} --f0-scp {input.f0} --energy-scp {input.energy} "
        "{params.model_dir} {params.data_dir} {input.mel} {output} > {log} 2>&1"


STN_OUT = "results/07_score/stn"
STN_TABLES = [f"{STN_OUT}/{n}" for n in ("metrics.json", "table1.md", "table1.csv", "table3.md", "table3.csv",
                                          "emphasis.md", "fig2.png", "losses.png", "samples.json")]
if "beta_vaevc" in config.get("stn", {}).get("variants", []):
    STN_TABLES += [f"{STN_OUT}/table2.md", f"{STN_OUT}/table2.csv"]


rule stn_tables:
    input:
        scores=expand("results/07_score/stn/{v}/metrics.json", v=config.get("stn", {}).get("variants", [])),
        eers=expand("results/07_score/stn/eer/{v}.json", v=stn_sweep_names(config["stn"]) if "stn" in config else []),
        main_eer=["results/07_score/stn/eer/stn.json"] if "stn" in config.get("stn", {}).get("variants", []) else [],
        train=expand(STN_MODEL, variant=stn_variant_names(config["stn"]) if "stn" in config else []),
        targets=lambda wc: config["stn"]["score"]["targets"],
        wav_scp=lambda wc: W.data_file(config["stn"]["corpus"], "test", "wav.scp"),
    output:
        STN_TABLES,
    params:
        cfg=lambda wc: json.dumps({"variants": config["stn"]["variants"],
                                   "sweep": {k: config["stn"]["sweep"].get(k) for k in ("C_p", "replicates")},
                                   "targets": stn_targets_yaml(), "this_run": stn_this_run(),
                                   "reference": config["stn"]["convert"]["reference"],
                                   "xvector_space": "lda" if stn_xvector_backend() else "raw",
                                   "f0_preset": W.preset(config, "stn_f0"),
                                   "energy_preset": W.preset(config, "stn_energy"),
                                   "fig2_utt": config["stn"]["score"].get("fig2_utt"),
                                   "n_samples": config["stn"]["score"].get("n_samples", 3)}, sort_keys=True),
        data_dir=lambda wc, input: os.path.dirname(input.wav_scp),
        out=lambda wc, output: os.path.dirname(output[0]),
    log:
        "results/logs/07_score/stn/tables.log",
    benchmark:
        "results/benchmarks/07_score/stn/tables.tsv"
    threads: 1
    resources:
        gpu=0,
        mem_mb=2000,
        runtime=30,
    conda:
        "../environment.yml"
    shell:
        "$PYSTN_PY $PYSTN_STEPS/tabulate_stn.py --config-json '{params.cfg}' results/07_score/stn results/05_train/stn "
        "results/06_convert/stn {params.data_dir} {params.out} > {log} 2>&1"


TRACK_TARGETS["stn"] = STN_TABLES


rule stn:
    input:
        STN_TABLES,

