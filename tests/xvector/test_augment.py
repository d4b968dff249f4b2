"""Augmentation (SNR, RIR decay, MUSAN folders), phone transcripts, trials."""

import numpy as np
import pytest
import soundfile as sf

from pystn import augment as A
from pystn import phonemes as P
from pystn.backend import make_trials, trial_arrays
from pystn.io import DataError

SR = 16000


def speechlike(n=SR, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    return (0.3 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t)) + 0.01 * rng.standard_normal(n)
            ).astype(np.float32)


@pytest.mark.parametrize("snr", [0.0, 10.0, 20.0])
def test_add_at_snr_hits_the_target(snr):
    x = speechlike()
    noise = A.coloured_noise(len(x), np.random.default_rng(1), alpha=1.0)
    y = A.add_at_snr(x, noise, snr)
    measured = 10 * np.log10(A.power(x) / A.power(y - x))
    assert measured == pytest.approx(snr, abs=1e-3)


def test_coloured_noise_slope_and_music_pitch():
    rng = np.random.default_rng(0)
    brown = A.coloured_noise(2 ** 15, rng, alpha=2.0)
    spec = np.abs(np.fft.rfft(brown)) ** 2
    f = np.fft.rfftfreq(len(brown))
    lo, hi = spec[(f > 0.001) & (f < 0.01)].mean(), spec[(f > 0.1) & (f < 0.2)].mean()
    assert lo / hi > 100  # 1/f^2: ~ (0.15 / 0.005)^2 = 900 between the bands
    m = A.music_tones(SR, SR, np.random.default_rng(2))
    assert m.shape == (SR,) and np.isfinite(m).all() and abs(np.std(m) - 1) < 1e-3


def test_simulated_rir_decays_by_rt60_and_reverb_matches_fftconvolve():
    import torch
    import torchaudio.functional as taf

    rng = np.random.default_rng(0)
    rir = A.simulated_rir(SR, rng, rt60=0.5)
    assert np.argmax(np.abs(rir)) == 0 and np.sum(rir ** 2) == pytest.approx(1.0, rel=1e-5)
    tail = rir[int(0.02 * SR):]
    e_early = np.mean(tail[: int(0.05 * SR)] ** 2)
    e_late = np.mean(tail[int(0.40 * SR): int(0.45 * SR)] ** 2)
    assert 10 * np.log10(e_early / e_late) == pytest.approx(60 * 0.4 / 0.5, abs=6)  # 48 dB over 0.4 s
    x = speechlike()
    y = A.reverberate(x, rir)
    ref = taf.fftconvolve(torch.from_numpy(x), torch.from_numpy(rir)).numpy()[: len(x)]
    ref *= np.sqrt(A.power(x) / A.power(ref))
    assert np.allclose(y, ref, atol=1e-4)


def test_augmenter_simulated_kinds_and_babble(tmp_path):
    pool = []
    for i in range(4):
        p = tmp_path / f"u{i}.wav"
        sf.write(p, speechlike(SR // 2, seed=i), SR)
        pool.append(str(p))
    aug = A.Augmenter(SR, A.KINDS, pool)
    x = speechlike()
    rng = np.random.default_rng(0)
    for kind in A.KINDS:
        y, used = aug(x, rng, kind)
        assert used == kind and y.shape == x.shape and y.dtype == np.float32
        assert not np.allclose(y, x)
        if kind != "reverb":
            lo, hi = A.SNR_RANGES[kind]
            assert lo - 1e-3 <= 10 * np.log10(A.power(x) / A.power(y - x)) <= hi + 1e-3
    drawn = {aug(x, np.random.default_rng(s))[1] for s in range(40)}
    assert drawn == set(A.KINDS)
    y1, _ = aug(x, np.random.default_rng(7))
    y2, _ = aug(x, np.random.default_rng(7))
    assert np.array_equal(y1, y2)  # deterministic from the seed


def test_musan_and_rirs_folders(tmp_path):
    with pytest.raises(DataError, match="MUSAN noise folder .* does not exist"):
        A.Augmenter(SR, ["noise"], musan=str(tmp_path / "nowhere"))
    for sub in ("noise", "music", "speech"):
        (tmp_path / "musan" / sub / "x").mkdir(parents=True)
        sf.write(tmp_path / "musan" / sub / "x" / "a.wav", speechlike(SR // 4, seed=3), SR)
    (tmp_path / "rirs" / "simulated_rirs" / "room").mkdir(parents=True)
    rir = np.zeros(800, dtype=np.float32)
    rir[0] = 1.0  # identity RIR: reverberation must leave x unchanged
    sf.write(tmp_path / "rirs" / "simulated_rirs" / "room" / "r.wav", rir, SR)
    aug = A.Augmenter(SR, A.KINDS, musan=str(tmp_path / "musan"), rirs=str(tmp_path / "rirs"))
    x = speechlike()
    y, _ = aug(x, np.random.default_rng(0), "reverb")
    assert np.allclose(y, x, atol=1e-4)
    y, _ = aug(x, np.random.default_rng(0), "music")
    assert 5 - 1e-3 <= 10 * np.log10(A.power(x) / A.power(y - x)) <= 15 + 1e-3


def test_phones_of_text_and_inventory(tmp_path):
    assert P.split_ipa("h_ə_l_ˈoʊ w_ˈɜː_l_d") == ["h", "ə", "l", "oʊ", "w", "ɜː", "l", "d"]
    phones = P.phones_of_text("HELLO WORLD")
    assert phones == ["h", "ə", "l", "oʊ", "w", "ɜː", "l", "d"]
    cache = P.PhoneCache(tmp_path / "c.json")
    seqs = P.phones_of_utts({"a": "HELLO WORLD", "b": "HELLO"}, cache)
    assert seqs["b"] == ["h", "ə", "l", "oʊ"] and (tmp_path / "c.json").is_file()
    assert P.PhoneCache(tmp_path / "c.json").table["HELLO"] == "h ə l oʊ"
    inv = P.build_inventory(seqs.values())
    assert inv[0] == P.BLANK and inv[1:] == sorted(set(phones))
    assert P.encode(["l", "d"], inv) == [inv.index("l"), inv.index("d")]
    with pytest.raises(DataError, match="utt7: phone 'zz'"):
        P.encode(["zz"], inv, "utt7")


def test_upper_case_transcripts_are_read_as_words_not_letters():
    # espeak-ng spells upper-case "IT" as letters (aɪ t iː); the audio of the sentence says ɪ t
    assert P.phones_of_text("IT SNOWED") == P.phones_of_text("it snowed") == ["ɪ", "t", "s", "n", "oʊ", "d"]


def test_trials_are_balanced_deterministic_and_valid():
    utt2spk = {f"s{s}_u{u}": f"s{s}" for s in range(4) for u in range(5)}
    trials = make_trials(utt2spk, 30, seed=3)
    assert trials == make_trials(utt2spk, 30, seed=3) and trials != make_trials(utt2spk, 30, seed=4)
    tar = [t for t in trials if t[2] == "target"]
    non = [t for t in trials if t[2] == "nontarget"]
    assert len(tar) == len(non) == 30
    assert all(utt2spk[a] == utt2spk[b] and a != b for a, b, _ in tar)
    assert all(utt2spk[a] != utt2spk[b] for a, b, _ in non)
    assert len(set(trials)) == 60
    assert len(make_trials(utt2spk, 10_000, seed=0)) == 2 * 4 * 10  # all 40 target pairs, 40 non-target
    keys = sorted(utt2spk)
    pairs, labels = trial_arrays(trials, keys, keys)
    assert labels.sum() == 30 and keys[pairs[0, 0]] == trials[0][0]
    with pytest.raises(KeyError, match="zz"):
        trial_arrays([("zz", keys[0], "target")], keys, keys)
