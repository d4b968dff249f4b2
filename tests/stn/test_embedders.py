import numpy as np
import pytest
import soundfile as sf

from pystn.embedders import ResemblyzerEmbedder, XvectorEmbedder
from pystn.io import DataError


def _voice(path, f0, sr=16000, seconds=1.5):
    t = np.arange(int(sr * seconds)) / sr
    x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 12)) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    sf.write(path, (0.3 * x / np.abs(x).max()).astype(np.float32), sr)
    return path


def test_resemblyzer_embeds_with_packaged_weights(tmp_path):
    emb = ResemblyzerEmbedder()
    a = emb.embed_wav(_voice(tmp_path / "a.wav", 110))
    b = emb.embed_wav(_voice(tmp_path / "b.wav", 110))
    c = emb.embed_wav(_voice(tmp_path / "c.wav", 260))
    assert a.shape == (256,) and abs(np.linalg.norm(a) - 1) < 1e-3
    assert np.allclose(a, b, atol=1e-5)  # deterministic
    assert float(a @ c) < 0.999
    with pytest.raises(DataError, match="missing.wav"):
        emb.embed_wav(tmp_path / "missing.wav")


def test_xvector_adapter_needs_a_training_dir(tmp_path):
    with pytest.raises(FileNotFoundError, match="front_end.json"):
        XvectorEmbedder(tmp_path)


class _FixedExtractor:
    """Stands in for a trained XvectorExtractor: one fixed embedding per file name."""

    def __init__(self, table):
        self.table = table

    def embed_wav(self, path):
        return self.table[str(path)]


def test_xvector_backend_maps_embeddings_into_the_length_normalised_lda_space(tmp_path, monkeypatch):
    from pystn.backend import Backend
    from pystn.models import xvector

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 16)) * 0.3
    labels = np.repeat(np.arange(4), 20)
    train = 5.0 + centres[labels] + rng.normal(size=(80, 16)) * 0.1  # a large shared offset, as raw x-vectors
    backend = Backend.fit(train, labels, lda_dim=3)
    backend.save(tmp_path / "backend.npz")
    table = {"a": train[0].astype(np.float32), "b": train[60].astype(np.float32)}
    monkeypatch.setattr(xvector.XvectorExtractor, "load", classmethod(lambda cls, d, dev="cpu": _FixedExtractor(table)))

    raw = XvectorEmbedder(tmp_path)
    lda = XvectorEmbedder(tmp_path, backend=tmp_path / "backend.npz")
    a, b = lda.embed_wav("a"), lda.embed_wav("b")
    assert a.shape == (3,) and abs(np.linalg.norm(a) - np.sqrt(3)) < 1e-5  # Kaldi's length norm: sqrt(dim)
    assert np.allclose(a, backend.transform(train[:1])[0], atol=1e-6)
    cos = lambda x, y: float(x @ y / np.linalg.norm(x) / np.linalg.norm(y))
    assert cos(raw.embed_wav("a"), raw.embed_wav("b")) > 0.95  # the offset hides the speakers
    assert cos(a, b) < 0.5                                      # the LDA space separates them
    with pytest.raises(FileNotFoundError, match="nothere.npz"):
        XvectorEmbedder(tmp_path, backend=tmp_path / "nothere.npz")
