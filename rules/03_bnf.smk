# Stage 03: phonetic bottleneck features (paper Sec. 3, Fig. 1) for the xvector track.
#   bnf_phones    espeak-ng phones of every split's text      -> results/03_bnf/<corpus>/phones/
#   bnf_train     one bottleneck DNN (bnf | sbnf | mtsbnf)      -> results/03_bnf/<corpus>/<name>/model/
#   bnf_shard     its bottleneck outputs on one input shard     -> results/03_bnf/<corpus>/<name>/<split>/feats.<n>.*
#   bnf_merge     the shard scps                                -> results/03_bnf/<corpus>/<name>/<split>/feats.scp
# bnf is the first DNN (fbank input, also the project's phone recogniser); sbnf and
# mtsbnf are stacked DNNs on bnf (mtsbnf adds the speaker task). The DNNs train on the
# transcribed corpus xvector.bnf.corpus (default: the speaker corpus) and extract for any corpus.

BNF_NAMES = ("bnf", "sbnf", "mtsbnf")
BNF_NJ = config["nj"]


def bnf_cfg():
    return config["xvector"]["bnf"]


def bnf_dnn_cfg(name):
    return bnf_cfg()["dnn1" if name == "bnf" else "dnn2"]


def bnf_input_dir(corpus, split, name):
    """Where the DNN `name` reads its input: fbank features (first DNN) or the first DNN's BNF."""
    if name == "bnf":
        return W.feats_dir(corpus, split, bnf_cfg()["base_feat"])
    return W.stage_dir("03_bnf", corpus, "bnf", split)


def bnf_asr_corpus():
    """The corpus whose transcripts train the DNNs (xvector.bnf.corpus; default the speaker corpus)."""
    return bnf_cfg().get("corpus") or config["xvector"]["corpus"]


def bnf_model_dir(corpus, name):
    return W.stage_dir("03_bnf", corpus, name, "model")


def bnf_scp(corpus, split, name):
    return W.stage_dir("03_bnf", corpus, name, split, "feats.scp")


def bnf_train_params(wc):
    d = bnf_dnn_cfg(wc.name)
    return json.dumps({"model": d["model"], "train": dict(d["train"], seed=config["seed"], device=config["device"]),
                       "batch_size": d["batch_size"],
                       "speaker_weight": bnf_cfg()["mt_speaker_weight"] if wc.name == "mtsbnf" else 0.0,
                       "base_preset": W.preset(config, bnf_cfg()["base_feat"])}, sort_keys=True)


def bnf_upstream(wc):
    return "" if wc.name == "bnf" else bnf_model_dir(wc.corpus, "bnf")


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
    shell:
        "{PY} steps/make_phones.py --voice {params.voice} {params.data_root} {params.out} > {log} 2>&1"


rule bnf_train:
    input:
        train=lambda wc: bnf_input_dir(wc.corpus, "train", wc.name) + "/feats.scp",
        val=lambda wc: bnf_input_dir(wc.corpus, "val", wc.name) + "/feats.scp",
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
    shell:
        "{PY} steps/train_bnf.py --params {params.settings:q} --threads {threads}"
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
    shell:
        "{PY} steps/extract_bnf.py --threads {threads} {params.model} {input.scp}"
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
    shell:
        "(cat {input.scps} | LC_ALL=C sort > {output.scp}.tmp && mv {output.scp}.tmp {output.scp}) > {log} 2>&1"
