"""SpeechTripleNet training data and the glue to the shared loop (:mod:`pystn.training`).

Data: the train split's ``stn_mel`` [T, 80], ``stn_f0`` (log-F0, unvoiced 0) [T] and
``stn_energy`` [T], with equal frame counts. The joint prosody target of Eq. 2 is
quantised per whole utterance (:func:`pystn.prosody.joint_target`) before cropping.

A batch (:func:`make_batch_fn`) holds B random crops of one common length drawn
in [seg_min, seg_max] frames (1-2 s in the paper: 86-172 frames), so no padding
is needed, plus the speaker-encoder input: a separate crop of ``spk_frames``
frames of the same utterance whose ``chunk``-frame chunks are shuffled (authors'
code: 256 frames, 32-frame chunks), which keeps timbre but breaks the content order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from pystn.batching import load_feats, random_crop, sample_keys, step_rng
from pystn.io import DataError
from pystn.losses import stn_loss
from pystn.models.stn import build_stn
from pystn.prosody import joint_target
from pystn.models.stn_variants import variant_config, variant_names  # noqa: F401  (re-exported)
from pystn.training import train, train_config


def load_training_data(mel_scp: str, f0_scp: str | None, energy_scp: str | None, min_frames: int
                       ) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """utt -> (mel [T, M] float32, joint target [T] int64 or None without f0/energy scps)."""
    mels = load_feats(mel_scp, min_frames=min_frames)
    if f0_scp is None or energy_scp is None:
        return {u: (m, None) for u, m in mels.items()}
    f0s, ens = load_feats(f0_scp, list(mels)), load_feats(energy_scp, list(mels))
    out = {}
    for utt, mel in mels.items():
        f0, en = f0s[utt].reshape(-1), ens[utt].reshape(-1)
        if not (len(mel) == len(f0) == len(en)):
            raise DataError(f"utterance '{utt}': stn_mel has {len(mel)} frames, stn_f0 {len(f0)}, "
                            f"stn_energy {len(en)} ({mel_scp}, {f0_scp}, {energy_scp})")
        out[utt] = (mel, joint_target(f0, en))
    return out


def shuffle_chunks(mat: np.ndarray, chunk: int, rng: np.random.Generator) -> np.ndarray:
    """Rows of ``mat`` [T, D] regrouped as T // chunk chunks in random order (the tail is dropped)."""
    n = max(1, len(mat) // chunk)
    parts = [mat[i * chunk:(i + 1) * chunk] for i in range(n)]
    return np.concatenate([parts[i] for i in rng.permutation(n)])


def make_batch_fn(data: dict, batch_size: int, seg_min: int, seg_max: int, spk_frames: int, chunk: int,
                  seed: int):
    """``batch_fn(step) -> {'mel': [B,T,M], 'spk': [B,T',M], 'target': [B,T] long (if any)}``."""
    keys = sorted(data)

    def batch_fn(step: int) -> dict:
        rng = step_rng(seed, step)
        utts = sample_keys(keys, batch_size, rng)
        shortest = min(len(data[u][0]) for u in utts)
        seg = min(int(rng.integers(seg_min, seg_max + 1)), shortest)
        spk_len = max(chunk, min(spk_frames, shortest) // chunk * chunk)
        mels, spks, targets = [], [], []
        for u in utts:
            mel, target = data[u]
            win = random_crop(len(mel), seg, rng)
            mels.append(mel[win])
            if target is not None:
                targets.append(target[win])
            spks.append(shuffle_chunks(mel[random_crop(len(mel), spk_len, rng)], chunk, rng))
        batch = {"mel": torch.from_numpy(np.stack(mels)), "spk": torch.from_numpy(np.stack(spks))}
        if targets:
            batch["target"] = torch.from_numpy(np.stack(targets))
        return batch

    return batch_fn


def make_loss_fn(loss_cfg: dict):
    def loss_fn(model, batch: dict, step: int):
        out = model(batch["mel"], spk_mel=batch["spk"])
        return stn_loss(out, batch["mel"], batch.get("target"), step, loss_cfg)

    return loss_fn


def train_stn(mel_scp: str, f0_scp: str | None, energy_scp: str | None, out_dir: str | Path, cfg: dict,
              progress: bool = True) -> torch.nn.Module:
    """Train SpeechTripleNet / β-VAEVC from a variant config.

    ``cfg``: {'model': build_stn kwargs, 'loss': stn_loss weights, 'data': {batch_size,
    seg_min, seg_max, spk_frames, chunk}, 'train': TrainConfig dict}. β-VAEVC
    (``model.prosody: false``) needs no f0 / energy.
    """
    prosody = cfg["model"].get("prosody", True)
    tcfg = train_config(cfg["train"], [mel_scp] + ([f0_scp, energy_scp] if prosody else []),
                        extra={"loss": cfg["loss"], "data": cfg["data"]})
    d = cfg["data"]
    data = load_training_data(mel_scp, f0_scp if prosody else None, energy_scp if prosody else None,
                              min_frames=max(d["seg_min"], 16))
    batch_fn = make_batch_fn(data, d["batch_size"], d["seg_min"], d["seg_max"], d["spk_frames"],
                             d["chunk"], tcfg.seed)
    torch.manual_seed(tcfg.seed)
    model = build_stn(cfg["model"])
    return train(model, batch_fn, make_loss_fn(cfg["loss"]), out_dir, tcfg, model_config=cfg["model"],
                 progress=progress)


