import json

import numpy as np
import pytest
import torch

from pystn.io import DataError, write_ark_scp
from pystn.models import stn_train as ST
from pystn.training import load_model, read_train_log
from pystn.models.stn import build_stn
from pystn.models.stn_variants import sweep_c_p, sweep_init, sweep_names, variant_seed, with_mel_preset
from tests.stn.conftest import TINY_MEL_PRESET, TINY_MODEL, tiny_variant


def _scps(d):
    return [str(d / f / "feats.scp") for f in ("stn_mel", "stn_f0", "stn_energy")]


def test_training_data_targets_and_frame_check(tiny_feats, tmp_path):
    data = ST.load_training_data(*_scps(tiny_feats), min_frames=16)
    mel, target, log_f0, contours = data["spk001_neutral_000"]
    assert target.shape == log_f0.shape == (len(mel),) and target.max() < 64
    assert contours.shape == (len(mel), 3) and np.array_equal(contours[:, 1], log_f0 > 0)
    assert np.isclose(log_f0[0], np.log(120))
    assert (target[np.arange(len(mel)) % 10 >= 6] // 8 == 0).all()  # unvoiced -> pitch bin 0
    bad = tmp_path / "bad"
    bad.mkdir()
    write_ark_scp(bad / "f.ark", bad / "f.scp", [(u, np.ones((3, 1), np.float32)) for u in data])
    with pytest.raises(DataError, match="stn_f0 3"):
        ST.load_training_data(_scps(tiny_feats)[0], str(bad / "f.scp"), _scps(tiny_feats)[2], 16)


def test_batch_fn_deterministic_and_chunk_shuffle(tiny_feats):
    data = ST.load_training_data(*_scps(tiny_feats), min_frames=16)
    fn = ST.make_batch_fn(data, 3, 16, 24, 32, 8, seed=5)
    a, b = fn(7), fn(7)
    assert torch.equal(a["mel"], b["mel"]) and torch.equal(a["spk"], b["spk"])
    assert 16 <= a["mel"].shape[1] <= 24 and a["spk"].shape[1] == 32 and a["target"].shape == a["mel"].shape[:2]
    mat = np.arange(32, dtype=np.float32)[:, None]
    shuf = ST.shuffle_chunks(mat, 8, np.random.default_rng(1))
    chunks = sorted(int(c[0, 0]) for c in np.split(shuf, 4))
    assert chunks == [0, 8, 16, 24] and sorted(shuf[:, 0].tolist()) == list(range(32))
    for c in np.split(shuf, 4):  # frames inside a chunk stay in order
        assert (np.diff(c[:, 0]) == 1).all()
    assert a["f0_range"].shape == (3, 2)


def test_speaker_input_from_another_utterance_of_the_speaker(tiny_feats):
    data = ST.load_training_data(*_scps(tiny_feats), min_frames=16)
    utt2spk = dict(line.split() for line in (tiny_feats / "utt2spk").read_text().splitlines())
    fn = ST.make_batch_fn(data, 6, 16, 16, 32, 32, seed=1, utt2spk=utt2spk)  # one chunk: no shuffle
    for step in range(3):
        batch = fn(step)
        for mel, spk in zip(batch["mel"].numpy(), batch["spk"].numpy()):
            utt = next(u for u, (m, *_) in data.items() if any(np.array_equal(mel, m[i:i + 16])
                                                                   for i in range(len(m) - 15)))
            src = next(u for u, (m, *_) in data.items() if any(np.array_equal(spk, m[i:i + 32])
                                                                  for i in range(len(m) - 31)))
            assert src != utt and utt2spk[src] == utt2spk[utt]


class Killed(Exception):
    pass


def test_resume_gives_the_same_weights(tiny_feats, tmp_path, monkeypatch):
    cfg = tiny_variant(steps=4)
    full = ST.train_stn(*_scps(tiny_feats), tmp_path / "full", cfg, progress=False)
    real_make_batch_fn, served = ST.make_batch_fn, []

    def killed_at_step_3(*args, **kw):
        inner = real_make_batch_fn(*args, **kw)

        def batch_fn(step):
            if step == 3:
                raise Killed
            served.append(step)
            return inner(step)
        return batch_fn

    monkeypatch.setattr(ST, "make_batch_fn", killed_at_step_3)
    with pytest.raises(Killed):  # newest checkpoint: step 2
        ST.train_stn(*_scps(tiny_feats), tmp_path / "resumed", cfg, progress=False)
    monkeypatch.setattr(ST, "make_batch_fn", real_make_batch_fn)
    resumed = ST.train_stn(*_scps(tiny_feats), tmp_path / "resumed", cfg, progress=False)
    assert served == [0, 1, 2]
    for (k, v), (_, w) in zip(full.state_dict().items(), resumed.state_dict().items()):
        assert torch.allclose(v, w, atol=1e-6), k
    log = read_train_log(tmp_path / "resumed")
    assert [r["step"] for r in log] == [1, 2, 3, 4]
    assert {"nll", "kl_c", "kl_s", "kl_p", "cap_c", "cap_s", "cap_p", "ssl_p"} <= set(log[-1])
    assert log[0]["cap_p"] == 0.0 and log[-1]["cap_p"] == 1.5  # ramp: C_p * 3 / 4 at step index 3
    conf = json.loads((tmp_path / "full" / "config.json").read_text())
    assert conf["train"]["extra"]["loss"]["C_p"] == 2.0
    m = load_model(tmp_path / "full" / "final.pt", build_stn)
    assert m.has_prosody


def test_harmonic_source_and_other_utterance_speaker_input_train(tiny_feats, tmp_path):
    cfg = tiny_variant(steps=2)
    cfg["model"] = with_mel_preset(dict(cfg["model"], harmonic=True), TINY_MEL_PRESET)
    cfg["model"]["prosody_contours"] = True  # and the recipe's other additions
    cfg["data"]["spk_source"] = "other"
    with pytest.raises(DataError, match="utt2spk"):
        ST.train_stn(*_scps(tiny_feats), tmp_path / "m", cfg, progress=False)
    m = ST.train_stn(*_scps(tiny_feats), tmp_path / "m", cfg, progress=False,
                     utt2spk_path=str(tiny_feats / "utt2spk"))
    assert m.harmonic and m.reads_contours
    assert "f0_range_l1" in read_train_log(tmp_path / "m")[-1]
    batch = ST.make_batch_fn(ST.load_training_data(*_scps(tiny_feats), min_frames=16), 3, 16, 24, 32, 8, 0)(0)
    assert batch["f0_range"].shape == (3, 2) and (batch["f0_range"][:, 0] <= batch["f0_range"][:, 1]).all()
    assert batch["contours"].shape == (3, batch["mel"].shape[1], 3)


def test_pseudo_speaker_warp_moves_spectrum_and_register_together():
    channels = np.arange(40)
    bump = np.exp(-0.5 * ((channels - 20) / 2.0) ** 2).astype(np.float32)  # a "formant" at channel 20
    log_f0 = np.where(np.arange(60) % 3 > 0, np.log(150.0), 0.0).astype(np.float32)
    data = {f"u{k}": (np.tile(bump, (60, 1)), np.zeros(60, np.int64), log_f0, np.zeros((60, 3), np.float32)) for k in range(4)}
    plain = ST.make_batch_fn(data, 4, 32, 32, 32, 32, seed=3)(0)
    warped = ST.make_batch_fn(data, 4, 32, 32, 32, 32, seed=3, warp=0.2)(0)
    np.testing.assert_allclose(plain["f0_range"].numpy(), np.log(150.0), rtol=1e-6)
    assert (plain["mel"][:, 0].argmax(-1) == 20).all()

    def centroid(mel):  # [B, T, M] -> [B]
        return (mel[:, 0] * torch.arange(40)).sum(-1) / mel[:, 0].sum(-1)

    freq_scale = centroid(warped["mel"]) / 20  # the bump moved to 20 / alpha
    register_scale = torch.exp(warped["f0_range"][:, 0] - np.log(150.0))
    torch.testing.assert_close(register_scale, freq_scale, rtol=0.02, atol=0)
    torch.testing.assert_close(centroid(warped["spk"]), centroid(warped["mel"]))  # the same voice
    assert (freq_scale - 1).abs().max() > 0.02 and (freq_scale - 1).abs().max() < 0.26
    assert torch.equal(warped["target"], plain["target"])  # Eq. 2's bins are relative: unchanged


def test_content_warp_gives_the_encoders_another_voice_than_the_target():
    """content_warp: 'content' is the same crop warped by an independent beta on top of the
    pseudo-speaker alpha; the target, the speaker crop and the register stay those of alpha."""
    channels = np.arange(40)
    bump = np.exp(-0.5 * ((channels - 20) / 2.0) ** 2).astype(np.float32)
    log_f0 = np.where(np.arange(60) % 3 > 0, np.log(150.0), 0.0).astype(np.float32)
    data = {f"u{k}": (np.tile(bump, (60, 1)), np.zeros(60, np.int64), log_f0, np.zeros((60, 3), np.float32)) for k in range(8)}
    assert "content" not in ST.make_batch_fn(data, 8, 32, 32, 32, 32, seed=3)(0)
    pseudo = ST.make_batch_fn(data, 8, 32, 32, 32, 32, seed=3, warp=0.2)(0)
    both = ST.make_batch_fn(data, 8, 32, 32, 32, 32, seed=3, warp=0.2, content_warp=0.25)(0)
    for key in ("mel", "spk", "f0_range", "target"):  # what the decoder must render is unchanged
        torch.testing.assert_close(both[key], pseudo[key])

    def peak(mel):  # [B, T, M] -> sub-channel position of the bump [B]
        return (mel[:, 0] * torch.arange(40)).sum(-1) / mel[:, 0].sum(-1)

    beta = peak(both["mel"]) / peak(both["content"])  # content bump at 20 / (alpha beta)
    assert ((beta > 0.74) & (beta < 1.26)).all() and (beta - 1).abs().max() > 0.05
    assert beta.std() > 0.02  # one beta per example, not one per batch


def test_prosody_warp_gives_the_prosody_encoder_its_own_warp_of_the_crop():
    channels = np.arange(40)
    bump = np.exp(-0.5 * ((channels - 20) / 2.0) ** 2).astype(np.float32)
    log_f0 = np.where(np.arange(60) % 3 > 0, np.log(150.0), 0.0).astype(np.float32)
    data = {f"u{k}": (np.tile(bump, (60, 1)) * (k + 1), np.zeros(60, np.int64), log_f0, np.zeros((60, 3), np.float32)) for k in range(4)}
    plain = ST.make_batch_fn(data, 4, 32, 32, 32, 32, seed=3)(0)
    assert "prosody" not in plain  # prosody_warp None: the prosody encoder reads 'mel' as it is
    assert "prosody" not in ST.make_batch_fn(data, 4, 32, 32, 32, 32, seed=3, prosody_warp=0.0)(0)
    warped = ST.make_batch_fn(data, 4, 32, 32, 32, 32, seed=3, warp=0.2, content_warp=0.1)(0)
    both = ST.make_batch_fn(data, 4, 32, 32, 32, 32, seed=3, warp=0.2, content_warp=0.1, prosody_warp=0.0)(0)
    own = ST.make_batch_fn(data, 4, 32, 32, 32, 32, seed=3, warp=0.2, content_warp=0.1, prosody_warp=0.3)(0)
    for key in ("mel", "spk", "f0_range", "target", "content"):  # the same draws: only a key is added
        torch.testing.assert_close(both[key], warped[key])
        torch.testing.assert_close(own[key], warped[key])
    torch.testing.assert_close(both["prosody"], plain["mel"])  # the same crops, not warped
    assert not torch.allclose(both["prosody"], both["mel"])
    peak = lambda x: x.mean(1).argmax(-1)  # noqa: E731  the bump's channel per example
    assert (peak(own["prosody"]) != peak(plain["mel"])).any() and (peak(own["prosody"]) != peak(own["mel"])).any()
    def prosody_crops(share: float) -> torch.Tensor:  # 10 steps' prosody crops [40, T, M]
        fn = ST.make_batch_fn(data, 4, 32, 32, 32, 32, seed=3, warp=0.2, prosody_warp=0.3, prosody_warp_share=share)
        return torch.cat([fn(step)["prosody"] for step in range(10)])

    torch.testing.assert_close(prosody_crops(0.0)[:4], plain["mel"])  # a share of none: every crop as it is
    as_is = [torch.equal(a, b) for a, b in zip(prosody_crops(0.5), prosody_crops(0.0))]
    assert 5 <= sum(as_is) <= 35  # about half of the 40 crops warped
    alone = ST.make_batch_fn(data, 4, 32, 32, 32, 32, seed=3, prosody_warp=0.3)(0)  # no pseudo-speakers
    torch.testing.assert_close(alone["mel"], plain["mel"])
    assert (peak(alone["prosody"]) != peak(plain["mel"])).any()

    class Spy(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner, self.seen = inner, None

        def forward(self, x):
            self.seen = x
            return self.inner(x)

    model = build_stn(dict(TINY_MODEL, n_mels=40))
    model.prosody = Spy(model.prosody)
    model(both["mel"], prosody_mel=both["prosody"])
    torch.testing.assert_close(model.prosody.seen, both["prosody"])


def test_voiced_range_is_the_quantisation_range():
    from pystn.prosody import quantize_pitch, voiced_range

    log_f0 = np.array([0.0, 4.7, 5.1, 0.0, 4.5], dtype=np.float32)
    assert voiced_range(log_f0).tolist() == pytest.approx([4.5, 5.1])
    assert quantize_pitch(log_f0)[[4, 2]].tolist() == [1, 7]  # its ends are the lowest and highest voiced bins
    assert voiced_range(np.zeros(4, dtype=np.float32)).tolist() == [0.0, 0.0]


def test_norm_mel_stores_the_training_statistics(tiny_feats, tmp_path):
    cfg = tiny_variant(steps=2)
    cfg["data"]["norm_mel"] = True
    ST.train_stn(*_scps(tiny_feats), tmp_path / "n", cfg, progress=False)
    m = load_model(tmp_path / "n" / "final.pt", build_stn)
    data = ST.load_training_data(*_scps(tiny_feats), min_frames=16)
    frames = np.concatenate([mel for mel, *_ in data.values()])
    assert np.allclose(m.mel_mean.numpy(), frames.mean(0), atol=1e-4)
    assert np.allclose(m.mel_std.numpy(), frames.std(0), atol=1e-4)


def test_beta_vaevc_trains_without_prosody_features(tiny_feats, tmp_path):
    m = ST.train_stn(_scps(tiny_feats)[0], None, None, tmp_path / "b", tiny_variant(2, prosody=False),
                     progress=False)
    assert not m.has_prosody
    assert "kl_p" not in read_train_log(tmp_path / "b")[-1]


def test_sweep_fine_tune_starts_from_the_given_model(tiny_feats, tmp_path):
    ST.train_stn(*_scps(tiny_feats), tmp_path / "main", tiny_variant(2), progress=False)
    main = load_model(tmp_path / "main" / "final.pt", build_stn)
    frozen = tiny_variant(2)
    frozen["train"]["lr"] = 0.0  # AdamW at lr 0 leaves the weights where they started
    tuned = ST.train_stn(*_scps(tiny_feats), tmp_path / "cp", frozen, progress=False,
                         init_path=str(tmp_path / "main" / "final.pt"))
    for (name, p), q in zip(main.named_parameters(), tuned.parameters()):
        assert torch.equal(p, q), name
    fresh = ST.train_stn(*_scps(tiny_feats), tmp_path / "fresh", frozen, progress=False)
    assert not all(torch.equal(p, q) for p, q in zip(main.parameters(), fresh.parameters()))
    assert json.loads((tmp_path / "cp" / "config.json").read_text())["train"]["extra"]["init"].endswith("final.pt")
    redrawn = ST.train_stn(*_scps(tiny_feats), tmp_path / "cp_reinit", dict(frozen, reinit=["prosody"]),
                           progress=False, init_path=str(tmp_path / "main" / "final.pt"))
    for (name, p), q in zip(main.named_parameters(), redrawn.parameters()):
        assert torch.equal(p, q) != name.startswith("prosody."), name  # the prosody encoder alone starts afresh
    contours = dict(frozen, reinit=["prosody"], model=dict(frozen["model"], prosody_contours=True))
    redrawn = ST.train_stn(*_scps(tiny_feats), tmp_path / "cp_contours", contours, progress=False,
                           init_path=str(tmp_path / "main" / "final.pt"))  # a fresh encoder may read other inputs
    assert redrawn.reads_contours
    with pytest.raises(KeyError, match=r"cannot start \['prosdy'\] afresh: the model's modules are \[.*'prosody'"):
        ST.train_stn(*_scps(tiny_feats), tmp_path / "bad_reinit", dict(frozen, reinit=["prosdy"]),
                     progress=False, init_path=str(tmp_path / "main" / "final.pt"))
    other = tiny_variant(2)
    other["model"] = dict(other["model"], d_content=6)
    with pytest.raises(DataError, match=r"main/final.pt' was trained with another model config \(keys \['d_content'\]"):
        ST.train_stn(*_scps(tiny_feats), tmp_path / "bad", other, progress=False,
                     init_path=str(tmp_path / "main" / "final.pt"))
    with pytest.raises(FileNotFoundError, match="training input '.*nothing.pt' does not exist"):
        ST.train_stn(*_scps(tiny_feats), tmp_path / "bad2", frozen, progress=False,
                     init_path=str(tmp_path / "nothing.pt"))


def test_variant_config_resolution():
    stn = {"variants": ["stn", "beta_vaevc"], "model": {"d_model": 8}, "loss": {"C_p": 3.0, "gamma_c": 1},
           "data": {}, "train": {"steps": 100},
           "beta_vaevc": {"model": {"prosody": False}, "loss": {"kind": "beta"}},
           "sweep": {"C_p": [1.5, 2.0], "overrides": {"train": {"steps": 10}}}}
    assert ST.variant_names(stn) == ["stn", "beta_vaevc", "cp1.5", "cp2.0"]
    cp = ST.variant_config(stn, "cp1.5", device="cpu")
    assert cp["loss"] == {"C_p": 1.5, "gamma_c": 1} and cp["train"] == {"steps": 10, "device": "cpu"}
    assert ST.variant_config(stn, "beta_vaevc")["model"] == {"d_model": 8, "prosody": False}
    assert ST.variant_config(stn, "beta_vaevc")["loss"] == {"kind": "beta"}  # no capacities of the main model
    prosodic = dict(stn, data={"warp": 0.2, "prosody_warp": 0.4, "prosody_warp_share": 0.5})
    assert ST.variant_config(prosodic, "beta_vaevc")["data"] == {"warp": 0.2}  # no prosody encoder, no rerun
    with pytest.raises(KeyError, match="not in stn.sweep.C_p"):
        ST.variant_config(stn, "cp9")
    with pytest.raises(KeyError, match=r"replicate 1 is beyond stn.sweep.replicates 1"):
        ST.variant_config(stn, "cp1.5r1")
    seeded = dict(stn, sweep=dict(stn["sweep"], replicates=3))
    assert sweep_names(seeded) == ["cp1.5", "cp1.5r1", "cp1.5r2", "cp2.0", "cp2.0r1", "cp2.0r2"]
    assert ST.variant_config(seeded, "cp2.0r2")["loss"]["C_p"] == 2.0
    assert [sweep_c_p(v) for v in ("cp2.0r2", "cp3", "stn", "cpx", "cp2.0r0")] == [2.0, 3.0, None, None, None]
    assert [variant_seed(v, 7) for v in ("stn", "beta_vaevc", "cp1.5", "cp1.5r2")] == [7, 7, 7, 9]
    assert [sweep_init(stn, v) for v in ("stn", "cp1.5")] == [None, None]
    fine_tune = dict(stn, sweep={"C_p": [1.5], "init": "stn", "overrides": None})
    assert [sweep_init(fine_tune, v) for v in ("stn", "beta_vaevc", "cp1.5")] == [None, None, "stn"]
    assert ST.variant_config(fine_tune, "cp1.5")["train"] == {"steps": 100}  # overrides null: none
    assert "reinit" not in ST.variant_config(fine_tune, "cp1.5")
    redrawn = dict(fine_tune, sweep=dict(fine_tune["sweep"], reinit=["prosody"]))
    assert ST.variant_config(redrawn, "cp1.5")["reinit"] == ["prosody"]
    assert "reinit" not in ST.variant_config(redrawn, "stn")
    with pytest.raises(KeyError, match="sweep.init must be 'stn'"):
        sweep_init(dict(stn, sweep={"C_p": [1.5], "init": "beta_vaevc"}), "cp1.5")
    harmonic = dict(stn, model={"d_model": 8, "harmonic": {"sigma_hz": 10.0}},
                    beta_vaevc={"model": {"prosody": False, "harmonic": False}})
    got = ST.variant_config(harmonic, "cp2.0", mel_preset=dict(TINY_MEL_PRESET, n_mels=12, hop_length=64))
    assert got["model"]["harmonic"] == dict(TINY_MEL_PRESET, sigma_hz=10.0)
    assert ST.variant_config(harmonic, "beta_vaevc", mel_preset=TINY_MEL_PRESET)["model"]["harmonic"] is False


def test_paper_config_keeps_its_own_sweep_through_snakemakes_merge():
    """--configfile configs/vctk.yaml is deep-merged onto config.yaml: the paper's sweep must not
    inherit the CPU default's fine-tune settings."""
    from tests.workflow.conftest import merged_config

    config = merged_config("configs/vctk.yaml")
    assert sweep_init(config["stn"], "cp1.5") is None
    cp = ST.variant_config(config["stn"], "cp1.5")
    assert cp["train"]["steps"] == 200000 and cp["loss"]["ramp_steps"] == 20000 and cp["loss"]["C_p"] == 1.5
    assert cp["model"] == config["stn"]["model"] and cp["data"] == config["stn"]["data"]
