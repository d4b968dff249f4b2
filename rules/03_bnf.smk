# Stage 03: phonetic bottleneck features (paper Sec. 3, Fig. 1) for the xvector track.
#   bnf_phones    espeak-ng phones of every split's text      -> results/03_bnf/<corpus>/phones/
#   bnf_train     one bottleneck DNN (bnf | sbnf | mtsbnf)      -> results/03_bnf/<corpus>/<name>/model/
#   bnf_shard     its bottleneck outputs on one input shard     -> results/03_bnf/<corpus>/<name>/<split>/feats.<n>.*
#   bnf_merge     the shard scps                                -> results/03_bnf/<corpus>/<name>/<split>/feats.scp
# bnf is the first DNN (fbank input); sbnf and mtsbnf are stacked DNNs on bnf (mtsbnf adds
# the speaker task). Each is a phone recogniser; xvector.bnf.recogniser names the project's. The DNNs train on the
# transcribed corpus xvector.bnf.corpus (default: the speaker corpus) and extract for any corpus.

BNF_NAMES = ("bnf", "sbnf", "mtsbnf")
BNF_NJ = config["nj"]


rule bnf_phones:
    input:
        # text is written by data_prepare beside utt2spk (not a declared output: corpora without text)
        data=expand("results/01_data/{{corpus}}/{split}/utt2spk", split=W.SPLITS),
    output:
        inventory="results/03_bnf/{corpus}/phones/phones.txt",
        texts=expand("results/03_bnf/{{corpus}}/phones/{split}/text", split=W.SPLITS),
    params:
        voice=lambda wc: bnf_cfg()["voice"],
        data_root=lambda wc: f"results/01_data/{wc.corpus}",
        out=lambda wc, output: os.path.dirname(output.inventory),
    log:
        "results/logs/03_bnf/{corpus}/phones.log",
    benchmark:
        "results/benchmarks/03_bnf/{corpus}/phones.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=30,
    conda:
        "../environment.yml"
    shell:
        "$PYSTN_PY $PYSTN_STEPS/make_phones.py --voice {params.voice} {params.data_root} {params.out} > {log} 2>&1"


rule bnf_train:
    input:
        train=lambda wc: os.path.join(bnf_input_dir(wc.corpus, "train", wc.name), "feats.scp"),
        val=lambda wc: os.path.join(bnf_input_dir(wc.corpus, "val", wc.name), "feats.scp"),
        phones="results/03_bnf/{corpus}/phones/phones.txt",
        utt2spk="results/01_data/{corpus}/train/utt2spk",
    output:
        model="results/03_bnf/{corpus}/{name}/model/final.pt",
        front_end="results/03_bnf/{corpus}/{name}/model/front_end.json",
    wildcard_constraints:
        name="|".join(BNF_NAMES),
    params:
        settings=bnf_train_params,
        upstream=bnf_upstream,
        phones=lambda wc, input: os.path.dirname(input.phones),
        data=lambda wc, input: os.path.dirname(input.utt2spk),
        out=lambda wc, output: os.path.dirname(output.model),
    log:
        "results/logs/03_bnf/{corpus}/{name}/train.log",
    benchmark:
        "results/benchmarks/03_bnf/{corpus}/{name}/train.tsv"
    threads: 1
    resources:
        gpu=W.gpu_resources(config),
        mem_mb=3000,
        runtime=240,
    conda:
        "../environment.yml"
    shell:
        "$PYSTN_PY $PYSTN_STEPS/train_bnf.py --params {params.settings:q} --threads {threads}"
        " --upstream {params.upstream} -- {input.train} {input.val} {params.phones} {params.data}"
        " {params.out} > {log} 2>&1"


rule bnf_shard:
    input:
        model=lambda wc: f"{bnf_model_dir(bnf_asr_corpus(), wc.name)}/final.pt",
        scp=lambda wc: f"{bnf_input_dir(wc.corpus, wc.split, wc.name)}/feats.{wc.n}.scp",
    output:
        ark="results/03_bnf/{corpus}/{name}/{split}/feats.{n}.ark",
        scp="results/03_bnf/{corpus}/{name}/{split}/feats.{n}.scp",
    wildcard_constraints:
        name="|".join(BNF_NAMES),
        split="|".join(W.SPLITS),
        n=r"\d+",
    params:
        model=lambda wc, input: os.path.dirname(input.model),
    log:
        "results/logs/03_bnf/{corpus}/{name}/{split}/shard.{n}.log",
    benchmark:
        "results/benchmarks/03_bnf/{corpus}/{name}/{split}/shard.{n}.tsv"
    threads: 1
    resources:
        gpu=W.gpu_resources(config),
        mem_mb=2000,
        runtime=60,
    conda:
        "../environment.yml"
    shell:
        "$PYSTN_PY $PYSTN_STEPS/extract_bnf.py --threads {threads} {params.model} {input.scp}"
        " {output.ark} {output.scp} > {log} 2>&1"


rule bnf_merge:
    input:
        scps=expand("results/03_bnf/{{corpus}}/{{name}}/{{split}}/feats.{n}.scp", n=range(1, BNF_NJ + 1)),
    output:
        scp="results/03_bnf/{corpus}/{name}/{split}/feats.scp",
    wildcard_constraints:
        name="|".join(BNF_NAMES),
        split="|".join(W.SPLITS),
    log:
        "results/logs/03_bnf/{corpus}/{name}/{split}/merge.log",
    benchmark:
        "results/benchmarks/03_bnf/{corpus}/{name}/{split}/merge.tsv"
    threads: 1
    resources:
        mem_mb=200,
        runtime=5,
    conda:
        "../environment.yml"
    shell:
        "(cat {input.scps} | LC_ALL=C sort > {output.scp}.tmp && mv {output.scp}.tmp {output.scp}) > {log} 2>&1"
