"""The report page: tables, figures and audio of each track, corpus summary and stage times."""

import json

import numpy as np
import pytest
import soundfile as sf

from pystn.plots import plot_train_log
from pystn.report import make_report, stage_times


def fake_results(root):
    score = root / "07_score" / "demo"
    score.mkdir(parents=True)
    (score / "table1.md").write_text("| system | EER (%) |\n|---|---|\n| x | 3.5 |\n")
    (score / "table1.csv").write_text("system,EER (%)\nx,3.5\n")
    (score / "metrics.json").write_text(json.dumps({"eer_x": 0.035}))
    plot_train_log([{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.0}], ["loss"], score / "losses.png")
    samples = []
    for k, condition in enumerate(("recon", "speaker")):  # one utterance's conditions: the same file name
        wav = root / "06_convert" / "demo" / condition / "a.wav"
        wav.parent.mkdir(parents=True)
        sf.write(wav, np.full(1600, 0.1 * k, dtype=np.float32), 16000)
        samples.append({"label": f"a {condition}", "wav": str(wav), "group": "vc"})
    (score / "samples.json").write_text(json.dumps(samples))
    data = root / "01_data" / "synth" / "train"
    data.mkdir(parents=True)
    (data / "utt2dur").write_text("s1_a 1.5\ns1_b 2.5\ns2_a 3.0\n")
    (data / "utt2spk").write_text("s1_a s1\ns1_b s1\ns2_a s2\n")
    for stage, secs in (("02_feats/synth/x", "12.5"), ("05_train/demo", "30.0"), ("05_train/other", "10.0")):
        bench = root / "benchmarks" / f"{stage}.tsv"
        bench.parent.mkdir(parents=True, exist_ok=True)
        bench.write_text(f"s\th:m:s\tmax_rss\tmax_vms\n{secs}\t0:00:12\t512.5\t900\n")


def test_stage_times_sum_jobs_per_stage(tmp_path):
    fake_results(tmp_path)
    times = {t["stage"]: t for t in stage_times(tmp_path / "benchmarks")}
    assert times["05_train"]["jobs"] == 2 and times["05_train"]["seconds"] == pytest.approx(40.0)
    assert times["02_feats"]["max_rss_mb"] == pytest.approx(512.5)


def test_report_has_tables_figures_audio_and_times(tmp_path):
    fake_results(tmp_path)
    out = tmp_path / "08_report"
    make_report(tmp_path, ["demo"], out, {"corpora": ["synth"]})
    md = (out / "report.md").read_text()
    assert "| x | 3.5 |" in md and "Stage times (sum of job wall times: 52.5 s)" in md
    assert "| synth | train | 2 | 3 | 0.002 |" in md
    page = (out / "index.html").read_text()
    assert "<td>3.5</td>" in page and "<audio controls" in page
    assert (out / "figures" / "demo" / "losses.png").stat().st_size > 1000
    copies = [out / "audio" / "demo" / "vc" / name for name in ("000_a_recon.wav", "001_a_speaker.wav")]
    assert [sf.read(c)[0][0] for c in copies] == pytest.approx([0.0, 0.1], abs=1e-4)  # each its own audio
    assert "src='audio/demo/vc/000_a_recon.wav'" in page and "src='audio/demo/vc/001_a_speaker.wav'" in page


def test_missing_track_scores_are_named(tmp_path):
    fake_results(tmp_path)
    with pytest.raises(FileNotFoundError, match="07_score/absent"):
        make_report(tmp_path, ["absent"], tmp_path / "08_report", {})
