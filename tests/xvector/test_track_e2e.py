"""Tiny end-to-end run of the xvector track through Snakemake, plus the recogniser / embedder APIs."""

import json

import numpy as np
import pytest
import yaml

from tests.workflow.conftest import ROOT, copy_recipe, snakemake

TINY = {
    "tracks": ["xvector"],
    "nj": 1,  # one shard per split: half the jobs (each job pays the torch import)
    "device": "cpu",
    "data": {"corpora": ["synth"], "allow_piped_wav_scp": False},
    "corpora": {"synth": {"preparer": "synth", "n_speakers": 8, "n_sentences": 4, "emotions": ["neutral", "happy"],
                          "sample_rate": 22050, "split": {"train": 5, "val": 1, "test": 2}}},
    "xvector": {
        "bnf": {"dnn1": {"batch_size": 4, "model": {"hidden": 32, "n_hidden": 7, "bn_dim": 16, "context": 2,
                                                     "stride": 1, "cmn": True},
                         "train": {"steps": 15, "lr": 0.003, "log_every": 5, "ckpt_every": 10, "val_every": 15}},
                "dnn2": {"batch_size": 4, "model": {"hidden": 32, "n_hidden": 6, "bn_dim": 16, "context": 1,
                                                     "stride": 2, "cmn": False},
                         "train": {"steps": 10, "lr": 0.003, "log_every": 5, "ckpt_every": 10, "val_every": 10}}},
        "embedding": {"batch_size": 8, "segment": [40, 60], "cmn_window": 0,
                      "model": {"channels": 16, "pool_channels": 32, "emb_dim": 16},
                      "train": {"steps": 10, "lr": 0.003, "log_every": 5, "ckpt_every": 10}},
        "ivector": {"ubm_components": 4, "dim": 5, "ubm_iters": 3, "tv_iters": 2, "max_frames": 5000},
        "trials": {"n_per_class": 40},
    },
}


@pytest.mark.slow
def test_xvector_track_end_to_end(tmp_path, monkeypatch):
    work = copy_recipe(tmp_path / "recipe")
    feats = yaml.safe_load((ROOT / "config.yaml").read_text())["feats"]
    feats["extract"] = ["mfcc", "fbank", "vad"]
    (work / "tiny.yaml").write_text(json.dumps(dict(TINY, feats=feats)))
    snakemake(work, "--rerun-incomplete", "xvector")
    out = work / "results" / "07_score" / "xvector"
    m = json.loads((out / "metrics.json").read_text())
    for system in ("ivector_mfcc", "ivector_bnf", "xvector_mfcc", "xvector_mfcc_aug", "xvector_bnf",
                   "xvector_sbnf", "xvector_mtsbnf"):
        assert 0 <= m[f"eer_{system}"] <= 100 and m[f"mindcf01_{system}"] >= 0
    assert m["n_trials"] == 80 and m["n_target_trials"] == 40
    assert np.isfinite(m["per_recogniser"]) and m["per_recogniser"] >= 0  # insertions can push PER past 100
    table = (out / "table1.md").read_text()
    assert "UBM/i-vector" in table and "3.05" in table and "NIST SRE10" in table
    assert "MT-SBNF" in (out / "fig3.md").read_text()
    for png in ("fig3.png", "det.png"):
        assert (out / png).stat().st_size > 1000
    # the APIs other tracks use, on the trained tiny systems
    monkeypatch.chdir(work)  # training dirs name each other relative to the workflow directory
    from pystn.models.xvector import XvectorExtractor
    from pystn.recognizer import PhoneRecognizer, phones_of_text

    wav = next((work / "results" / "01_data" / "synth" / "wavs").rglob("*.wav"))
    for dnn in ("bnf", "sbnf"):  # the stacked DNN recognises through its chain (fbank -> BNF -> phones)
        rec = PhoneRecognizer.load(f"results/03_bnf/synth/{dnn}/model")
        assert rec.feature_preset["kind"] == "fbank" and len(rec.chain) == (dnn == "sbnf")
        assert rec.front_end["targets"] == "frames" and rec.front_end["decode_smooth"] == 3
        assert all(p in rec.inventory for p in rec.recognize_wav(wav))
    assert phones_of_text("HELLO") == ["h", "ə", "l", "oʊ"]
    for system in ("xvector_mfcc", "xvector_sbnf"):
        ext = XvectorExtractor.load(f"results/04_xvector/{system}/synth/model")
        e = ext.embed_wav(wav)
        assert e.shape == (16,) and np.isfinite(e).all()
    again = snakemake(work, "-n", "xvector")
    assert "Nothing to be done" in again.stdout + again.stderr
