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
