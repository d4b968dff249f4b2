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
