# Stage 04: speaker embeddings and verification scores (paper Sec. 4) for the xvector track.
#   xvector_trials    trials among the unseen test speakers       -> results/04_xvector/trials/<corpus>/trials
#   xvector_augment   augmented copies of the training set (feats) -> results/04_xvector/aug/<corpus>/
#   xvector_train     x-vector TDNN on one front end               -> results/04_xvector/xvector_<fe>/<corpus>/model/
#   xvector_extract   x-vectors of a split                         -> .../<split>/embeddings.scp
#   ivector_train     GMM-UBM + T matrix on MFCC or BNF             -> results/04_xvector/ivector_<fe>/<corpus>/model/
#   ivector_extract   i-vectors of a split                         -> .../<split>/embeddings.scp
#   xvector_backend   LDA -> length norm -> PLDA (+ cosine) scores  -> results/04_xvector/<system>/<corpus>/scores
# Systems: xvector_{mfcc,mfcc_aug,bnf,sbnf,mtsbnf}, ivector_{mfcc,bnf} (config xvector.systems).

XV_FRONT_ENDS = ("mfcc", "mfcc_aug", "bnf", "sbnf", "mtsbnf")
IV_FRONT_ENDS = ("mfcc", "bnf")
XV_SYSTEMS = [f"xvector_{f}" for f in XV_FRONT_ENDS] + [f"ivector_{f}" for f in IV_FRONT_ENDS]


def xv_cfg():
    return config["xvector"]


def xv_env(threads):
    return f"OMP_NUM_THREADS={threads} MKL_NUM_THREADS={threads} OPENBLAS_NUM_THREADS={threads}"


def xv_feats(corpus, split, fe):
    """The frame features a front end reads (MFCC from 02_feats, bottleneck features from 03_bnf)."""
    if fe in ("mfcc", "mfcc_aug"):
        return W.feats_scp(corpus, split, "mfcc")
    return bnf_scp(corpus, split, fe)


def xv_vad(corpus, split):
    return W.feats_scp(corpus, split, xv_cfg()["vad_feat"])


def xv_aug_dir(corpus):
    return W.stage_dir("04_xvector", "aug", corpus)


def xv_front_end(corpus, fe):
    """front_end.json of an x-vector system: how to compute its input from audio (for embed_wav)."""
    asr = bnf_asr_corpus()
    chain = [] if fe in ("mfcc", "mfcc_aug") else [bnf_model_dir(asr, "bnf")] + (
        [bnf_model_dir(asr, fe)] if fe != "bnf" else [])
    base = "mfcc" if not chain else bnf_cfg()["base_feat"]
    return {"base_preset": W.preset(config, base), "vad_preset": W.preset(config, xv_cfg()["vad_feat"]),
            "bnf_chain": chain, "cmn_window": xv_cfg()["embedding"]["cmn_window"]}


def xv_train_inputs(wc):
    c = wc.corpus
    ins = {"feats": xv_feats(c, "train", wc.fe), "vad": xv_vad(c, "train"),
           "utt2spk": W.data_file(c, "train", "utt2spk")}
    if wc.fe in ("bnf", "sbnf", "mtsbnf"):
        ins["dnns"] = [f"{d}/final.pt" for d in xv_front_end(c, wc.fe)["bnf_chain"]]
    if wc.fe == "mfcc_aug":
        ins["aug"] = f"{xv_aug_dir(c)}/utt2spk"
    return ins


def xv_sources(wc, input):
    src = f"--source {input.feats} {input.vad} {input.utt2spk}"
    if wc.fe == "mfcc_aug":
        aug = xv_aug_dir(wc.corpus)
        src += f" --source {aug}/mfcc/feats.scp {aug}/vad/feats.scp {aug}/utt2spk"
    return src


def xv_train_params(wc):
    e = xv_cfg()["embedding"]
    return json.dumps({"model": e["model"], "train": dict(e["train"], seed=config["seed"], device=config["device"]),
                       "batch_size": e["batch_size"], "segment": e["segment"],
                       "front_end": xv_front_end(wc.corpus, wc.fe)}, sort_keys=True)


def xv_aug_params(wc):
    a = xv_cfg()["augment"]
    presets = {"mfcc": W.preset(config, "mfcc"), "vad": W.preset(config, xv_cfg()["vad_feat"])}
    return json.dumps(dict(a, seed=config["seed"], presets=presets,
                           sample_rate=W.preset(config, "mfcc")["sample_rate"]), sort_keys=True)


def xv_ivector_params(fe):
    """i-vector settings; BNF (80-d) keeps every dimension and gets no deltas (paper Sec. 4)."""
    p = dict(xv_cfg()["ivector"], seed=config["seed"])
    if fe == "bnf":
        p.update(n_ceps=None, deltas=False)
    return p


rule xvector_trials:
    input:
        utt2spk="results/01_data/{corpus}/test/utt2spk",
    output:
        "results/04_xvector/trials/{corpus}/trials",
    params:
        n=lambda wc: xv_cfg()["trials"]["n_per_class"],
        seed=config["seed"],
        data=lambda wc, input: os.path.dirname(input.utt2spk),
    log:
        "results/logs/04_xvector/trials/{corpus}.log",
    benchmark:
        "results/benchmarks/04_xvector/trials/{corpus}.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    shell:
        "{PY} steps/make_trials.py --n-per-class {params.n} --seed {params.seed} {params.data} {output} > {log} 2>&1"


rule xvector_augment:
    input:
        wavs="results/01_data/{corpus}/train/wav.scp",
        utt2spk="results/01_data/{corpus}/train/utt2spk",
    output:
        utt2spk="results/04_xvector/aug/{corpus}/utt2spk",
        mfcc="results/04_xvector/aug/{corpus}/mfcc/feats.scp",
        vad="results/04_xvector/aug/{corpus}/vad/feats.scp",
    params:
        settings=xv_aug_params,
        data=lambda wc, input: os.path.dirname(input.wavs),
        out=lambda wc, output: os.path.dirname(output.utt2spk),
    log:
        "results/logs/04_xvector/aug/{corpus}.log",
    benchmark:
        "results/benchmarks/04_xvector/aug/{corpus}.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=120,
    shell:
        "{PY} steps/augment_data.py --params {params.settings:q} --threads {threads}"
        " {params.data} {params.out} > {log} 2>&1"


rule xvector_train:
    input:
        unpack(xv_train_inputs),
    output:
        model="results/04_xvector/xvector_{fe}/{corpus}/model/final.pt",
        front_end="results/04_xvector/xvector_{fe}/{corpus}/model/front_end.json",
    wildcard_constraints:
        fe="|".join(XV_FRONT_ENDS),
    params:
        settings=xv_train_params,
        sources=xv_sources,
        out=lambda wc, output: os.path.dirname(output.model),
    log:
        "results/logs/04_xvector/xvector_{fe}/{corpus}/train.log",
    benchmark:
        "results/benchmarks/04_xvector/xvector_{fe}/{corpus}/train.tsv"
    threads: config["xvector"]["threads"]
    resources:
        gpu=W.gpu_resources(config),
        mem_mb=4000,
        runtime=480,
    shell:
        "{PY} steps/train_xvector.py --params {params.settings:q} --threads {threads} {params.sources}"
        " {params.out} > {log} 2>&1"


rule xvector_extract:
    input:
        model="results/04_xvector/xvector_{fe}/{corpus}/model/final.pt",
        feats=lambda wc: xv_feats(wc.corpus, wc.split, wc.fe),
        vad=lambda wc: xv_vad(wc.corpus, wc.split),
    output:
        ark="results/04_xvector/xvector_{fe}/{corpus}/{split}/embeddings.ark",
        scp="results/04_xvector/xvector_{fe}/{corpus}/{split}/embeddings.scp",
    wildcard_constraints:
        fe="|".join(XV_FRONT_ENDS),
        split="|".join(W.SPLITS),
    params:
        model=lambda wc, input: os.path.dirname(input.model),
    log:
        "results/logs/04_xvector/xvector_{fe}/{corpus}/{split}/extract.log",
    benchmark:
        "results/benchmarks/04_xvector/xvector_{fe}/{corpus}/{split}/extract.tsv"
    threads: 1
    resources:
        gpu=W.gpu_resources(config),
        mem_mb=3000,
        runtime=120,
    shell:
        "{PY} steps/extract_xvector.py --threads {threads} {params.model} {input.feats} {input.vad}"
        " {output.ark} {output.scp} > {log} 2>&1"


rule ivector_train:
    input:
        feats=lambda wc: xv_feats(wc.corpus, "train", wc.fe),
        vad=lambda wc: xv_vad(wc.corpus, "train"),
    output:
        model="results/04_xvector/ivector_{fe}/{corpus}/model/ivector.npz",
        front_end="results/04_xvector/ivector_{fe}/{corpus}/model/front_end.json",
    wildcard_constraints:
        fe="|".join(IV_FRONT_ENDS),
    params:
        settings=lambda wc: json.dumps(xv_ivector_params(wc.fe), sort_keys=True),
        out=lambda wc, output: os.path.dirname(output.model),
        env=lambda wc, threads: xv_env(threads),
    log:
        "results/logs/04_xvector/ivector_{fe}/{corpus}/train.log",
    benchmark:
        "results/benchmarks/04_xvector/ivector_{fe}/{corpus}/train.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=240,
    shell:
        "{params.env} {PY} steps/ivector.py train --params {params.settings:q} --threads {threads}"
        " {input.feats} {input.vad} {params.out} > {log} 2>&1"


rule ivector_extract:
    input:
        model="results/04_xvector/ivector_{fe}/{corpus}/model/ivector.npz",
        feats=lambda wc: xv_feats(wc.corpus, wc.split, wc.fe),
        vad=lambda wc: xv_vad(wc.corpus, wc.split),
    output:
        ark="results/04_xvector/ivector_{fe}/{corpus}/{split}/embeddings.ark",
        scp="results/04_xvector/ivector_{fe}/{corpus}/{split}/embeddings.scp",
    wildcard_constraints:
        fe="|".join(IV_FRONT_ENDS),
        split="|".join(W.SPLITS),
    params:
        model=lambda wc, input: os.path.dirname(input.model),
        env=lambda wc, threads: xv_env(threads),
    log:
        "results/logs/04_xvector/ivector_{fe}/{corpus}/{split}/extract.log",
    benchmark:
        "results/benchmarks/04_xvector/ivector_{fe}/{corpus}/{split}/extract.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=60,
    shell:
        "{params.env} {PY} steps/ivector.py extract --threads {threads} {params.model} {input.feats}"
        " {input.vad} {output.ark} {output.scp} > {log} 2>&1"


rule xvector_backend:
    input:
        train="results/04_xvector/{system}/{corpus}/train/embeddings.scp",
        test="results/04_xvector/{system}/{corpus}/test/embeddings.scp",
        utt2spk="results/01_data/{corpus}/train/utt2spk",
        trials="results/04_xvector/trials/{corpus}/trials",
    output:
        scores="results/04_xvector/{system}/{corpus}/scores",
        backend="results/04_xvector/{system}/{corpus}/backend.npz",
    wildcard_constraints:
        system="|".join(XV_SYSTEMS),
    params:
        settings=lambda wc: json.dumps(xv_cfg()["backend"], sort_keys=True),
        out=lambda wc, output: os.path.dirname(output.scores),
        env=lambda wc, threads: xv_env(threads),
    log:
        "results/logs/04_xvector/{system}/{corpus}/backend.log",
    benchmark:
        "results/benchmarks/04_xvector/{system}/{corpus}/backend.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        "{params.env} {PY} steps/score_xvector.py backend --params {params.settings:q} {input.train}"
        " {input.utt2spk} {input.test} {input.trials} {params.out} > {log} 2>&1"
