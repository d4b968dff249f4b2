# Stage 01: corpus -> Kaldi data dirs (train / val / test) and nj-way shards.


rule data_prepare:
    output:
        expand("results/01_data/{{corpus}}/{split}/{f}", split=W.SPLITS, f=W.DATA_FILES),
        split="results/01_data/{corpus}/speaker_split.json",
    params:
        corpus=lambda wc: json.dumps(W.corpus_config(config, wc.corpus), sort_keys=True),
        seed=config["seed"],
        allow_pipes=config["data"]["allow_piped_wav_scp"],
    log:
        "results/logs/01_data/prepare_{corpus}.log",
    benchmark:
        "results/benchmarks/01_data/prepare_{corpus}.tsv"
    threads: 2
    resources:
        mem_mb=2000,
        runtime=60,
    conda:
        "../environment.yml"
    shell:
        "$PYSTN_PY $PYSTN_STEPS/prepare_data.py --corpus-json {params.corpus:q} --seed {params.seed}"
        " --nj {threads} --allow-pipes {params.allow_pipes} {wildcards.corpus}"
        " results/01_data/{wildcards.corpus} > {log} 2>&1"


checkpoint data_split:
    input:
        expand("results/01_data/{{corpus}}/{{split}}/{f}", f=W.DATA_FILES),
    output:
        expand(
            "results/01_data/{{corpus}}/{{split}}/split{nj}/{n}/wav.scp",
            nj=config["nj"],
            n=range(1, config["nj"] + 1),
        ),
    params:
        nj=config["nj"],
    log:
        "results/logs/01_data/split_{corpus}_{split}.log",
    benchmark:
        "results/benchmarks/01_data/split_{corpus}_{split}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../environment.yml"
    shell:
        "$PYSTN_PY $PYSTN_STEPS/split_data.py --nj {params.nj} results/01_data/{wildcards.corpus}/{wildcards.split}"
        " > {log} 2>&1"


rule data:
    input:
        expand(
            "results/01_data/{corpus}/{split}/wav.scp",
            corpus=data_corpora(),
            split=W.SPLITS,
        ),
