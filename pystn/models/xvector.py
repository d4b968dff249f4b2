"""x-vector TDNN (Snyder et al.), the project's speaker embedder, and its front ends.

Network (paper Sec. 4.1, Fig. 2): 5 frame-level TDNN layers, statistics
pooling (mean and standard deviation over frames), two segment-level layers
and a softmax over training speakers; the embedding is layer 6 *before* its
nonlinearity. Layers 1-6 are speechbrain's ``Xvector`` lobe (its last block is
the linear layer 6); :class:`XvectorNet` adds layer 7 and the output layer:

    e = W6 [mean_t h5(t); std_t h5(t)] + b6          (the x-vector)
    p(spk | x) = softmax(W_out BN(ReLU(W7 BN(ReLU(e)))))

Front ends (``front_end.json`` in a training directory): ``mfcc`` (Kaldi MFCC
@16k) or ``bnf`` (fbank through a chain of bottleneck DNNs), then energy VAD
frame dropping and per-utterance (or sliding-window) mean normalisation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.nn as nn

from pystn.io import DataError


class XvectorNet(nn.Module):
    """x-vector classifier: x [B, T, in_dim], lengths [B] -> (embedding [B, emb], logits [B, n_speakers])."""

    def __init__(self, in_dim: int, n_speakers: int, *, channels: int = 512, pool_channels: int = 1500,
                 emb_dim: int = 512):
        super().__init__()
        from speechbrain.lobes.models.Xvector import Xvector

        self.config = dict(in_dim=in_dim, n_speakers=n_speakers, channels=channels,
                           pool_channels=pool_channels, emb_dim=emb_dim)
        self.lobe = Xvector(in_channels=in_dim, tdnn_blocks=5,
                            tdnn_channels=[channels] * 4 + [pool_channels],
                            tdnn_kernel_sizes=[5, 3, 3, 1, 1], tdnn_dilations=[1, 2, 3, 1, 1],
                            lin_neurons=emb_dim)
        self.head = nn.Sequential(nn.ReLU(), nn.BatchNorm1d(emb_dim), nn.Linear(emb_dim, emb_dim),
                                  nn.ReLU(), nn.BatchNorm1d(emb_dim), nn.Linear(emb_dim, n_speakers))

    def embed(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Layer-6 output before its nonlinearity: [B, T, in_dim] -> [B, emb_dim]."""
        rel = None if lengths is None else lengths.float() / x.shape[1]
        return self.lobe(x, rel).squeeze(1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None):
        emb = self.embed(x, lengths)
        return emb, self.head(emb)


def sliding_cmn(feats: np.ndarray, window: int) -> np.ndarray:
    """Kaldi ``apply-cmvn-sliding --norm-vars=false --center=true``: subtract the mean of a
    ``window``-frame window centred on each frame (clipped at the edges). [T, D] -> [T, D]."""
    t = len(feats)
    if window <= 0 or t <= window:
        return feats - feats.mean(0, keepdims=True)
    csum = np.concatenate([np.zeros((1, feats.shape[1])), np.cumsum(feats, 0, dtype=np.float64)])
    start = np.clip(np.arange(t) - window // 2, 0, t - window)
    mean = (csum[start + window] - csum[start]) / window
    return (feats - mean).astype(np.float32)


def prepare_frames(feats: np.ndarray, vad: np.ndarray | None, cmn_window: int = 0,
                   min_frames: int = 10) -> np.ndarray:
    """Drop non-speech frames (keeping all if fewer than ``min_frames`` are speech), then mean-normalise.

    feats [T, D], vad [T'] 0/1 (T' may differ from T by a frame or two; compared on the common part).
    ``cmn_window`` 0 = per-utterance mean subtraction, else sliding window of that many frames.
    """
    feats = np.asarray(feats, dtype=np.float32)
    if vad is not None:
        n = min(len(feats), len(vad))
        keep = np.asarray(vad[:n]) > 0.5
        if keep.sum() >= min_frames:
            feats = feats[:n][keep]
    return sliding_cmn(feats, cmn_window).astype(np.float32)


class XvectorExtractor:
    """A trained x-vector system usable on features or audio (the STN scorer uses ``embed_wav``)."""

    def __init__(self, net: XvectorNet, front_end: dict, bnf_chain: list | None = None):
        self.net = net.eval()
        self.front_end = front_end
        self.bnf_chain = bnf_chain or []

    @classmethod
    def load(cls, train_dir: str | Path, device: str = "cpu") -> "XvectorExtractor":
        """Load ``final.pt`` + ``front_end.json`` (and its BNF DNNs) from a training directory."""
        from pystn.models.bnf import BottleneckDNN
        from pystn.training import load_model

        train_dir = Path(train_dir)
        fe_path = train_dir / "front_end.json"
        if not fe_path.is_file():
            raise FileNotFoundError(f"{fe_path} missing: '{train_dir}' is not an x-vector training directory")
        front_end = json.loads(fe_path.read_text())
        net = load_model(train_dir / "final.pt", lambda c: XvectorNet(**c), device)
        chain = [load_model(Path(d) / "final.pt", lambda c: BottleneckDNN(**c), device)
                 for d in front_end.get("bnf_chain", [])]
        return cls(net, front_end, chain)

    @torch.no_grad()
    def embed(self, feats: np.ndarray, vad: np.ndarray | None = None) -> np.ndarray:
        """Embedding [E] of one utterance's front-end features [T, D] (BNF already applied)."""
        x = prepare_frames(feats, vad, int(self.front_end.get("cmn_window", 0)))
        return self.net.embed(torch.from_numpy(x)[None]).squeeze(0).numpy().astype(np.float32)

    @torch.no_grad()
    def base_to_front_end(self, base: np.ndarray) -> np.ndarray:
        """Run the BNF chain (if any) on base features (fbank) [T, D] -> [T, bn_dim]."""
        x = torch.from_numpy(np.asarray(base, dtype=np.float32))[None]
        for dnn in self.bnf_chain:
            x = dnn.bottleneck(x)
        return x.squeeze(0).numpy()

    def embed_wav(self, path: str | Path) -> np.ndarray:
        """Embedding [E] computed from audio: base features -> (BNF chain) -> VAD -> CMN -> x-vector."""
        from pystn import features

        try:
            base = features.extract_file(self.front_end["base_preset"], str(path))
            vad = features.extract_file(self.front_end["vad_preset"], str(path)) \
                if self.front_end.get("vad_preset") else None
        except (OSError, RuntimeError) as e:
            raise DataError(f"{path}: cannot compute x-vector front end: {e}") from e
        return self.embed(self.base_to_front_end(base), vad)


# ---- training (called by steps/train_xvector.py) ----

def load_front_end(feats_scp: str, vad_scp: str | None, cmn_window: int, keys=None) -> dict[str, np.ndarray]:
    """utt -> VAD-filtered, mean-normalised frames [T', D] for every utterance of ``feats_scp``."""
    from pystn.batching import load_feats

    feats = load_feats(feats_scp, keys)
    vads = load_feats(vad_scp, list(feats)) if vad_scp else {}
    return {k: prepare_frames(m, vads[k].ravel() if k in vads else None, cmn_window) for k, m in feats.items()}


def make_segment_batch_fn(feats: dict, labels: dict, batch_size: int, seg_range: tuple[int, int], seed: int):
    """batch_fn(step) -> (x [B, T, D], lengths [B], speaker [B]): random crops, one length per batch."""
    from pystn.batching import pad_batch, random_crop, sample_keys, step_rng

    keys = sorted(feats)

    def batch_fn(step: int):
        rng = step_rng(seed, step)
        seg = int(rng.integers(seg_range[0], seg_range[1] + 1))
        chosen = sample_keys(keys, batch_size, rng)
        x, lengths = pad_batch([feats[k][random_crop(len(feats[k]), seg, rng)] for k in chosen])
        return x, lengths, torch.tensor([labels[k] for k in chosen], dtype=torch.long)
    return batch_fn


def train_xvector(feats: dict, utt2spk: dict, model_cfg: dict, train_cfg, out_dir, batch_size: int = 32,
                  seg_range: tuple[int, int] = (100, 200)) -> XvectorNet:
    """Train the x-vector TDNN to classify the training speakers (softmax cross-entropy)."""
    from pystn.batching import label_index
    from pystn.training import train

    missing = [k for k in feats if k not in utt2spk]
    if missing:
        raise DataError(f"utterances without a speaker in utt2spk: {missing[:5]}")
    spk_index = label_index({k: utt2spk[k] for k in feats})
    labels = {k: spk_index[utt2spk[k]] for k in feats}
    cfg = dict(model_cfg, in_dim=next(iter(feats.values())).shape[1], n_speakers=len(spk_index))
    batch_fn = make_segment_batch_fn(feats, labels, batch_size, seg_range, train_cfg.seed)

    def loss_fn(model, batch, step):
        x, lengths, spk = batch
        logits = model(x, lengths)[1]
        acc = (logits.argmax(-1) == spk).float().mean()
        return torch.nn.functional.cross_entropy(logits, spk), {"acc": acc.detach()}
    torch.manual_seed(train_cfg.seed)  # the initial weights too are reproducible
    return train(XvectorNet(**cfg), batch_fn, loss_fn, out_dir, train_cfg, model_config=cfg)


def extract_embeddings(net: XvectorNet, frames: dict) -> Iterator[tuple[str, np.ndarray]]:
    """(utt, x-vector [E]) for prepared frames utt -> [T, D] (whole utterance, one pass each)."""
    import sys

    from tqdm import tqdm

    net.eval()
    with torch.no_grad():
        for key in tqdm(sorted(frames), desc="xvector", mininterval=2.0, file=sys.stderr):
            yield key, net.embed(torch.from_numpy(frames[key])[None]).squeeze(0).numpy()
