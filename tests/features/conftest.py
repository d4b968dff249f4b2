"""Shared fixtures of the feature tests: synthetic signals and the presets of config.yaml."""

from pathlib import Path

import numpy as np
import pytest
import yaml

CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"


@pytest.fixture(scope="session")
def presets():
    """feats.presets of the default config.yaml."""
    return yaml.safe_load(CONFIG.read_text())["feats"]["presets"]


def _sine(freq: float, sr: int, seconds: float, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture(scope="session")
def sine():
    """sine(freq, sr, seconds, amp=0.5) -> float32 [round(seconds * sr)]."""
    return _sine


@pytest.fixture(scope="session")
def arctic():
    """The CMU ARCTIC utterance shipped with pysptk (male speaker, 16 kHz): (wav, sr)."""
    import pysptk
    import soundfile as sf

    wav, sr = sf.read(pysptk.util.example_audio_file(), dtype="float32")
    return wav, sr
