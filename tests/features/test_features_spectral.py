"""Mel, Kaldi fbank / MFCC and the SER fbank: values against independent references."""

import librosa
import numpy as np
import pytest
import torch
import torchaudio.compliance.kaldi as kaldi

from pystn.features import extract, framing, spectral


def hifigan_mel_reference(x, sr, n_fft, hop, win, n_mels, fmin, fmax):
    """HiFi-GAN's mel_spectrogram re-written with numpy / librosa (float64)."""
    p = (n_fft - hop) // 2
    xp = np.pad(x.astype(np.float64), (p, p), mode="reflect")
    frames = librosa.util.frame(xp, frame_length=n_fft, hop_length=hop)  # [n_fft, T]
    window = np.hanning(win + 1)[:-1]  # periodic Hann
    spec = np.fft.rfft(frames * window[:, None], axis=0)
    mag = np.sqrt(np.abs(spec) ** 2 + 1e-9)
    basis = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    return np.log(np.maximum(basis @ mag, 1e-5)).T


def test_mel_matches_hifigan_reference(presets):
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal(22050)).astype(np.float32)
    p = presets["stn_mel"]
    got = extract(p, x, 22050)
    ref = hifigan_mel_reference(x, 22050, 1024, 256, 1024, 80, 0, 8000)
    assert got.shape == ref.shape == (22050 // 256, 80)
    np.testing.assert_allclose(got, ref, atol=2e-3)


def test_mel_of_1khz_sine_peaks_in_nearest_bin(presets, sine):
    p = presets["stn_mel"]
    m = extract(p, sine(1000.0, 22050, 1.0), 22050)
    centres = librosa.mel_frequencies(n_mels=p["n_mels"] + 2, fmin=p["fmin"], fmax=p["fmax"])[1:-1]
    expected = int(np.argmin(np.abs(centres - 1000.0)))
    assert np.all(m[2:-2].argmax(axis=1) == expected)


@pytest.mark.parametrize("n", [256, 1000, 22050, 22050 + 255, 22050 + 256])
def test_mel_frame_count_is_n_over_hop(presets, n):
    x = np.random.default_rng(n).uniform(-0.5, 0.5, n).astype(np.float32)
    assert extract(presets["stn_mel"], x, 22050).shape[0] == n // 256 == framing.num_frames(n, 1024, 256)


def test_mel_resamples_to_preset_rate(presets, sine):
    x16 = sine(440.0, 16000, 0.5)
    m = extract(presets["stn_mel"], x16, 16000)
    ref = extract(presets["stn_mel"], librosa.resample(x16, orig_sr=16000, target_sr=22050,
                                                       res_type="soxr_hq"), 22050)
    np.testing.assert_array_equal(m, ref)


@pytest.mark.parametrize("name,fn", [("fbank", kaldi.fbank), ("mfcc", kaldi.mfcc)])
def test_kaldi_features_equal_torchaudio(presets, name, fn):
    p = presets[name]
    rng = np.random.default_rng(1)
    x = (0.3 * rng.standard_normal(16000)).astype(np.float32)
    got = extract(p, x, 16000)
    opts = dict(frame_length=25.0, frame_shift=10.0, num_mel_bins=p["num_mel_bins"], dither=0.0,
                energy_floor=0.0, sample_frequency=16000.0)
    if name == "mfcc":
        opts.update(num_ceps=p["num_ceps"], low_freq=20, high_freq=-400)
    ref = fn(torch.from_numpy(x * 32768.0)[None], **opts).numpy()
    assert got.shape == ref.shape == (98, p.get("num_ceps", p["num_mel_bins"]))
    np.testing.assert_array_equal(got, ref)


def test_kaldi_options_reject_unknown_key():
    with pytest.raises(ValueError, match="num_cepz"):
        spectral.kaldi_options({"kind": "mfcc", "num_cepz": 13}, 16000, "mfcc")


def test_ser_fbank_drops_silence(presets, sine):
    p = presets["ser_fbank"]
    sil = np.zeros(8000, dtype=np.float32)
    x = np.concatenate([sil, sine(300.0, 16000, 1.0), sil])
    with_vad = extract(p, x, 16000)
    without = extract({**p, "vad": False}, x, 16000)
    assert without.shape == (1 + (32000 - 640) // 160, 41)
    assert with_vad.shape[1] == 41
    # speech frames are those overlapping the 1 s tone: about 100 (+ edge frames)
    assert 96 <= with_vad.shape[0] <= 106
    assert with_vad[:, 0].min() > without[:, 0].min() + 10  # silent frames (log eps) removed


def test_ser_fbank_keeps_all_frames_without_speech(presets):
    x = np.zeros(16000, dtype=np.float32)
    assert extract(presets["ser_fbank"], x, 16000).shape == (97, 41)


@pytest.mark.parametrize("sr,fmin,fmax", [(22050, 0, 8000), (16000, 90, 7600), (16000, 0, None)])
def test_mel_filters_equal_librosa(sr, fmin, fmax):
    ref = librosa.filters.mel(sr=sr, n_fft=1024, n_mels=80, fmin=fmin, fmax=fmax)
    np.testing.assert_allclose(spectral.mel_basis(sr, 1024, 80, fmin, fmax).numpy(), ref, atol=1e-6)
