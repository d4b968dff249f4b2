"""load_audio / extract_file: resampling, channel mixing, errors naming the file."""

import numpy as np
import pytest
import soundfile as sf

from pystn.features import extract, extract_file, load_audio
from pystn.io import DataError


def test_load_audio_resamples(tmp_path, sine):
    sf.write(tmp_path / "a.wav", sine(1000.0, 16000, 1.0), 16000, subtype="PCM_16")
    wav, sr = load_audio(tmp_path / "a.wav", 22050)
    assert sr == 22050 and len(wav) == 22050 and wav.dtype == np.float32
    spec = np.abs(np.fft.rfft(wav))
    assert np.fft.rfftfreq(len(wav), 1 / sr)[spec.argmax()] == pytest.approx(1000.0, abs=1.0)
    np.testing.assert_allclose(np.abs(wav[1000:-1000]).max(), 0.5, rtol=1e-2)
    native, sr0 = load_audio(tmp_path / "a.wav")
    assert sr0 == 16000 and len(native) == 16000


def test_load_audio_mixes_channels(tmp_path):
    stereo = np.stack([np.full(100, 0.5), np.full(100, -0.25)], axis=1)
    sf.write(tmp_path / "s.wav", stereo, 8000, subtype="FLOAT")
    wav, _ = load_audio(tmp_path / "s.wav")
    np.testing.assert_allclose(wav, 0.125)


def test_extract_file_equals_extract(tmp_path, presets, sine):
    x = sine(220.0, 16000, 0.5)
    sf.write(tmp_path / "a.wav", x, 16000, subtype="FLOAT")
    for name in ("stn_mel", "mfcc", "stn_energy"):
        ref = extract(presets[name], x, 16000)
        np.testing.assert_array_equal(extract_file(presets[name], tmp_path / "a.wav"), ref)


def test_empty_and_unreadable_audio_name_the_file(tmp_path):
    sf.write(tmp_path / "empty.wav", np.zeros(0), 16000)
    (tmp_path / "junk.wav").write_bytes(b"not a wav file at all")
    for name in ("empty.wav", "junk.wav", "missing.wav"):
        with pytest.raises(DataError, match=name):
            load_audio(tmp_path / name, 16000)


def test_cmvn_kind_is_not_extracted_from_audio(presets, sine):
    with pytest.raises(ValueError, match="cmvn"):
        extract(presets["cmvn_mfcc"], sine(100.0, 16000, 0.1), 16000)
