"""Fixtures for the stn tests: tiny feature arks built in tmp_path."""

import numpy as np
import pytest

from pystn.io import write_ark_scp, write_kv

TINY_MODEL = dict(n_mels=12, d_model=16, d_content=4, d_speaker=4, n_heads=2, n_attn=1, spk_channels=8,
                  dropout=0.0)


TINY_MEL_PRESET = dict(sample_rate=8000, n_fft=256, fmin=0, fmax=4000)  # 12 mel bins up to 4 kHz


def tiny_variant(steps=4, prosody=True):
    loss = ({"kind": "capacity", "gamma_c": 100, "gamma_s": 10, "gamma_p": 10, "gamma_fe": 1.0, "C_c": 1.0,
             "C_s": 5.0, "C_p": 2.0, "ramp_steps": 4} if prosody else {"kind": "beta", "beta_c": 0.1, "beta_s": 0.1})
    return {"model": dict(TINY_MODEL, prosody=prosody), "loss": loss,
            "data": {"batch_size": 3, "seg_min": 16, "seg_max": 24, "spk_frames": 32, "chunk": 8},
            "train": {"steps": steps, "lr": 1e-3, "optimizer": "adamw", "betas": [0.9, 0.98], "log_every": 1,
                      "ckpt_every": 2, "keep_checkpoints": 2, "seed": 3, "device": "cpu"}}


@pytest.fixture
def tiny_feats(tmp_path):
    """mel / f0 / energy arks of 6 utterances (3 speakers), plus utt2spk; returns the dir."""
    rng = np.random.default_rng(0)
    mels, f0s, ens, u2s = [], [], [], {}
    for s in range(3):
        for k in range(2):
            utt = f"spk{s:03d}_neutral_{k:03d}"
            t = 40 + 7 * k + 3 * s
            mel = rng.normal(-4 + s, 1.0, size=(t, 12)).astype(np.float32)
            f0 = np.where(np.arange(t) % 10 < 6, np.log(100 + 20 * s + np.arange(t)), 0).astype(np.float32)
            mels.append((utt, mel))
            f0s.append((utt, f0[:, None]))
            ens.append((utt, np.abs(mel).mean(1, keepdims=True)))
            u2s[utt] = f"spk{s:03d}"
    for name, items in (("stn_mel", mels), ("stn_f0", f0s), ("stn_energy", ens)):
        (tmp_path / name).mkdir()
        write_ark_scp(tmp_path / name / "feats.ark", tmp_path / name / "feats.scp", items)
    write_kv(tmp_path / "utt2spk", u2s)
    return tmp_path
