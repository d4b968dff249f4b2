# Stage 06: rules of stage convert (see DESIGN.md).

# --- track: stn ---
# stn_convert: editing of the test split by a trained variant (paper §4.4)
#   results/06_convert/stn/<variant>/<condition>/{feats,codes}.{ark,scp}, wav/, wav.scp
#   and results/06_convert/stn/<variant>/conversions.json (written last)
# stn_global_swap: Table 1's reference column, the same sources swapped toward the same X' by
#   WORLD global statistics (no model, so it runs beside the training and once per corpus)
#   results/06_convert/stn/global_swap/{wav/, refs, wav.scp (written last)}


rule stn_convert:
    input:
        model=STN_MODEL,
        mel=lambda wc: stn_feats("test", "stn_mel"),
        f0=lambda wc: stn_feats("test", "stn_f0"),
        energy=lambda wc: stn_feats("test", "stn_energy"),  # with f0: the contours a prosody_contours model reads
        utt2spk=lambda wc: W.data_file(config["stn"]["corpus"], "test", "utt2spk"),
    output:
        manifest="results/06_convert/stn/{variant}/conversions.json",
    wildcard_constraints:
        variant="stn|beta_vaevc",
    params:
        cfg=stn_convert_params,
        model_dir=lambda wc, input: os.path.dirname(input.model),
        data_dir=lambda wc, input: os.path.dirname(input.utt2spk),
        out=lambda wc, output: os.path.dirname(output.manifest),
    log:
        "results/logs/06_convert/stn/{variant}.log",
    benchmark:
        "results/benchmarks/06_convert/stn/{variant}.tsv"
    threads: config["stn"]["threads"]
    resources:
        gpu=0,
        mem_mb=3000,
        runtime=60,
    conda:
        "../environment.yml"
    shell:
        "$PYSTN_PY $PYSTN_STEPS/convert_stn.py --threads {threads} --config-json '{params.cfg}' "
        "--f0-scp {input.f0} --energy-scp {input.energy} {params.model_dir} {params.data_dir} {input.mel} {params.out} > {log} 2>&1"


rule stn_global_swap:
    input:
        mel=lambda wc: stn_feats("test", "stn_mel"),
        utt2spk=lambda wc: W.data_file(config["stn"]["corpus"], "test", "utt2spk"),
    output:
        wav_scp=STN_GLOBAL_SWAP_SCP,
    params:
        cfg=stn_global_swap_params,
        data_dir=lambda wc, input: os.path.dirname(input.utt2spk),
        out=lambda wc, output: os.path.dirname(output.wav_scp),
    log:
        "results/logs/06_convert/stn/global_swap.log",
    benchmark:
        "results/benchmarks/06_convert/stn/global_swap.tsv"
    threads: 1   # pyworld analysis and synthesis, one utterance at a time
    resources:
        gpu=0,
        mem_mb=1000,
        runtime=30,
    conda:
        "../environment.yml"
    shell:
        "$PYSTN_PY $PYSTN_STEPS/global_swap_stn.py --config-json '{params.cfg}' "
        "{params.data_dir} {input.mel} {params.out} > {log} 2>&1"
