"""steps/make_feats.py, merge_feats.py and compute_cmvn.py on tiny shards built in tmp_path."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from pystn.features import extract_file
from pystn.io import DataError, read_json, write_kv

ROOT = Path(__file__).resolve().parents[1]
PRESETS = yaml.safe_load((ROOT / "config.yaml").read_text())["feats"]["presets"]

sys.path.insert(0, str(ROOT / "steps"))
import compute_cmvn as compute_cmvn_step  # noqa: E402
import make_feats  # noqa: E402
import merge_feats  # noqa: E402


@pytest.fixture(autouse=True)
def _keep_torch_threads(monkeypatch):
    """make_feats.main sets torch's threads and OMP_NUM_THREADS: undo it for later tests."""
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", str(torch.get_num_threads())))
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def make_shard(root: Path, n_utts: int, seconds: float, sr: int = 16000) -> Path:
    """A shard data dir with ``n_utts`` deterministic noisy harmonic wavs (2 speakers)."""
    rng = np.random.default_rng(0)
    wavs, utt2spk = {}, {}
    for i in range(n_utts):
        t = np.arange(int(seconds * sr)) / sr
        f0 = 100 + 10 * i
        x = sum(0.2 / k * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 6))
        x = (x + 0.01 * rng.standard_normal(len(t))).astype(np.float32)
        spk = f"spk{i % 2}"
        utt = f"{spk}_u{i:03d}"
        path = root / "wavs" / f"{utt}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, x, sr, subtype="PCM_16")
        wavs[utt], utt2spk[utt] = str(path), spk
    shard = root / "data" / "split1" / "1"
    write_kv(shard / "wav.scp", wavs)
    write_kv(shard / "utt2spk", utt2spk)
    return shard


def run_step(preset: dict, shard: Path, out: Path, n: int = 1) -> None:
    assert make_feats.main(["--preset-json", json.dumps(preset), str(shard), str(out), str(n)]) == 0


def test_make_feats_equals_direct_extract(tmp_path):
    shard = make_shard(tmp_path, 3, 0.5)
    out = tmp_path / "feats"
    for name in ("mfcc", "stn_f0"):
        run_step(PRESETS[name], shard, out / name)
        feats = kaldiio.load_scp(str(out / name / "feats.1.scp"))
        assert sorted(feats) == ["spk0_u000", "spk0_u002", "spk1_u001"]
        for utt, path in (line.split() for line in (shard / "wav.scp").read_text().splitlines()):
            ref = extract_file(PRESETS[name], path)
            if name == "mfcc":
                np.testing.assert_array_equal(feats[utt], ref)
            else:  # pysptk's RAPT depends slightly on earlier calls in the process (see prosody.py)
                np.testing.assert_array_equal(feats[utt] == 0, ref == 0)
                np.testing.assert_allclose(feats[utt], ref, atol=0.05)


def test_merge_writes_sorted_scp_and_conf(tmp_path):
    shard = make_shard(tmp_path, 4, 0.3)
    lines = (shard / "wav.scp").read_text().splitlines()
    for n, part in ((1, lines[2:]), (2, lines[:2])):
        d = tmp_path / f"s{n}"
        d.mkdir()
        (d / "wav.scp").write_text("".join(line + "\n" for line in part))
        run_step(PRESETS["stn_mel"], d, tmp_path / "out", n)
    scps = [str(tmp_path / "out" / f"feats.{n}.scp") for n in (1, 2)]
    assert merge_feats.main(["--preset-json", json.dumps(PRESETS["stn_mel"]), "--name", "stn_mel",
                             str(tmp_path / "out"), *scps]) == 0
    keys = [line.split()[0] for line in (tmp_path / "out" / "feats.scp").read_text().splitlines()]
    assert keys == ["spk0_u000", "spk0_u002", "spk1_u001", "spk1_u003"]
    conf = read_json(tmp_path / "out" / "conf.json")
    assert conf["preset"] == PRESETS["stn_mel"] and conf["num_utts"] == 4 and conf["dims"] == 80
    assert conf["frame_rate_hz"] == pytest.approx(22050 / 256)
    m = kaldiio.load_scp(str(tmp_path / "out" / "feats.scp"))["spk1_u003"]
    assert m.shape == (int(0.3 * 22050) // 256, 80)


def test_merge_rejects_duplicate_utterance(tmp_path):
    shard = make_shard(tmp_path, 2, 0.2)
    run_step(PRESETS["energy" if "energy" in PRESETS else "stn_energy"], shard, tmp_path / "o", 1)
    scp = str(tmp_path / "o" / "feats.1.scp")
    with pytest.raises(DataError, match="spk0_u000"):
        merge_feats.main(["--preset-json", "{}", "--name", "x", str(tmp_path / "o"), scp, scp])


def test_error_names_utterance_and_file_and_leaves_no_output(tmp_path):
    shard = make_shard(tmp_path, 2, 0.2)
    wavs = dict(line.split() for line in (shard / "wav.scp").read_text().splitlines())
    Path(wavs["spk1_u001"]).write_bytes(b"")
    with pytest.raises(DataError, match=r"spk1_u001.*spk1_u001\.wav"):
        run_step(PRESETS["mfcc"], shard, tmp_path / "o")
    assert not any(p.name.startswith("feats.") for p in (tmp_path / "o").iterdir())


def test_same_input_gives_byte_identical_arks(tmp_path):
    shard = make_shard(tmp_path, 3, 0.4)
    for name in ("stn_mel", "ser_fbank", "world"):
        run_step(PRESETS[name], shard, tmp_path / "a" / name)
        run_step(PRESETS[name], shard, tmp_path / "b" / name)
        a = (tmp_path / "a" / name / "feats.1.ark").read_bytes()
        assert a == (tmp_path / "b" / name / "feats.1.ark").read_bytes()


def test_compute_cmvn_step(tmp_path):
    shard = make_shard(tmp_path, 4, 0.3)
    run_step(PRESETS["mfcc"], shard, tmp_path / "mfcc")
    write_kv(tmp_path / "spk2utt", {"spk0": "spk0_u000 spk0_u002", "spk1": "spk1_u001 spk1_u003"})
    out = tmp_path / "cmvn"
    assert compute_cmvn_step.main(["--preset-json", json.dumps(PRESETS["cmvn_mfcc"]), "--name", "cmvn_mfcc",
                                   str(tmp_path / "mfcc" / "feats.1.scp"), str(tmp_path / "spk2utt"),
                                   str(out)]) == 0
    stats = kaldiio.load_scp(str(out / "feats.scp"))
    feats = kaldiio.load_scp(str(tmp_path / "mfcc" / "feats.1.scp"))
    x = np.vstack([feats["spk1_u001"], feats["spk1_u003"]]).astype(np.float64)
    np.testing.assert_allclose(stats["spk1"][0], np.append(x.sum(0), len(x)), rtol=1e-5)
    assert read_json(out / "conf.json")["num_speakers"] == 2


@pytest.mark.slow
def test_sigkill_leaves_no_complete_output_and_rerun_is_identical(tmp_path):
    shard = make_shard(tmp_path, 16, 1.0)
    preset = json.dumps(PRESETS["world"])
    cmd = [sys.executable, str(ROOT / "steps" / "make_feats.py"), "--preset-json", preset, str(shard)]
    killed = tmp_path / "killed"
    proc = subprocess.Popen(cmd + [str(killed), "1"], stderr=subprocess.DEVNULL, cwd=ROOT)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:  # wait for a partly written temp ark
        temps = list(killed.glob(".feats.1.ark.*.tmp")) if killed.exists() else []
        if temps and temps[0].stat().st_size > 40_000:  # ~2 of the 16 utterances written
            break
        time.sleep(0.05)
    assert proc.poll() is None, "make_feats finished before it could be killed: make the shard bigger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / "feats.1.scp").exists() and not (killed / "feats.1.ark").exists()
    subprocess.run(cmd + [str(killed), "1"], check=True, stderr=subprocess.DEVNULL, cwd=ROOT)
    run_step(PRESETS["world"], shard, tmp_path / "clean")
    clean = tmp_path / "clean"
    assert (killed / "feats.1.ark").read_bytes() == (clean / "feats.1.ark").read_bytes()
    scp = (killed / "feats.1.scp").read_text().replace(str(killed.resolve()), str(clean.resolve()))
    assert scp == (clean / "feats.1.scp").read_text()
    assert not list(killed.glob(".*.tmp"))  # the rerun removed the killed job's temporary
