"""Speaker embedders used by the scorers: Resemblyzer (external) and the project's x-vector.

Both expose ``embed_wav(path) -> np.ndarray [E]`` so a scorer can treat them alike.

* :class:`ResemblyzerEmbedder`: Resemblyzer's GE2E ``VoiceEncoder`` (the encoder the
  SpeechTripleNet paper uses for its speaker cosine similarity); its pretrained
  weights ship inside the ``resemblyzer`` package, so no download is needed.
  ``preprocess_wav`` resamples to 16 kHz, normalises volume and trims long silences.
* :class:`XvectorEmbedder`: a thin adapter over
  :class:`pystn.models.xvector.XvectorExtractor` loaded from an x-vector training dir.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from pystn.io import DataError


class ResemblyzerEmbedder:
    """Resemblyzer speaker encoder (256-d, L2-normalised utterance embeddings)."""

    def __init__(self, device: str = "cpu"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from resemblyzer import VoiceEncoder
        self.encoder = VoiceEncoder(device=device, verbose=False)

    def embed_wav(self, path: str | Path) -> np.ndarray:
        from resemblyzer import preprocess_wav

        try:
            wav = preprocess_wav(Path(path))
        except Exception as e:  # soundfile / librosa errors of many kinds
            raise DataError(f"{path}: cannot read audio for Resemblyzer: {e}") from e
        if len(wav) < 1600:
            raise DataError(f"{path}: under 0.1 s of speech after Resemblyzer's silence trimming")
        return self.encoder.embed_utterance(wav).astype(np.float32)


class XvectorEmbedder:
    """The project's x-vector (from an x-vector training dir with final.pt + front_end.json)."""

    def __init__(self, train_dir: str | Path, device: str = "cpu"):
        from pystn.models.xvector import XvectorExtractor

        self.extractor = XvectorExtractor.load(train_dir, device)

    def embed_wav(self, path: str | Path) -> np.ndarray:
        return self.extractor.embed_wav(path)
