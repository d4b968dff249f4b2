# Input functions and look-ups used by the stage rule files (kept out of them, as
# `snakemake --lint` asks). Paths themselves live in pystn/workflow.py (W).
import re


# --- 01_data ---
def data_corpora():
    return list(config["data"]["corpora"])


# --- 02_feats ---
FEATS_NJ = config["nj"]


def feats_names(cmvn):
    """Preset names whose kind is (cmvn=True) or is not (cmvn=False) 'cmvn', as a regex."""
    presets = config["feats"]["presets"]
    names = [k for k, p in presets.items() if (p.get("kind") == "cmvn") == cmvn]
    return "|".join(re.escape(k) for k in sorted(names)) or "(?!)"


def feats_preset_json(wc):
    return json.dumps(W.preset(config, wc.feat), sort_keys=True)


def feats_shard_wavs(wc):
    """The shard's audio files, so that a changed wav re-runs its shard only.

    data_split is a checkpoint: the list is read once the shard's wav.scp exists,
    so the first run already records the full input set (no second pass).
    """
    checkpoints.data_split.get(corpus=wc.corpus, split=wc.split)
    return W.wavs_of_shard(os.path.join(W.shard_dir(wc.corpus, wc.split, FEATS_NJ, int(wc.n)), "wav.scp"))


def feats_cmvn_source(wc):
    source = W.preset(config, wc.feat)["source"]
    W.preset(config, source)  # a missing source preset fails here, naming it
    return W.feats_scp(wc.corpus, wc.split, source)


# --- 08_report ---
def report_inputs():
    """Every enabled track's final outputs plus the feature stage (the report shows corpus stats)."""
    missing = [t for t in config["tracks"] if t not in TRACK_TARGETS]
    if missing:
        raise ValueError(
            f"config 'tracks' lists {missing}, which have no rules in this version of pystn; "
            f"available: {sorted(TRACK_TARGETS)}"
        )
    return [path for t in config["tracks"] for path in TRACK_TARGETS[t]] + rules.feats.input


# --- 03_bnf ---
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
                       "batch_size": d["batch_size"], "warp": d.get("warp", 0.0),
                       "targets": bnf_cfg().get("targets", "auto"), "smooth_frames": bnf_cfg().get("smooth_frames", 1),
                       "speaker_weight": bnf_cfg()["mt_speaker_weight"] if wc.name == "mtsbnf" else 0.0,
                       "base_preset": W.preset(config, bnf_cfg()["base_feat"])}, sort_keys=True)


def bnf_upstream(wc):
    return "" if wc.name == "bnf" else bnf_model_dir(wc.corpus, "bnf")


# --- 04_xvector ---
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


def xv_augmented(fe):
    """Whether x-vector front end ``fe`` trains on the augmented copies too (MFCC: only mfcc_aug)."""
    return fe == "mfcc_aug" or (fe in ("bnf", "sbnf", "mtsbnf") and xv_cfg()["augment"].get("bnf_systems", False))


def xv_aug_feats(corpus, fe):
    """The augmented copies' frame features of front end ``fe`` (MFCC, or the BNF chain's output)."""
    return f"{xv_aug_dir(corpus)}/{'mfcc' if fe == 'mfcc_aug' else fe}/feats.scp"


def xv_train_inputs(wc):
    c = wc.corpus
    ins = {"feats": xv_feats(c, "train", wc.fe), "vad": xv_vad(c, "train"),
           "utt2spk": W.data_file(c, "train", "utt2spk")}
    if wc.fe in ("bnf", "sbnf", "mtsbnf"):
        ins["dnns"] = [f"{d}/final.pt" for d in xv_front_end(c, wc.fe)["bnf_chain"]]
    if xv_augmented(wc.fe):
        ins["aug"] = f"{xv_aug_dir(c)}/utt2spk"
        ins["aug_feats"] = xv_aug_feats(c, wc.fe)
    return ins


def xv_sources(wc, input):
    src = f"--source {input.feats} {input.vad} {input.utt2spk}"
    if xv_augmented(wc.fe):
        src += f" --source {input.aug_feats} {xv_aug_dir(wc.corpus)}/vad/feats.scp {input.aug}"
    return src


def xv_aug_bnf_inputs(wc):
    """The augmented base features and the DNN chain of BNF front end ``fe``."""
    return {"base": f"{xv_aug_dir(wc.corpus)}/{bnf_cfg()['base_feat']}/feats.scp",
            "dnns": [f"{d}/final.pt" for d in xv_front_end(wc.corpus, wc.fe)["bnf_chain"]]}


def xv_train_params(wc):
    e = xv_cfg()["embedding"]
    return json.dumps({"model": e["model"], "train": dict(e["train"], seed=config["seed"], device=config["device"]),
                       "batch_size": e["batch_size"], "segment": e["segment"],
                       "front_end": xv_front_end(wc.corpus, wc.fe)}, sort_keys=True)


def xv_aug_params(wc):
    a = xv_cfg()["augment"]
    presets = {"mfcc": W.preset(config, "mfcc"), "vad": W.preset(config, xv_cfg()["vad_feat"]),
               bnf_cfg()["base_feat"]: W.preset(config, bnf_cfg()["base_feat"])}  # the BNF chain's input
    return json.dumps(dict(a, seed=config["seed"], presets=presets,
                           sample_rate=W.preset(config, "mfcc")["sample_rate"]), sort_keys=True)


def xv_ivector_params(fe):
    """i-vector settings; BNF (80-d) keeps every dimension and gets no deltas (paper Sec. 4)."""
    p = dict(xv_cfg()["ivector"], seed=config["seed"])
    if fe == "bnf":
        p.update(n_ceps=None, deltas=False)
    return p


# --- 05_train ---
from pystn.models.stn_variants import sweep_init as stn_sweep_init, sweep_names as stn_sweep_names, \
    sweep_replicates as stn_sweep_replicates, variant_config as stn_variant_config, \
    variant_names as stn_variant_names, variant_seed as stn_variant_seed


def stn_feats(split, feat):
    return W.feats_scp(config["stn"]["corpus"], split, feat)


def stn_train_inputs(wc):
    """Training features and utt2spk; a sweep model that fine-tunes (stn.sweep.init) also needs
    the model it starts from."""
    inputs = {"mel": stn_feats("train", "stn_mel"), "f0": stn_feats("train", "stn_f0"),
              "energy": stn_feats("train", "stn_energy"),
              "utt2spk": W.data_file(config["stn"]["corpus"], "train", "utt2spk")}
    init = stn_sweep_init(config["stn"], wc.variant)
    if init:
        inputs["init"] = STN_MODEL.format(variant=init)
    return inputs


def stn_train_params(wc):
    cfg = stn_variant_config(config["stn"], wc.variant, config["device"], W.preset(config, "stn_mel"))
    cfg["train"] = dict(cfg["train"], seed=stn_variant_seed(wc.variant, config["seed"]), precision=config["precision"])
    return json.dumps(cfg, sort_keys=True)


# --- 06_convert ---
def stn_convert_params(wc):
    return json.dumps({"convert": dict(config["stn"]["convert"], seed=config["seed"]),
                       "vocoder": config["stn"]["vocoder"],
                       "mel_preset": W.preset(config, "stn_mel")}, sort_keys=True)


# Table 1's reference column, written by stn_global_swap: the one place its path is spelt
STN_GLOBAL_SWAP_SCP = "results/06_convert/stn/global_swap/wav.scp"
# each STN variant's trained weights: written by stn_train, read by conversion, Table 3 and the report
STN_MODEL = "results/05_train/stn/{variant}/final.pt"
STN_SWEEP_WILDCARD = "cp[0-9.]+(r[0-9]+)?"   # a Table 3 sweep model, cp<C_p>[r<k>] (stn_variants.sweep_variant)


def stn_global_swap_params(wc):
    """The convert settings that draw Table 1's sources and references, and the WORLD preset."""
    draw = {k: config["stn"]["convert"][k] for k in ("per_speaker", "reference")}
    return json.dumps({"convert": dict(draw, seed=config["seed"]), "world": W.preset(config, "world")},
                      sort_keys=True)


# --- 07_score ---
import yaml as _stn_yaml


def xv_run_label():
    c = config["xvector"]
    n_train = W.corpus_config(config, XV_CORPUS).get("split", {}).get("train", "?")
    return (f"this run: {XV_CORPUS} corpus, {n_train} training speakers, "
            f"x-vector {c['embedding']['train']['steps']} steps, device {config['device']}")


def stn_xvector_backend():
    """The x-vector backend (mean, LDA, PLDA) whose LDA space Table 1's x-vector CS is taken in; None when
    the x-vector rows are off (no stn.score.xvector_dir) or taken on raw x-vectors."""
    s = config["stn"]["score"]
    return s.get("xvector_backend") if s.get("xvector_dir") else None


def stn_score_cfg(variant):
    s = config["stn"]["score"]
    return {"f0_preset": W.preset(config, "stn_f0"), "energy_preset": W.preset(config, "stn_energy"),
            "spectrum_preset": W.preset(config, "stn_mel"),
            "recognizer_dir": s.get("recognizer_dir"), "xvector_dir": s.get("xvector_dir"),
            "xvector_backend": stn_xvector_backend(),
            "resemblyzer": s.get("resemblyzer", True),
            "pocketsphinx_per_speaker": s.get("pocketsphinx_per_speaker", 0), "seed": config["seed"]}


def stn_scores_global_swap(variant):
    """Table 1's reference column is scored once, beside the main model's X_s."""
    return bool(config["stn"]["score"].get("global_swap")) and variant == "stn"


def stn_score_inputs(wc):
    s = config["stn"]["score"]
    extra = {}
    for key in ("recognizer_dir", "xvector_dir"):
        if s.get(key):
            extra[key] = os.path.join(s[key], "final.pt")
    if stn_xvector_backend():
        extra["xvector_backend"] = stn_xvector_backend()
    if stn_scores_global_swap(wc.variant):
        extra["global_swap"] = STN_GLOBAL_SWAP_SCP
    return extra


def stn_targets_yaml():
    path = config["stn"]["score"]["targets"]
    with open(os.path.join(workflow.basedir, path) if not os.path.isabs(path) else path) as f:
        return _stn_yaml.safe_load(f)


def stn_this_run():
    c, t = config["stn"], config["stn"]["train"]
    sweep = c["sweep"].get("overrides") or {}
    sweep_steps = sweep.get("train", {}).get("steps", t["steps"])
    sweep_settings = "".join(f", {block}.{key} {value}" for block in ("model", "data")
                             for key, value in sweep.get(block, {}).items())
    fresh = "".join(f", its {name} afresh" for name in c["sweep"].get("reinit") or [])
    seeds = stn_sweep_replicates(c)
    sweep_kind = (f"the main model fine-tuned {sweep_steps} steps per C_p{fresh}" if c["sweep"].get("init") else
                  f"sweep {sweep_steps}") + (f", {seeds} training seeds per C_p: mean ± sd" if seeds > 1 else "")
    beta_steps = stn_variant_config(c, "beta_vaevc", config["device"], W.preset(config, "stn_mel"))["train"]["steps"] \
        if c.get("beta_vaevc") else t["steps"]
    beta_kind = f"β-VAEVC {beta_steps} steps; " if beta_steps != t["steps"] else ""
    return (f"this run: {c['corpus']} corpus, {t['steps']} steps ({beta_kind}{sweep_kind}{sweep_settings}), "
            f"device {config['device']}, vocoder {c['vocoder']['kind']}"
            + (" (decoder with harmonic source)" if c["model"].get("harmonic") else ""))
