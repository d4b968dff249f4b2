"""Speaker embedders used by the scorers: Resemblyzer (external) and the project's x-vector.

Both expose ``embed_wav(path) -> np.ndarray [E]`` so a scorer can treat them alike.

* :class:`ResemblyzerEmbedder`: Resemblyzer's GE2E ``VoiceEncoder`` (the encoder the
  SpeechTripleNet paper uses for its speaker cosine similarity); its pretrained
  weights ship inside the ``resemblyzer`` package, so no download is needed.
  ``preprocess_wav`` resamples to 16 kHz, normalises volume and trims long silences.
* :class:`XvectorEmbedder`: a thin adapter over
  :class:`pystn.models.xvector.XvectorExtractor` loaded from an x-vector training dir,
  optionally mapped into its system's length-normalised LDA space (the PLDA's input).
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
    """The project's x-vector (from an x-vector training dir with final.pt + front_end.json).

    With ``backend`` (the system's ``backend.npz``, :class:`pystn.backend.Backend`), an embedding
    [E] becomes (x − mean) · LDA, length-normalised [lda_dim]: the space the PLDA scores in, where
    cosine similarity separates speakers. Raw x-vectors of the synthetic corpus score a cosine
    of about 0.9 between any two voices; in the LDA space two test speakers score about 0.05.
    """

    def __init__(self, train_dir: str | Path, device: str = "cpu", backend: str | Path | None = None):
        from pystn.backend import Backend
        from pystn.models.xvector import XvectorExtractor

        self.extractor = XvectorExtractor.load(train_dir, device)
        self.backend = None
        if backend is not None:
            if not Path(backend).is_file():
                raise FileNotFoundError(f"{backend} missing: the x-vector backend (mean, LDA, PLDA) that "
                                        f"stn.score.xvector_backend names; run the x-vector track first")
            self.backend = Backend.load(backend)

    def embed_wav(self, path: str | Path) -> np.ndarray:
        emb = self.extractor.embed_wav(path)
        if self.backend is None:
            return emb
        return self.backend.transform(emb[None])[0].astype(np.float32)
