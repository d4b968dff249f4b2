# Stage 02: audio -> features, one Kaldi ark/scp per (corpus, split, preset), nj shards each.
#   feats_shard  one preset on one shard of a split       -> feats.<n>.ark + feats.<n>.scp
#   feats_merge  the shard scps                           -> feats.scp + conf.json
#   feats_cmvn   per-speaker CMVN stats of another preset -> feats.scp (keyed by speaker) + conf.json
# A preset's settings enter through params:, so changing one re-runs exactly that feature.
rule feats_shard:
    input:
        scp=f"results/01_data/{{corpus}}/{{split}}/split{FEATS_NJ}/{{n}}/wav.scp",
        wavs=feats_shard_wavs,
    output:
        ark="results/02_feats/{corpus}/{split}/{feat}/feats.{n}.ark",
        scp="results/02_feats/{corpus}/{split}/{feat}/feats.{n}.scp",
    wildcard_constraints:
        feat=feats_names(cmvn=False),
        n=r"\d+",
    params:
        preset=feats_preset_json,
        shard=lambda wc, input: os.path.dirname(input.scp),
        out=lambda wc, output: os.path.dirname(output.scp),
    log:
        "results/logs/02_feats/{corpus}/{split}/{feat}/shard.{n}.log",
    benchmark:
        "results/benchmarks/02_feats/{corpus}/{split}/{feat}/shard.{n}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=120,
    conda:
        "../environment.yml"
    shell:
        "$PYSTN_PY $PYSTN_STEPS/make_feats.py --preset-json {params.preset:q} --threads {threads}"
        " {params.shard} {params.out} {wildcards.n} > {log} 2>&1"


rule feats_merge:
    input:
        scps=expand("results/02_feats/{{corpus}}/{{split}}/{{feat}}/feats.{n}.scp", n=range(1, FEATS_NJ + 1)),
        arks=expand("results/02_feats/{{corpus}}/{{split}}/{{feat}}/feats.{n}.ark", n=range(1, FEATS_NJ + 1)),
    output:
        scp="results/02_feats/{corpus}/{split}/{feat}/feats.scp",
        conf="results/02_feats/{corpus}/{split}/{feat}/conf.json",
    wildcard_constraints:
        feat=feats_names(cmvn=False),
    params:
        preset=feats_preset_json,
        out=lambda wc, output: os.path.dirname(output.scp),
    log:
        "results/logs/02_feats/{corpus}/{split}/{feat}/merge.log",
    benchmark:
        "results/benchmarks/02_feats/{corpus}/{split}/{feat}/merge.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    conda:
        "../environment.yml"
    shell:
        "$PYSTN_PY $PYSTN_STEPS/merge_feats.py --preset-json {params.preset:q} --name {wildcards.feat}"
        " {params.out} {input.scps} > {log} 2>&1"


rule feats_cmvn:
    input:
        feats=feats_cmvn_source,
        spk2utt="results/01_data/{corpus}/{split}/spk2utt",
    output:
        ark="results/02_feats/{corpus}/{split}/{feat}/feats.ark",
        scp="results/02_feats/{corpus}/{split}/{feat}/feats.scp",
        conf="results/02_feats/{corpus}/{split}/{feat}/conf.json",
    wildcard_constraints:
        feat=feats_names(cmvn=True),
    params:
        preset=feats_preset_json,
        out=lambda wc, output: os.path.dirname(output.scp),
    log:
        "results/logs/02_feats/{corpus}/{split}/{feat}/cmvn.log",
    benchmark:
        "results/benchmarks/02_feats/{corpus}/{split}/{feat}/cmvn.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    conda:
        "../environment.yml"
    shell:
        "$PYSTN_PY $PYSTN_STEPS/compute_cmvn.py --preset-json {params.preset:q} --name {wildcards.feat}"
        " {input.feats} {input.spk2utt} {params.out} > {log} 2>&1"


rule feats:
    input:
        expand(
            "results/02_feats/{corpus}/{split}/{feat}/feats.scp",
            corpus=config["data"]["corpora"],
            split=W.SPLITS,
            feat=config["feats"]["extract"],
        ),
