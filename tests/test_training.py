"""The shared training loop: resume gives the same weights, logs, schedules, device choice."""

import json
import math
import os

import pytest
import torch

from pystn.device import resolve_device, use_amp
from pystn.training import (TrainConfig, WeightAverage, checkpoint_paths, files_fingerprint, load_model, lr_factor,
                            read_final, read_train_log, train)


def build(cfg):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(cfg["dim"], 8), torch.nn.Dropout(0.2), torch.nn.Linear(8, 1))


def batch_fn(step):
    g = torch.Generator().manual_seed(step)
    x = torch.randn(16, 4, generator=g)
    return x, x.sum(dim=1, keepdim=True)


def loss_fn(model, batch, step):
    x, y = batch
    mse = torch.nn.functional.mse_loss(model(x), y)
    return mse, {"mse": mse.item()}


def run(out, steps, batches=batch_fn, **kw):
    cfg = TrainConfig(steps=steps, lr=1e-2, log_every=5, ckpt_every=10, device="cpu", **kw)
    return train(build({"dim": 4}), batches, loss_fn, out, cfg, model_config={"dim": 4}, progress=False)


class Killed(Exception):
    pass


def recording_batches(seen: list, kill_at: int | None = None):
    """batch_fn that records the steps it serves and 'kills' the run at ``kill_at``."""
    def batches(step):
        if step == kill_at:
            raise Killed
        seen.append(step)
        return batch_fn(step)
    return batches


def test_training_learns_and_writes_contract_files(tmp_path):
    run(tmp_path, 200)
    log = read_train_log(tmp_path)
    assert log[-1]["step"] == 200 and log[-1]["mse"] < 0.5 * log[0]["mse"]
    assert json.loads((tmp_path / "config.json").read_text())["model"] == {"dim": 4}
    assert (tmp_path / "final.pt").is_file()
    assert len(checkpoint_paths(tmp_path)) == 2  # keep_checkpoints


def test_resume_matches_uninterrupted_run(tmp_path):
    full = run(tmp_path / "full", 40)
    with pytest.raises(Killed):
        run(tmp_path / "cut", 40, recording_batches([], kill_at=25))  # newest checkpoint: step 20
    assert not (tmp_path / "cut" / "final.pt").exists()
    with open(tmp_path / "cut" / "train_log.jsonl", "a") as f:
        f.write('{"step": 2')  # a line cut short by the kill
    served = []
    resumed = run(tmp_path / "cut", 40, recording_batches(served))
    assert served == list(range(20, 40))
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)
    steps = [r["step"] for r in read_train_log(tmp_path / "cut")]
    assert steps == sorted(set(steps)) and steps[-1] == 40


def test_weight_average_on_a_hand_computed_case():
    model = torch.nn.BatchNorm1d(1)  # a float weight and an integer step count
    avg = WeightAverage(model, decay=0.9)
    assert avg.decay_at(0) == pytest.approx(0.1) and avg.decay_at(1000) == 0.9
    with torch.no_grad():
        model.weight.fill_(3.0)  # θ̄ was 1: d = 0.1 at step 0 -> 0.1 * 1 + 0.9 * 3
        model.num_batches_tracked.fill_(7)
    avg.update(model, 0)
    assert avg.state_dict()["weight"].item() == pytest.approx(2.8)
    assert avg.state_dict()["num_batches_tracked"].item() == 7
    with torch.no_grad():
        model.weight.fill_(0.0)  # d = 2 / 11 at step 1
    avg.update(model, 1)
    assert avg.state_dict()["weight"].item() == pytest.approx(2.8 * 2 / 11)
    assert model.weight.item() == 0.0  # the trained weights are untouched


def test_final_holds_the_average_and_resume_keeps_it(tmp_path):
    plain = run(tmp_path / "plain", 40)
    full = run(tmp_path / "full", 40, ema_decay=0.95)
    assert not all(torch.equal(a, b) for a, b in zip(plain.state_dict().values(), full.state_dict().values()))
    saved = read_final(tmp_path / "full" / "final.pt")["model"]
    assert all(torch.equal(saved[k], v) for k, v in full.state_dict().items())
    with pytest.raises(Killed):
        run(tmp_path / "cut", 40, recording_batches([], kill_at=25), ema_decay=0.95)
    resumed = run(tmp_path / "cut", 40, ema_decay=0.95)
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)


def test_changed_inputs_or_settings_train_afresh(tmp_path, capsys):
    with pytest.raises(Killed):
        run(tmp_path / "a", 40, recording_batches([], kill_at=25), inputs="fingerprint-1")
    served = []
    run(tmp_path / "a", 40, recording_batches(served), inputs="fingerprint-2")  # an input file changed
    assert served == list(range(40)) and "training afresh" in capsys.readouterr().err
    with pytest.raises(Killed):
        run(tmp_path / "b", 40, recording_batches([], kill_at=25))
    served = []
    run(tmp_path / "b", 40, recording_batches(served), warmup_steps=5)  # a setting changed
    assert served == list(range(40))


def test_files_fingerprint_follows_content_and_mtime(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "feats.scp").write_text("a x.ark:1\n")
    (tmp_path / "text").write_text("a b\n")
    before = files_fingerprint([tmp_path / "d", tmp_path / "text"])
    assert files_fingerprint([tmp_path / "d", tmp_path / "text"]) == before
    os.utime(tmp_path / "d" / "feats.scp", ns=(1, 1))
    assert files_fingerprint([tmp_path / "d", tmp_path / "text"]) != before


def test_load_model_roundtrip_and_missing_file(tmp_path):
    model = run(tmp_path, 10)
    again = load_model(tmp_path / "final.pt", build)
    x = torch.randn(3, 4)
    assert torch.allclose(model(x), again(x))
    with pytest.raises(FileNotFoundError, match="run its training rule"):
        load_model(tmp_path / "nope.pt", build)


def test_warmup_and_cosine_schedule():
    cfg = TrainConfig(steps=100, warmup_steps=10, schedule="cosine")
    assert lr_factor(0, cfg) == pytest.approx(0.1)
    assert lr_factor(9, cfg) == pytest.approx(1.0)
    assert lr_factor(100, cfg) == pytest.approx(0.0, abs=1e-9)


def test_anneal_fraction_falls_linearly_over_the_last_steps():
    cfg = TrainConfig(steps=100, warmup_steps=10, anneal_fraction=0.2)
    assert [lr_factor(s, cfg) for s in (9, 79)] == pytest.approx([1.0, 1.0])
    assert [lr_factor(s, cfg) for s in (80, 90, 99)] == pytest.approx([1.0, 0.5, 0.05])
    cosine = TrainConfig(steps=100, schedule="cosine", anneal_fraction=0.5)
    assert lr_factor(75, cosine) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.75)) * 0.5)
    with pytest.raises(ValueError, match="train.anneal_fraction"):
        TrainConfig.from_dict({"anneal_fraction": 1.5})


def test_unknown_setting_is_named():
    with pytest.raises(KeyError, match="lrr"):
        TrainConfig.from_dict({"lrr": 1})


def test_device_auto_and_amp_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto").type == "cpu"
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        resolve_device("cuda")
    assert not use_amp("amp", torch.device("cpu"))
    assert use_amp("amp", torch.device("cuda"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto").type == "cuda"
