"""The DAG on a tiny corpus: single-stage targets, no-op reruns, and reruns driven by dependencies."""

import os

import kaldiio
import numpy as np
import pytest

from tests.workflow.conftest import planned_jobs, snakemake, tiny_feats, write_tiny_config

pytestmark = pytest.mark.slow


def test_complete_run_leaves_nothing_to_do(tiny_recipe):
    assert planned_jobs(snakemake(tiny_recipe, "-n", "feats")) == {}
    for split in ("train", "val", "test"):
        scp = tiny_recipe / f"results/02_feats/synth/{split}/stn_mel/feats.scp"
        mats = dict(kaldiio.load_scp(str(scp)))
        assert mats and all(m.shape[1] == 80 and np.isfinite(m).all() for m in mats.values())
        assert (scp.parent / "conf.json").is_file()
    assert (tiny_recipe / "results/logs/02_feats/synth/train/stn_mel/shard.1.log").is_file()
    assert list((tiny_recipe / "results/benchmarks/02_feats").rglob("*.tsv"))


def test_touching_one_wav_reruns_only_its_shards(tiny_recipe):
    shard = tiny_recipe / "results/01_data/synth/train/split2/1/wav.scp"
    wav = tiny_recipe / shard.read_text().split()[1]
    os.utime(wav)  # now: newer than every output, and not in the future (snakemake rejects future inputs)
    jobs = planned_jobs(snakemake(tiny_recipe, "-n", "feats"))
    # one shard of each audio preset of the train split, their merges, and the CMVN that reads mfcc
    assert jobs == {"feats_shard": 3, "feats_merge": 3, "feats_cmvn": 1, "feats": 1}
    snakemake(tiny_recipe, "feats")
    assert planned_jobs(snakemake(tiny_recipe, "-n", "feats")) == {}


def test_changing_one_preset_setting_reruns_exactly_that_feature(tiny_recipe):
    snakemake(tiny_recipe, "feats")  # start from an up-to-date tree whatever the earlier tests left
    feats = tiny_feats()
    feats["presets"]["stn_mel"]["fmax"] = 7600
    write_tiny_config(tiny_recipe, feats=feats)
    try:
        jobs = planned_jobs(snakemake(tiny_recipe, "-n", "feats"))
        assert jobs == {"feats_shard": 6, "feats_merge": 3, "feats": 1}  # 3 splits x nj=2, stn_mel only
    finally:
        write_tiny_config(tiny_recipe, feats=tiny_feats())


def test_single_stage_targets(tiny_recipe):
    assert planned_jobs(snakemake(tiny_recipe, "-n", "data")) == {}
    proc = snakemake(tiny_recipe, "-n", "feats", "--forcerun", "data_prepare")
    assert planned_jobs(proc)["data_prepare"] == 1
