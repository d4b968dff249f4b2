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
    conda:
        "../environment.yml"
    shell:
        "$PYSTN_PY $PYSTN_STEPS/make_trials.py --n-per-class {params.n} --seed {params.seed} {params.data} {output} > {log} 2>&1"


rule xvector_augment:
    input:
        wavs="results/01_data/{corpus}/train/wav.scp",
        utt2spk="results/01_data/{corpus}/train/utt2spk",
    output:
        utt2spk="results/04_xvector/aug/{corpus}/utt2spk",
        mfcc="results/04_xvector/aug/{corpus}/mfcc/feats.scp",
        vad="results/04_xvector/aug/{corpus}/vad/feats.scp",
        base=f"results/04_xvector/aug/{{corpus}}/{config['xvector']['bnf']['base_feat']}/feats.scp",
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
    conda:
        "../environment.yml"
    shell:
        "$PYSTN_PY $PYSTN_STEPS/augment_data.py --params {params.settings:q} --threads {threads}"
        " {params.data} {params.out} > {log} 2>&1"


rule xvector_aug_bnf:
    input:
        unpack(xv_aug_bnf_inputs),
    output:
        ark="results/04_xvector/aug/{corpus}/{fe}/feats.ark",
        scp="results/04_xvector/aug/{corpus}/{fe}/feats.scp",
    wildcard_constraints:
        fe="bnf|sbnf|mtsbnf",
    params:
        upstream=lambda wc, input: " ".join(os.path.dirname(d) for d in input.dnns[:-1]),
        model=lambda wc, input: os.path.dirname(input.dnns[-1]),
    log:
        "results/logs/04_xvector/aug/{corpus}/{fe}.log",
    benchmark:
        "results/benchmarks/04_xvector/aug/{corpus}/{fe}.tsv"
    threads: 1
    resources:
        gpu=W.gpu_resources(config),
        mem_mb=3000,
        runtime=60,
    conda:
        "../environment.yml"
    shell:
        "$PYSTN_PY $PYSTN_STEPS/extract_bnf.py --threads {threads} --upstream {params.upstream} --"
        " {params.model} {input.base} {output.ark} {output.scp} > {log} 2>&1"


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
    conda:
        "../environment.yml"
    shell:
        "$PYSTN_PY $PYSTN_STEPS/train_xvector.py --params {params.settings:q} --threads {threads} {params.sources}"
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
    conda:
        "../environment.yml"
    shell:
        "$PYSTN_PY $PYSTN_STEPS/extract_xvector.py --threads {threads} {params.model} {input.feats} {input.vad}"
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
    conda:
        "../environment.yml"
    shell:
        "{params.env} $PYSTN_PY $PYSTN_STEPS/ivector.py train --params {params.settings:q} --threads {threads}"
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
    conda:
        "../environment.yml"
    shell:
        "{params.env} $PYSTN_PY $PYSTN_STEPS/ivector.py extract --threads {threads} {params.model} {input.feats}"
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
    conda:
        "../environment.yml"
    shell:
        "{params.env} $PYSTN_PY $PYSTN_STEPS/score_xvector.py backend --params {params.settings:q} {input.train}"
        " {input.utt2spk} {input.test} {input.trials} {params.out} > {log} 2>&1"
