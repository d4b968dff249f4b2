"""The project's phone recogniser: a BNF ASR DNN (or the stacked one on its BNF), greedy decoding.

Any DNN of stage 03 recognises phones: the first DNN from filterbanks, the
stacked DNN (SBNF) from the first DNN's bottleneck features with a wider
context (its ``front_end.json`` names the chain). Scorers compute the phone
error rate of (converted) speech with

    rec = PhoneRecognizer.load("results/03_bnf/synth/sbnf/model")
    per = pystn.metrics.error_rate([phones_of_text(t) for t in texts], [rec.recognize_wav(w) for w in wavs])

On the synthetic corpus every speaker reads the same sentences, so a PER on
unseen test speakers measures generalisation across speakers, not to new text.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from pystn.io import DataError
from pystn.models.bnf import BottleneckDNN, greedy_decode
from pystn.phonemes import phones_of_text  # noqa: F401  (re-exported for scorers)


class PhoneRecognizer:
    """A trained BNF DNN, the DNNs whose bottleneck feeds it (``chain``), its phone inventory and preset."""

    def __init__(self, model: BottleneckDNN, inventory: list[str], front_end: dict,
                 chain: list[BottleneckDNN] | None = None):
        self.model = model.eval()
        self.chain = [dnn.eval() for dnn in chain or []]
        self.inventory = inventory
        self.front_end = front_end

    @classmethod
    def load(cls, train_dir: str | Path, device: str = "cpu") -> "PhoneRecognizer":
        """Load ``final.pt``, ``phones.txt`` and ``front_end.json`` written by steps/train_bnf.py
        (and the upstream DNNs a stacked DNN's ``bnf_chain`` names)."""
        from pystn.training import load_model

        train_dir = Path(train_dir)
        for name in ("phones.txt", "front_end.json"):
            if not (train_dir / name).is_file():
                raise FileNotFoundError(f"{train_dir / name} missing: run the BNF training rule first")
        inventory = (train_dir / "phones.txt").read_text(encoding="utf-8").split()
        front_end = json.loads((train_dir / "front_end.json").read_text())
        model = load_model(train_dir / "final.pt", lambda c: BottleneckDNN(**c), device)
        chain = []
        for upstream in front_end.get("bnf_chain", []):
            if not (Path(upstream) / "final.pt").is_file():
                raise DataError(f"{train_dir}: its upstream DNN {upstream}/final.pt is missing")
            chain.append(load_model(Path(upstream) / "final.pt", lambda c: BottleneckDNN(**c), device))
        return cls(model, inventory, front_end, chain)

    @property
    def feature_preset(self) -> dict:
        """The feature preset (e.g. 40-d Kaldi fbank @16 kHz) the recogniser expects."""
        return dict(self.front_end["base_preset"])

    @torch.no_grad()
    def recognize(self, feats: np.ndarray) -> list[str]:
        """Greedy phone sequence of one utterance's base features [T, D] (repeats merged, class 0 dropped)."""
        x = torch.from_numpy(np.asarray(feats, dtype=np.float32))[None]
        for dnn in self.chain:
            x = dnn.bottleneck(x)
        logits = self.model(x, torch.tensor([x.shape[1]]))["phone_logits"][0]
        smooth = int(self.front_end.get("decode_smooth", 1))
        return [self.inventory[i] for i in greedy_decode(logits, smooth=smooth)]

    def recognize_wav(self, path: str | Path) -> list[str]:
        """Phones recognised in an audio file (features computed with :attr:`feature_preset`)."""
        from pystn import features

        return self.recognize(features.extract_file(self.feature_preset, str(path)))
