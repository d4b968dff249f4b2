"""Tiny end-to-end run of the stn track through the real Snakefile (slow)."""

import json

import pytest
import yaml

from tests.stn.conftest import TINY_MODEL
from tests.workflow.conftest import ROOT, TINY_CORPUS, copy_recipe, snakemake


def tiny_stn() -> dict:
    stn = yaml.safe_load((ROOT / "config.yaml").read_text())["stn"]
    stn["variants"] = ["stn"]  # β-VAEVC is covered by the unit tests; fewer jobs keep this test short
    # the default's recipe additions (content_norm, warps, norm_mel) at a tiny size
    stn["model"] = dict(TINY_MODEL, n_mels=80, prosody=True, harmonic=True, content_norm=stn["model"]["content_norm"])
    stn["data"] = dict(stn["data"], batch_size=4, seg_min=24, seg_max=32, spk_frames=32, chunk=16,
                       spk_source="other")
    stn["train"] = dict(stn["train"], steps=6, log_every=2, ckpt_every=4, warmup_steps=0)
    stn["loss"] = dict(stn["loss"], ramp_steps=4)
    stn["sweep"] = {"C_p": [1.5, 3.0], "init": "stn", "overrides": {"train": {"steps": 3}, "loss": {"ramp_steps": 0}},
                    "replicates": 2}
    stn["convert"] = dict(stn["convert"], per_speaker=2)
    stn["vocoder"] = dict(stn["vocoder"], kind="world")  # the harmonic source's F0 path; Griffin-Lim is unit-tested
    stn["score"] = dict(stn["score"], recognizer_dir=None, xvector_dir=None, pocketsphinx_per_speaker=0,
                        n_samples=1)
    return stn


@pytest.mark.slow
def test_stn_track_end_to_end(tmp_path):
    work = copy_recipe(tmp_path / "recipe")
    feats = yaml.safe_load((ROOT / "config.yaml").read_text())["feats"]
    feats["extract"] = ["stn_mel", "stn_f0", "stn_energy"]
    corpus = dict(TINY_CORPUS, emotions=["neutral"], split={"train": 3, "val": 1, "test": 2})
    cfg = {"tracks": ["stn"], "nj": 1, "device": "cpu", "data": {"corpora": ["synth"], "allow_piped_wav_scp": False},
           "corpora": {"synth": corpus}, "feats": feats, "stn": tiny_stn()}
    (work / "tiny.yaml").write_text(json.dumps(cfg))
    snakemake(work, "--rerun-incomplete", "stn")  # an option first: --configfile takes several values
    out = work / "results/07_score/stn"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["train.stn.steps"] == 6 and metrics["train.cp1.5.steps"] == 3
    sweep_run = json.loads((work / "results/05_train/stn/cp1.5/config.json").read_text())
    assert sweep_run["train"]["extra"]["init"] == "results/05_train/stn/stn/final.pt"  # a fine-tune of the main model
    replicate = json.loads((work / "results/05_train/stn/cp1.5r1/config.json").read_text())
    assert replicate["train"]["seed"] == sweep_run["train"]["seed"] + 1 and metrics["train.cp3.0r1.steps"] == 3
    assert 0 <= metrics["table3.cp1.5.eer_Z_f_sd"] <= 1 and " ± " in (out / "table3.md").read_text()
    assert 0 <= metrics["table3.cp3.eer_Z_s"] <= 1 and 0 <= metrics["table3.main.eer_Z_c"] <= 1
    assert -1 <= metrics["stn.speaker.cs_xref_resemblyzer"] <= 1
    assert 0 <= metrics["stn.speaker.closer_to_xref_spectrum"] <= 1 and metrics["stn.copy.spec_dist_x"] >= 0
    assert metrics["stn.global_swap.n"] == 4 and 0 <= metrics["stn.global_swap.closer_to_xref_resemblyzer"] <= 1
    assert 0 <= metrics["table3.main.eer_Y_f"] <= 1 and "eer_Z_s" in json.loads((out / "eer/stn.json").read_text())
    assert "(0.7453)" in (out / "table1.md").read_text() and "check.recon_per_minus_source_per" not in metrics
    assert (out / "fig2.png").stat().st_size > 10000 and (out / "losses.png").is_file()
    samples = json.loads((out / "samples.json").read_text())
    assert samples and all((work / s["wav"]).is_file() or (work / s["wav"]).resolve().is_file() for s in samples)
    conv = work / "results/06_convert/stn/stn"
    assert len((conv / "speaker" / "wav.scp").read_text().splitlines()) == 4
    # each X' is another speaker's reading of X's sentence (convert.reference: parallel)
    texts = dict(line.split(" ", 1) for line in (work / "results/01_data/synth/test/text").read_text().splitlines())
    refs = dict(line.split() for line in (conv / "speaker" / "refs").read_text().splitlines())
    assert all(texts[r] == texts[u] and r.split("_")[0] != u.split("_")[0] for u, r in refs.items())
    assert json.loads((conv / "conversions.json").read_text())["parallel_references"] == 4
    assert (conv / "emphasis" / "spans").is_file() and (conv / "question" / "codes.scp").is_file()
    # a re-run has nothing to do
    again = snakemake(work, "-n", "stn")
    assert "Nothing to be done" in again.stdout + again.stderr
