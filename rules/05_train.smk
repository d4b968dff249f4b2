# Stage 05: rules of stage train (see DESIGN.md).

# --- track: stn ---
# stn_train: SpeechTripleNet, its β-VAEVC baseline and the Table 3 C_p sweep
#   results/05_train/stn/<variant>/{final.pt, config.json, train_log.jsonl, checkpoints/}
#   variant: stn | beta_vaevc | cp<C_p>, cp<C_p>r<k> (settings: pystn.models.stn_variants.variant_config)


rule stn_train:
    input:
        unpack(stn_train_inputs),   # mel, f0, energy, utt2spk; with stn.sweep.init, a cp<C_p> also init
    output:
        model=STN_MODEL,
    wildcard_constraints:
        variant=f"stn|beta_vaevc|{STN_SWEEP_WILDCARD}",
    params:
        cfg=stn_train_params,
        feats_root=lambda wc, input: os.path.dirname(os.path.dirname(input.mel)),
        out=lambda wc, output: os.path.dirname(output.model),
        init=lambda wc, input: f"--init {input.init}" if "init" in input.keys() else "",
    log:
        "results/logs/05_train/stn/{variant}.log",
    benchmark:
        "results/benchmarks/05_train/stn/{variant}.tsv"
    threads: config["stn"]["threads"]
    resources:
        gpu=W.gpu_resources(config),
        mem_mb=3000,
        runtime=60,
    conda:
        "../environment.yml"
    shell:
        "$PYSTN_PY $PYSTN_STEPS/train_stn.py --threads {threads} --config-json '{params.cfg}' "
        "--utt2spk {input.utt2spk} {params.init} {params.feats_root} {params.out} > {log} 2>&1"
