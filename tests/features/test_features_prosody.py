"""F0 trackers and RMS energy: real-speech ranges, tracker agreement, frame alignment."""

import numpy as np
import pytest

from pystn.features import extract, framing, prosody


def f0_preset(method, sr=16000, hop=80, log=False):
    return {"kind": "f0", "method": method, "sample_rate": sr, "hop_length": hop,
            "fmin": 60, "fmax": 300, "log": log}


@pytest.fixture(scope="module")
def arctic_f0(arctic):
    wav, sr = arctic
    return {m: extract(f0_preset(m), wav, sr) for m in ("rapt", "dio", "harvest")}


@pytest.mark.parametrize("method", ["rapt", "dio", "harvest"])
def test_arctic_f0_in_male_range(arctic_f0, method):
    f0 = arctic_f0[method]
    voiced = f0[f0 > 0]
    assert len(voiced) > 0.3 * len(f0)
    assert 80 < np.median(voiced) < 180


@pytest.mark.parametrize("other", ["dio", "harvest"])
def test_rapt_agrees_with_world_trackers(arctic_f0, other):
    a, b = arctic_f0["rapt"], arctic_f0[other]
    both = (a > 0) & (b > 0)
    assert both.sum() > 0.25 * len(a)
    assert np.median(np.abs(np.log(a[both] / b[both]))) < 0.1


def test_log_f0_is_log_on_voiced_and_zero_on_unvoiced(arctic, arctic_f0):
    wav, sr = arctic
    hz, logf0 = arctic_f0["rapt"], extract(f0_preset("rapt", log=True), wav, sr)
    np.testing.assert_array_equal(logf0 == 0, hz == 0)
    np.testing.assert_allclose(logf0[hz > 0], np.log(hz[hz > 0]), rtol=1e-6)


def test_fix_octaves_undoes_halving_and_doubling():
    track = np.array([97, 97, 96, 95, 96, 95, 94, 92, 91, 48, 47, 96, 97, 190, 97, 95, 0, 0, 93, 94.0])
    fixed = prosody.fix_octaves(track)
    np.testing.assert_allclose(fixed[[9, 10, 13]], [96, 94, 95])  # back into the contour's octave
    np.testing.assert_allclose(fixed[[0, 8, 18]], track[[0, 8, 18]])  # in-range frames untouched
    assert (fixed[[16, 17]] == 0).all()
    accent = np.array([100, 101, 100, 135, 100, 99, 100.0])  # a 1.35x jump is no octave error
    np.testing.assert_allclose(prosody.fix_octaves(accent), accent)


def test_octave_fix_preset_key(arctic):
    wav, sr = arctic
    plain, fixed = extract(f0_preset("rapt"), wav, sr), extract({**f0_preset("rapt"), "octave_fix": True}, wav, sr)
    assert plain.shape == fixed.shape and ((fixed > 0) <= (plain > 0)).all()
    assert np.mean(fixed[fixed > 0] == plain[fixed > 0]) > 0.95  # real speech: few frames move


def test_f0_of_a_tone(presets, sine):
    p = {**presets["stn_f0"], "log": False}
    f0 = extract(p, sine(150.0, 22050, 1.0), 22050)
    np.testing.assert_allclose(np.median(f0[f0 > 0]), 150.0, rtol=0.02)


def _voice(f0_hz: float, sr: int = 22050) -> np.ndarray:
    """One second of a harmonic-rich voice (14 harmonics, 1/k amplitudes) with a 2 % vibrato."""
    t = np.arange(sr) / sr
    phase = 2 * np.pi * np.cumsum(f0_hz * (1 + 0.02 * np.sin(2 * np.pi * 3 * t))) / sr
    return (0.1 * sum(np.sin(k * phase) / k for k in range(1, 15))).astype(np.float32)


def test_stn_f0_keeps_a_raised_female_voice_in_its_octave(presets):
    """A 340 Hz voice (the synthetic corpus's happy / angry female styles reach 310-370 Hz):
    the authors' 300 Hz ceiling tracks it an octave low; the default two-pass preset does not."""
    hz = {**presets["stn_f0"], "log": False}
    tracked = extract(hz, _voice(340.0), 22050)
    assert np.mean(tracked > 0) > 0.9
    np.testing.assert_allclose(np.median(tracked[tracked > 0]), 340.0, rtol=0.03)
    authors = extract({**hz, "fmax": 300, "two_pass": False}, _voice(340.0), 22050)
    np.testing.assert_allclose(np.median(authors[authors > 0]), 170.0, rtol=0.03)


def test_speaker_ceiling_is_1_5_upper_quartiles_within_fmax():
    track = np.array([0, 100, 110, 120, 130, 0, 140, 150, 160, 170.0])  # q3 of the voiced = 152.5
    assert prosody.speaker_ceiling(track, fmax=600) == pytest.approx(1.5 * 152.5)
    assert prosody.speaker_ceiling(track, fmax=200) == 200  # never above the first pass's range
    assert prosody.speaker_ceiling(np.array([0, 0, 120, 130, 0.0]), fmax=600) == 600  # too few voiced


def test_two_pass_leaves_a_male_voice_where_one_pass_puts_it(arctic):
    wav, sr = arctic
    one = extract({**f0_preset("rapt"), "fmin": 30}, wav, sr)
    two = extract({**f0_preset("rapt"), "fmin": 30, "fmax": 600, "two_pass": True}, wav, sr)
    both = (one > 0) & (two > 0)
    assert both.sum() > 0.9 * max((one > 0).sum(), (two > 0).sum())
    assert np.median(np.abs(np.log(one[both] / two[both]))) < 0.01


@pytest.mark.parametrize("method", ["rapt", "dio", "harvest"])
@pytest.mark.parametrize("n", [22050, 22050 + 100, 22050 + 255])
def test_mel_f0_energy_frame_counts_agree(presets, method, n, sine):
    x = np.random.default_rng(n).uniform(-0.3, 0.3, n).astype(np.float32) + sine(120.0, 22050, n / 22050)
    mel = extract(presets["stn_mel"], x, 22050)
    f0 = extract({**presets["stn_f0"], "method": method}, x, 22050)
    energy = extract(presets["stn_energy"], x, 22050)
    assert mel.shape[0] == f0.shape[0] == energy.shape[0] == n // 256


def test_align_cuts_and_pads():
    t = np.array([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(framing.align(t, 2), [1.0, 2.0])
    np.testing.assert_array_equal(framing.align(t, 5), [1.0, 2.0, 3.0, 0.0, 0.0])


@pytest.mark.parametrize("amp", [0.1, 0.8])
def test_energy_of_sine_is_amplitude_over_sqrt2(presets, amp, sine):
    e = extract(presets["stn_energy"], sine(1000.0, 22050, 1.0, amp), 22050)
    np.testing.assert_allclose(e[3:-3], amp / np.sqrt(2), rtol=5e-3)


def test_energy_equals_framed_rms(presets):
    x = np.random.default_rng(3).standard_normal(5000).astype(np.float32)
    e = prosody.energy(x, 22050, presets["stn_energy"])
    xp = np.pad(x.astype(np.float64), (384, 384), mode="reflect")
    ref = [np.sqrt(np.mean(xp[t * 256:t * 256 + 1024] ** 2)) for t in range(len(e))]
    np.testing.assert_allclose(e, ref, rtol=1e-5)


def test_unknown_f0_method_raises(presets, sine):
    with pytest.raises(ValueError, match="yin"):
        extract({**presets["stn_f0"], "method": "yin"}, sine(100.0, 22050, 0.5), 22050)


@pytest.mark.parametrize("n", [256, 300, 700])
def test_short_signals_give_aligned_tracks(presets, n):
    x = np.random.default_rng(n).uniform(-0.5, 0.5, n).astype(np.float32)
    for name in ("stn_mel", "stn_f0", "stn_energy"):
        assert extract(presets[name], x, 22050).shape[0] == n // 256
