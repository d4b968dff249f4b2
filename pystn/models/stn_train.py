"""SpeechTripleNet training data and the glue to the shared loop (:mod:`pystn.training`).

Data: the train split's ``stn_mel`` [T, 80], ``stn_f0`` (log-F0, unvoiced 0) [T] and
``stn_energy`` [T], with equal frame counts. The joint prosody target of Eq. 2 is
quantised per whole utterance (:func:`pystn.prosody.joint_target`) before cropping.

A batch (:func:`make_batch_fn`) holds B random crops of one common length drawn
in [seg_min, seg_max] frames (1-2 s in the paper: 86-172 frames), so no padding
is needed, plus the speaker-encoder input: a separate crop of ``spk_frames``
frames whose ``chunk``-frame chunks are shuffled (authors' code: 256 frames,
32-frame chunks), which keeps timbre but breaks the content order. The crop
comes from the same utterance (``spk_source: same``, the authors' code) or from
another utterance of the same speaker (``other``): then Z_s can only hold what
a speaker's utterances share, not the utterance's emotion or pitch level, which
the synthetic corpus varies strongly (VCTK hardly does).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from pystn.batching import freq_warp, load_feats, random_crop, sample_keys, step_rng
from pystn.io import DataError
from pystn.losses import stn_loss
from pystn.models.stn import build_stn
from pystn.prosody import joint_target, prosody_contours, voiced_range
from pystn.models.stn_variants import PROSODY_ENCODER_KEYS, variant_config, variant_names  # noqa: F401  (re-exported)
from pystn.training import init_weights, train, train_config


def load_training_data(mel_scp: str, f0_scp: str | None, energy_scp: str | None, min_frames: int
                       ) -> dict[str, tuple[np.ndarray, np.ndarray | None, np.ndarray | None, np.ndarray | None]]:
    """utt -> (mel [T, M] float32, joint target [T] int64 (None without energy), log-F0 [T] float32
    (None without f0), prosody contours [T, 3] (:func:`pystn.prosody.prosody_contours`; None without
    both)); a frame-count mismatch is a DataError naming the utterance."""
    mels = load_feats(mel_scp, min_frames=min_frames)
    f0s = load_feats(f0_scp, list(mels)) if f0_scp else {}
    ens = load_feats(energy_scp, list(mels)) if energy_scp else {}
    out = {}
    for utt, mel in mels.items():
        f0 = f0s[utt].reshape(-1).astype(np.float32) if f0_scp else None
        en = ens[utt].reshape(-1) if energy_scp else None
        if any(x is not None and len(x) != len(mel) for x in (f0, en)):
            raise DataError(f"utterance '{utt}': stn_mel has {len(mel)} frames, stn_f0 "
                            f"{None if f0 is None else len(f0)}, stn_energy {None if en is None else len(en)} "
                            f"({mel_scp}, {f0_scp}, {energy_scp})")
        both = f0 is not None and en is not None
        out[utt] = (mel, joint_target(f0, en) if both else None, f0, prosody_contours(f0, en) if both else None)
    return out


def mel_stats(data: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-bin mean and std [M] (float32, std floored at 1e-3) of every training mel frame."""
    from pystn.features.cmvn import frame_mean_std

    mean, std = frame_mean_std(entry[0] for entry in data.values())
    return torch.from_numpy(mean).float(), torch.from_numpy(np.maximum(std, 1e-3)).float()


def shuffle_chunks(mat: np.ndarray, chunk: int, rng: np.random.Generator) -> np.ndarray:
    """Rows of ``mat`` [T, D] regrouped as T // chunk chunks in random order (the tail is dropped)."""
    n = max(1, len(mat) // chunk)
    parts = [mat[i * chunk:(i + 1) * chunk] for i in range(n)]
    return np.concatenate([parts[i] for i in rng.permutation(n)])


def make_batch_fn(data: dict, batch_size: int, seg_min: int, seg_max: int, spk_frames: int, chunk: int,
                  seed: int, utt2spk: dict | None = None, warp: float = 0.0,
                  content_warp: float = 0.0, prosody_warp: float | None = None, prosody_warp_share: float = 1.0):
    """``batch_fn(step) -> {'mel': [B,T,M], 'spk': [B,T',M], 'target': [B,T] long, 'f0_range': [B,2],
    'contours': [B,T,3]}`` (the target, the whole utterance's :func:`voiced_range` and its prosody
    contours where the data has them). With
    ``utt2spk`` the speaker-encoder crop comes from another utterance of the same speaker (the
    same one when the speaker has only one).

    ``warp`` > 0: pseudo-speakers. Each example (its mel and its speaker crop alike) is warped
    by :func:`freq_warp` with alpha ~ U[1 - warp, 1 + warp]: formants and harmonics move to
    1 / alpha of their frequency (exactly below 1 kHz of the Slaney mel), so the register moves
    by -log alpha; the min-max bins of Eq. 2 are relative and stay. As Kaldi's speed perturbation
    turns 20 speakers into 60, this shows the speaker encoder a continuum of voices.

    ``content_warp`` > 0: the batch gains 'content' [B,T,M], the same crop warped by
    alpha * beta with an independent beta ~ U[1 - content_warp, 1 + content_warp] for the
    content encoder (information perturbation, as SpeechSplit / NANSY): the voice in what
    Z_c reads differs from the one the decoder must render, so the decoder learns it from Z_s.
    The betas are drawn after everything else, so the crops and alphas do not change.

    ``prosody_warp`` (None: the prosody encoder reads 'mel'): the batch gains 'prosody' [B,T,M],
    the crop before the pseudo-speaker warp; a ``prosody_warp_share`` of the examples is warped
    by its own gamma ~ U[1 - prosody_warp, 1 + prosody_warp] (drawn after the betas), the rest
    stays as it is. Its targets, the relative bins of Eq. 2, do not move with a warp: the warped
    share lets the prosody encoder hear registers beyond the training speakers', and the unwarped
    rest keeps the harmonics that resampling the frequency axis smears."""
    keys = sorted(data)
    by_speaker: dict[str, list[str]] = {}
    for u in keys:
        by_speaker.setdefault(utt2spk[u] if utt2spk else u, []).append(u)

    def spk_source(u: str, rng: np.random.Generator) -> str:
        if not utt2spk:
            return u
        others = [v for v in by_speaker[utt2spk[u]] if v != u] or [u]
        return others[int(rng.integers(len(others)))]

    def batch_fn(step: int) -> dict:
        rng = step_rng(seed, step)
        utts = sample_keys(keys, batch_size, rng)
        sources = [spk_source(u, rng) for u in utts]
        shortest = min(len(data[u][0]) for u in utts + sources)
        seg = min(int(rng.integers(seg_min, seg_max + 1)), shortest)
        spk_len = max(chunk, min(spk_frames, shortest) // chunk * chunk)
        parts: dict[str, list] = {"mel": [], "spk": [], "target": [], "f0_range": [], "contours": []}
        crops = []  # (unwarped mel crop, alpha) per example
        for u, src in zip(utts, sources):
            mel, target, log_f0, contours = data[u]
            win = random_crop(len(mel), seg, rng)
            alpha = float(rng.uniform(1 - warp, 1 + warp)) if warp > 0 else 1.0
            parts["mel"].append(freq_warp(mel[win], alpha) if warp > 0 else mel[win])
            crops.append((mel[win], alpha))
            if target is not None:
                parts["target"].append(target[win])
                parts["contours"].append(contours[win])
            if log_f0 is not None:
                register = voiced_range(log_f0)
                parts["f0_range"].append(register - np.float32(np.log(alpha)) * (register > 0))
            src_mel = data[src][0]
            spk = shuffle_chunks(src_mel[random_crop(len(src_mel), spk_len, rng)], chunk, rng)
            parts["spk"].append(freq_warp(spk, alpha) if warp > 0 else spk)
        if content_warp > 0:  # drawn after the crops, so the crops and voices are those of content_warp 0
            betas = rng.uniform(1 - content_warp, 1 + content_warp, size=len(crops))
            parts["content"] = [freq_warp(crop, alpha * beta) for (crop, alpha), beta in zip(crops, betas)]
        if prosody_warp is not None and (warp > 0 or prosody_warp > 0):
            gammas = np.ones(len(crops))
            if prosody_warp > 0:
                warped = rng.random(len(crops)) < prosody_warp_share
                gammas = np.where(warped, rng.uniform(1 - prosody_warp, 1 + prosody_warp, size=len(crops)), 1.0)
            parts["prosody"] = [freq_warp(crop, gamma) if gamma != 1.0 else crop
                                for (crop, _), gamma in zip(crops, gammas)]
        return {k: torch.from_numpy(np.stack(v)) for k, v in parts.items() if v}

    return batch_fn


def make_loss_fn(loss_cfg: dict):
    def loss_fn(model, batch: dict, step: int):
        out = model(batch["mel"], spk_mel=batch["spk"], f0_range=batch.get("f0_range"),
                    content_mel=batch.get("content"), prosody_mel=batch.get("prosody"),
                    contours=batch.get("contours"))
        return stn_loss(out, batch["mel"], batch.get("target"), step, loss_cfg, batch.get("f0_range"))

    return loss_fn


def train_stn(mel_scp: str, f0_scp: str | None, energy_scp: str | None, out_dir: str | Path, cfg: dict,
              progress: bool = True, utt2spk_path: str | None = None,
              init_path: str | None = None) -> torch.nn.Module:
    """Train SpeechTripleNet / β-VAEVC from a variant config.

    ``cfg``: {'model': build_stn kwargs, 'loss': stn_loss weights, 'data': {batch_size,
    seg_min, seg_max, spk_frames, chunk, spk_source ('same' | 'other'), norm_mel (bool: the model
    reads and writes standardised log-mel, :func:`mel_stats`), warp (pseudo-speakers) and
    content_warp (the content encoder's input, both :func:`make_batch_fn`)}, 'train': TrainConfig dict}.
    β-VAEVC (``model.prosody: false``) needs neither f0 nor energy;
    ``spk_source: other`` needs ``utt2spk_path``. ``init_path``: a trained ``final.pt`` of the same
    model config to start from (Table 3's sweep as fine-tunes, ``stn.sweep.init``), except the modules
    of ``cfg['reinit']`` (``stn.sweep.reinit``), which start afresh (a fresh prosody encoder may also
    differ in :data:`PROSODY_ENCODER_KEYS`); the run's own checkpoints, when it has some, still win (resume).
    """
    from pystn.io import read_kv

    prosody = cfg["model"].get("prosody", True)
    f0_scp = f0_scp if prosody else None
    energy_scp = energy_scp if prosody else None
    d = cfg["data"]
    other = d.get("spk_source", "same") == "other"
    if other and not utt2spk_path:
        raise DataError("stn data.spk_source 'other' needs the training utt2spk")
    inputs = [p for p in (mel_scp, f0_scp, energy_scp, utt2spk_path if other else None, init_path) if p]
    reinit = list(cfg.get("reinit") or []) if init_path else []
    tcfg = train_config(cfg["train"], inputs, extra={"loss": cfg["loss"], "data": d, "init": init_path,
                                                     **({"reinit": reinit} if reinit else {})})
    data = load_training_data(mel_scp, f0_scp, energy_scp, min_frames=max(d["seg_min"], 16))
    batch_fn = make_batch_fn(data, d["batch_size"], d["seg_min"], d["seg_max"], d["spk_frames"],
                             d["chunk"], tcfg.seed, read_kv(utt2spk_path) if other else None,
                             float(d.get("warp", 0.0)), content_warp=float(d.get("content_warp", 0.0)),
                             prosody_warp=d.get("prosody_warp") if prosody else None,
                             prosody_warp_share=float(d.get("prosody_warp_share", 1.0)))
    torch.manual_seed(tcfg.seed)
    model = build_stn(cfg["model"])
    if d.get("norm_mel", False):
        model.set_mel_stats(*mel_stats(data))
    if init_path:
        init_weights(model, init_path, cfg["model"], fresh=tuple(reinit),
                     fresh_keys=PROSODY_ENCODER_KEYS if "prosody" in reinit else ())
    return train(model, batch_fn, make_loss_fn(cfg["loss"]), out_dir, tcfg, model_config=cfg["model"],
                 progress=progress)


