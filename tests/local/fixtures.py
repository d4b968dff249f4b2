"""Tiny synthetic audio and text writers for the corpus-preparer tests (fixtures live in tmp_path)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf


def write_tone(path, seconds: float = 0.2, sr: int = 16000, freq: float = 220.0, seed: int = 0) -> Path:
    """A sine plus a little noise, 16-bit, format from the suffix (.wav or .flac). Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = int(round(seconds * sr))
    t = np.arange(n) / sr
    audio = 0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * np.random.default_rng(seed).standard_normal(n)
    sf.write(path, audio.astype(np.float32), sr, subtype="PCM_16")
    return path


def write_empty(path, sr: int = 16000) -> Path:
    """A valid audio header with zero samples."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros(0, dtype=np.float32), sr, subtype="PCM_16")
    return path


def write_lines(path, lines, encoding: str = "utf-8") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes("".join(f"{line}\n" for line in lines).encode(encoding))
    return path


def load_splits(out) -> dict:
    """Read and validate the train / val / test data dirs a preparer wrote under ``out``."""
    from pystn.data import read_data_dir, validate_data_dir

    dirs = {s: read_data_dir(out / s) for s in ("train", "val", "test")}
    for s, d in dirs.items():
        validate_data_dir(d, s)
    return dirs
