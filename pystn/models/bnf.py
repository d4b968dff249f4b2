"""ASR DNNs with a linear bottleneck: BNF, stacked BNF (SBNF) and multi-task SBNF (MT-SBNF).

Paper (bottleneck_xvector, Sec. 3, Fig. 1): a first ASR DNN with 7 hidden
layers (ReLU, an 80-unit linear bottleneck) maps spliced filterbanks to
senone posteriors; a second DNN with 6 hidden layers (80-unit bottleneck)
maps the first DNN's bottleneck features (with a context window) to senones,
optionally also to speakers (multi-task, the auxiliary task). Here the
targets are phones: frame-level cross-entropy where the corpus has a phone
alignment (the synthetic corpus does: espeak-ng reports it), CTC where it has
transcripts only:

    L = CE(phone_t | W_p h_t)  or  CTC(phones | log_softmax(W_p h))  (+ lambda_spk * CE(speaker | W_s h_t))

where h_t is the last hidden layer at frame t, frames outside every phone
take class 0 (silence, which is the CTC blank), and the speaker term is
averaged over frames (lambda_spk = 0 for the single-task DNNs). Both decode
the same way: best class per frame, repeats merged, class 0 dropped.
"""

from __future__ import annotations

import sys
from typing import Iterator

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from pystn.batching import freq_warp, label_index, pad_batch, sample_keys, step_rng
from pystn.io import DataError


def splice(x: torch.Tensor, context: int, stride: int = 1) -> torch.Tensor:
    """Stack frames t + k*stride, k in [-context, context] (edges replicated).

    x: [B, T, D] -> [B, T, D * (2 * context + 1)], frame t's window in order of k.
    """
    if context == 0:
        return x
    pad = context * stride
    xp = F.pad(x.transpose(1, 2), (pad, pad), mode="replicate").transpose(1, 2)
    t = x.shape[1]
    return torch.cat([xp[:, pad + k * stride: pad + k * stride + t] for k in range(-context, context + 1)], dim=2)


def masked_mean(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Per-utterance mean over real frames: x [B, T, D], lengths [B] -> [B, 1, D]."""
    mask = (torch.arange(x.shape[1], device=x.device)[None, :] < lengths[:, None]).unsqueeze(-1)
    return (x * mask).sum(1, keepdim=True) / lengths.clamp(min=1)[:, None, None]


class BottleneckDNN(nn.Module):
    """Frame-level DNN with a linear bottleneck (Fig. 1 of the paper).

    Hidden layers are Linear -> ReLU -> BatchNorm except the bottleneck
    (``bn_layer``, 0-based), which is Linear only; its output is the BNF.
    Input: [B, T, in_dim] (per-utterance mean-normalised when ``cmn``, then
    standardised with the training-set statistics in ``feat_mean``/``feat_std``),
    spliced with ``context`` frames each side every ``stride`` frames. The phone
    (CTC) outputs are computed every ``subsample`` frames (cheaper training, a
    phone still spans several outputs); BNF are extracted at every frame.
    """

    def __init__(self, in_dim: int, n_phones: int, *, hidden: int = 256, n_hidden: int = 7,
                 bn_dim: int = 80, bn_layer: int | None = None, context: int = 5, stride: int = 1,
                 n_speakers: int = 0, cmn: bool = True, subsample: int = 1):
        super().__init__()
        self.config = dict(in_dim=in_dim, n_phones=n_phones, hidden=hidden, n_hidden=n_hidden, bn_dim=bn_dim,
                           bn_layer=bn_layer, context=context, stride=stride, n_speakers=n_speakers, cmn=cmn,
                           subsample=subsample)
        self.subsample = subsample
        self.bn_layer = n_hidden - 2 if bn_layer is None else bn_layer
        if not 0 <= self.bn_layer < n_hidden:
            raise ValueError(f"bn_layer {self.bn_layer} outside the {n_hidden} hidden layers")
        self.context, self.stride, self.cmn = context, stride, cmn
        self.register_buffer("feat_mean", torch.zeros(in_dim))
        self.register_buffer("feat_std", torch.ones(in_dim))
        layers, dim = [], in_dim * (2 * context + 1)
        for i in range(n_hidden):
            width = bn_dim if i == self.bn_layer else hidden
            block = [nn.Linear(dim, width)]
            if i != self.bn_layer:
                block += [nn.ReLU(), nn.BatchNorm1d(width)]
            layers.append(nn.Sequential(*block))
            dim = width
        self.layers = nn.ModuleList(layers)
        self.phone_head = nn.Linear(dim, n_phones)
        self.speaker_head = nn.Linear(dim, n_speakers) if n_speakers else None

    def set_input_stats(self, mean, std) -> None:
        """Fix the input standardisation (training-set mean / std after CMN, each [in_dim])."""
        self.feat_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.feat_std.copy_(torch.as_tensor(std, dtype=torch.float32).clamp(min=1e-3))

    def spliced(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Normalised, spliced input [B, T, in_dim * (2c+1)]; each utterance's own last frame is
        replicated past its end, so a padded utterance sees the same windows as an unpadded one."""
        if self.cmn:
            x = x - masked_mean(x, lengths)
        x = (x - self.feat_mean) / self.feat_std
        idx = torch.minimum(torch.arange(x.shape[1], device=x.device)[None, :], (lengths - 1).clamp(min=0)[:, None])
        x = torch.gather(x, 1, idx.unsqueeze(-1).expand(-1, -1, x.shape[2]))
        return splice(x, self.context, self.stride)

    def run_layers(self, flat: torch.Tensor, upto: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Hidden layers on real frames only [N, D] (BatchNorm never sees padding) -> (bnf, last hidden)."""
        bnf = None
        for i, layer in enumerate(self.layers[: None if upto is None else upto + 1]):
            flat = layer(flat)
            if i == self.bn_layer:
                bnf = flat
        return bnf, flat

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> dict:
        """x [B, T, in_dim], lengths [B] -> {'lengths' [B], 'subsample', 'bnf' [B,T',bn_dim],
        'phone_logits' [B,T',P], 'speaker_logits' [B,T',S] or None}, T' = ceil(T / subsample) (output rate)."""
        h = self.spliced(x, lengths)
        if self.subsample > 1:
            h, lengths = h[:, :: self.subsample], (lengths + self.subsample - 1) // self.subsample
        mask = torch.arange(h.shape[1], device=h.device)[None, :] < lengths[:, None]
        bnf, last = self.run_layers(h[mask])
        out = {"lengths": lengths, "subsample": self.subsample, "bnf": scatter(bnf, mask),
               "phone_logits": scatter(self.phone_head(last), mask)}
        out["speaker_logits"] = scatter(self.speaker_head(last), mask) if self.speaker_head is not None else None
        return out

    @torch.no_grad()
    def bottleneck(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Bottleneck features at every input frame: [B, T, in_dim] -> [B, T, bn_dim] (padding zero)."""
        lengths = torch.full((x.shape[0],), x.shape[1], dtype=torch.long) if lengths is None else lengths
        h = self.spliced(x, lengths)
        mask = torch.arange(h.shape[1], device=h.device)[None, :] < lengths[:, None]
        return scatter(self.run_layers(h[mask], self.bn_layer)[0], mask)


def scatter(flat: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Inverse of ``h[mask]``: [N, C] rows back into a zero [B, T, C] tensor at the True positions of mask."""
    out = flat.new_zeros(*mask.shape, flat.shape[-1])
    out[mask] = flat
    return out


def frame_targets(segments, n_frames: int, inventory: list[str], shift_s: float, length_s: float,
                  where: str = "") -> np.ndarray:
    """Phone class of each feature frame [n_frames] from [(phone, start_s, end_s)]: the phone whose
    segment holds the frame centre (t * shift + length / 2), 0 (silence) where none does."""
    from pystn.phonemes import encode

    centres = np.arange(n_frames) * shift_s + length_s / 2
    labels = np.zeros(n_frames, dtype=np.int64)
    ids = encode([p for p, _, _ in segments], inventory, where)
    for idx, (_, start, end) in zip(ids, segments):
        labels[(centres >= start) & (centres < end)] = idx
    return labels


def bnf_loss(out: dict, targets: torch.Tensor, target_lengths: torch.Tensor,
             speakers: torch.Tensor | None = None, speaker_weight: float = 0.0,
             frames: bool = False) -> tuple[torch.Tensor, dict]:
    """Phone loss (+ speaker_weight * frame-averaged speaker CE); see the module equation.

    out: the model's forward dict (its 'lengths' are at the output frame rate).
    CTC (``frames`` False): targets [B, L] padded phone indices (blank 0 never appears), target_lengths [B].
    Frames (``frames`` True): targets [B, T] class per input frame (-1 past the end), subsampled here
    to the output rate. speakers: [B].
    """
    lengths = out["lengths"]  # at the output frame rate
    if frames:
        logits = out["phone_logits"]
        labels = targets[:, :: out["subsample"]][:, : logits.shape[1]]
        phone = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-1)
        terms = {"frame_ce": phone.detach()}
    else:
        log_probs = out["phone_logits"].log_softmax(-1).transpose(0, 1)  # [T', B, P]
        phone = F.ctc_loss(log_probs, targets, lengths, target_lengths, blank=0, reduction="mean",
                           zero_infinity=True)
        terms = {"ctc": phone.detach()}
    loss = phone
    if speaker_weight and out["speaker_logits"] is not None:
        mask = torch.arange(out["speaker_logits"].shape[1])[None, :].to(lengths.device) < lengths[:, None]
        logits = out["speaker_logits"][mask]
        target = speakers[:, None].expand(-1, mask.shape[1])[mask]
        ce = F.cross_entropy(logits, target)
        loss = loss + speaker_weight * ce
        terms["speaker_ce"] = ce.detach()
    return loss, terms


def greedy_decode(logits: torch.Tensor, length: int | None = None, smooth: int = 1) -> list[int]:
    """Best-path decode of one utterance: logits [T, P] -> indices (repeats merged, class 0 dropped).

    ``smooth`` > 1 first averages the posteriors over that many frames: a frame classifier's
    one-frame flickers become insertions otherwise. CTC outputs are spikes: decode them with 1.
    """
    logits = logits[:length]
    if smooth > 1:
        post = logits.softmax(-1).T[None]  # [1, P, T]
        logits = F.avg_pool1d(post, smooth, 1, smooth // 2, count_include_pad=False)[0, :, : logits.shape[0]].T
    best = logits.argmax(-1).tolist()
    out, prev = [], 0
    for b in best:
        if b != prev and b != 0:
            out.append(b)
        prev = b
    return out


# ---- training and extraction (called by steps/train_bnf.py and steps/extract_bnf.py) ----

def input_stats(feats: dict, cmn: bool) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std [D] of all training frames (after per-utterance mean removal when ``cmn``)."""
    from pystn.features.cmvn import frame_mean_std

    return frame_mean_std(m - m.mean(0) if cmn else m for m in feats.values())


def make_batch_fn(feats: dict, targets: dict, speakers: dict, batch_size: int, seed: int, warp: float = 0.0):
    """batch_fn(step) -> (x [B,T,D], lengths, targets [B,L], target_lengths, speakers [B]); pure in (seed, step).

    ``targets``: utt -> phone indices (CTC) or class per frame (frame targets; padded with -1).
    ``warp`` > 0 applies :func:`freq_warp` with alpha ~ U[1 - warp, 1 + warp] per utterance.
    """
    keys = sorted(targets)

    def batch_fn(step: int):
        rng = step_rng(seed, step)
        chosen = sample_keys(keys, batch_size, rng)
        mats = [feats[k] for k in chosen]
        if warp:
            mats = [freq_warp(m, a) for m, a in zip(mats, rng.uniform(1 - warp, 1 + warp, len(mats)))]
        x, lengths = pad_batch(mats)
        ph, ph_len = pad_batch([np.asarray(targets[k], dtype=np.float32) for k in chosen], pad_value=-1)
        spk = torch.tensor([speakers[k] for k in chosen], dtype=torch.long)
        return x, lengths, ph.long(), ph_len, spk
    return batch_fn


def decode_batch(model: "BottleneckDNN", mats: list, smooth: int = 1) -> list[list[int]]:
    """Greedy decode (:func:`greedy_decode`) of feature matrices [T_i, D] (one forward pass per utterance)."""
    out = []
    with torch.no_grad():
        for m in mats:
            x = torch.from_numpy(np.asarray(m, dtype=np.float32))[None]
            logits = model(x, torch.tensor([len(m)]))["phone_logits"][0]
            out.append(greedy_decode(logits, smooth=smooth))
    return out


def train_bnf(feats: dict, phone_seqs: dict, utt2spk: dict, inventory: list[str], model_cfg: dict,
              train_cfg, out_dir, speaker_weight: float = 0.0, batch_size: int = 16,
              val: tuple[dict, dict] | None = None, warp: float = 0.0, alignments: dict | None = None,
              frame_geometry: tuple[float, float] = (0.010, 0.025), smooth: int = 1) -> "BottleneckDNN":
    """Train a BottleneckDNN on (feats utt -> [T, D], phones utt -> tokens) with the pystn loop.

    ``alignments`` (utt -> [(phone, start_s, end_s)]) switch the phone loss from CTC to frame
    cross-entropy; ``frame_geometry`` = (shift, length) of the feature frames in seconds;
    ``smooth``: the posterior smoothing of the validation decode (:func:`greedy_decode`).
    ``val`` = (feats, phone_seqs) of held-out utterances: their PER is logged as ``val_per``.
    """
    from pystn.metrics import error_rate
    from pystn.phonemes import encode
    from pystn.training import train

    keys = sorted(set(feats) & set(phone_seqs) & (set(alignments) if alignments is not None else set(feats)))
    if not keys:
        raise DataError("no utterance has features, a transcript and (for frame targets) an alignment")
    if alignments is None:
        targets = {k: encode(phone_seqs[k], inventory, k) for k in keys}
    else:
        targets = {k: frame_targets(alignments[k], len(feats[k]), inventory, *frame_geometry, k) for k in keys}
    spk_index = label_index({k: utt2spk[k] for k in keys})
    n_spk = len(spk_index) if speaker_weight else 0
    cfg = dict(model_cfg, in_dim=next(iter(feats.values())).shape[1], n_phones=len(inventory), n_speakers=n_spk)
    torch.manual_seed(train_cfg.seed)  # the initial weights too are reproducible
    model = BottleneckDNN(**cfg)
    model.set_input_stats(*input_stats({k: feats[k] for k in keys}, model.cmn))
    batch_fn = make_batch_fn(feats, targets, {k: spk_index[utt2spk[k]] for k in keys}, batch_size,
                             train_cfg.seed, warp)

    def loss_fn(m, batch, step):
        x, lengths, ph, ph_len, spk = batch
        return bnf_loss(m(x, lengths), ph, ph_len, spk, speaker_weight, frames=alignments is not None)

    val_fn = None
    if val is not None:
        vkeys = sorted(set(val[0]) & set(val[1]))

        def val_fn(m, step):
            hyps = decode_batch(m, [val[0][k] for k in vkeys], smooth)
            return {"per": error_rate([val[1][k] for k in vkeys], [[inventory[i] for i in h] for h in hyps])}
    return train(model, batch_fn, loss_fn, out_dir, train_cfg, model_config=cfg, val_fn=val_fn)


def extract_bnf(model: "BottleneckDNN", feats, upstream=()) -> Iterator[tuple[str, np.ndarray]]:
    """(utt, BNF [T, bn_dim]) for every (utt, features [T, D]) pair of ``feats`` (a mapping);
    the ``upstream`` DNNs' bottlenecks are applied first, in order (a stacked DNN from fbank)."""
    from tqdm import tqdm

    for key in tqdm(list(feats.keys()), desc="bnf", mininterval=2.0, file=sys.stderr):
        x = torch.from_numpy(np.asarray(feats[key], dtype=np.float32))[None]
        for dnn in upstream:
            x = dnn.bottleneck(x)
        yield key, model.bottleneck(x).squeeze(0).numpy()
