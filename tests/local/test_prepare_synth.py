"""The synthetic corpus: deterministic from the seed, parallel, prosody styles that differ."""

import hashlib
import os
import json

import numpy as np
import pytest
import soundfile as sf

from local.prepare_synth import prepare_synth
from pystn.data import read_alignment, read_data_dir, validate_data_dir
from pystn.phonemes import phones_of_text
from pystn.io import DataError

SMALL = dict(n_speakers=5, n_sentences=3, emotions=["neutral", "happy", "sad", "angry"],
             split={"train": 3, "val": 1, "test": 1}, nj=2)


def digest_tree(root):
    """sha256 of every file's relative path and bytes (the audio, the data dirs, the split)."""
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    prepare_synth(None, root / "a", seed=7, **SMALL)
    return root


def test_data_dirs_are_valid_and_parallel(corpus):
    splits = {s: read_data_dir(corpus / "a" / s) for s in ("train", "val", "test")}
    for name, data in splits.items():
        validate_data_dir(data, name)
        assert set(data.maps) >= {"text", "utt2emo", "utt2gender", "utt2dur"}
    spk_sets = [set(d.utt2spk.values()) for d in splits.values()]
    assert [len(s) for s in spk_sets] == [3, 1, 1]
    assert not (spk_sets[0] & spk_sets[2]), "test speakers must be unseen in training"
    train = splits["train"]
    # parallel: every speaker says every sentence in every emotion
    assert len(train.utts) == 3 * 3 * 4
    texts = {u.split("_", 1)[1]: t for u, t in train.maps["text"].items()}
    for utt, text in train.maps["text"].items():
        assert texts[utt.split("_", 1)[1]] == text
    assert all(v.isupper() for v in train.maps["text"].values())


def test_phone_alignment_matches_transcript_and_audio(corpus):
    data = read_data_dir(corpus / "a" / "train")
    for utt in data.utts[:6]:
        segs = read_alignment(data.maps["phone_ali"][utt], utt)
        # espeak-ng's phoneme events name the phones that the transcript's lower-cased text gives
        assert [p for p, _, _ in segs] == phones_of_text(data.maps["text"][utt])
        assert 0 < segs[0][1] and segs[-1][2] <= float(data.maps["utt2dur"][utt]) + 0.01
        audio, sr = sf.read(data.wavs[utt])
        # the speech lies inside the aligned span: outside it only the -60 dBFS floor and pauses
        inside = audio[int(segs[0][1] * sr): int(segs[-1][2] * sr)]
        assert np.sqrt(np.mean(inside ** 2)) > 10 * np.sqrt(np.mean(audio[: int(segs[0][1] * sr)] ** 2))


def speak_once(*args):
    from pystn.espeak_synth import EspeakSynth

    return EspeakSynth().speak(*args)


def test_library_audio_equals_command_line_audio():
    import ctypes
    import ctypes.util
    import subprocess
    from multiprocessing import get_context

    text = '<speak><prosody pitch="+25%" rate="115%">Two blue fish swam in the tank.</prosody></speak>'
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    for voice, pitch, rate in (("en-us+f3", 60, 160), ("en-us+m2", 30, 140)):
        libc.rand()  # another library in this process used rand(): +f3's breath noise must not follow it
        with get_context("fork").Pool(1) as pool:  # a fresh library, as the preparer uses it
            lib, sr, _ = pool.apply(speak_once, (text, voice, pitch, rate))
        raw = subprocess.run(["espeak-ng", "-m", "-v", voice, "-p", str(pitch), "-s", str(rate), "--stdout", text],
                             capture_output=True, check=True).stdout
        cli = np.frombuffer(raw[44:], dtype="<i2")  # past the 44-byte streaming WAV header
        assert sr == 22050 and np.array_equal(lib, cli)


def test_bad_alignment_is_named():
    with pytest.raises(DataError, match="spk1_u1: expected 'phone start end' triples"):
        read_alignment("a 0.1 0.2 b 0.3", "spk1_u1")
    with pytest.raises(DataError, match="ordered"):
        read_alignment("a 0.1 0.3 b 0.2 0.4", "spk1_u1")


def test_same_seed_is_byte_identical_and_other_seed_differs(corpus, tmp_path):
    prepare_synth(None, tmp_path / "a", seed=7, **SMALL)
    # paths inside wav.scp differ by root: compare with the root stripped
    assert digest_tree(tmp_path / "a" / "wavs") == digest_tree(corpus / "a" / "wavs")
    for split in ("train", "val", "test"):
        for name in ("utt2spk", "text", "utt2emo", "utt2dur", "spk2utt", "phone_ali"):
            assert (tmp_path / "a" / split / name).read_bytes() == (corpus / "a" / split / name).read_bytes()
    prepare_synth(None, tmp_path / "b", seed=8, **SMALL)
    a = json.loads((corpus / "a" / "speakers.json").read_text())
    b = json.loads((tmp_path / "b" / "speakers.json").read_text())
    assert a["speakers"] != b["speakers"] or a["sentences"] != b["sentences"]
    assert len(b["speakers"]) == len(a["speakers"]) and len(b["sentences"]) == len(a["sentences"])
    assert digest_tree(tmp_path / "b" / "wavs") != digest_tree(corpus / "a" / "wavs")


def rms(path):
    audio, _ = sf.read(path)
    return float(np.sqrt(np.mean(audio ** 2)))


def test_emotion_styles_change_rate_and_loudness(corpus):
    data = read_data_dir(corpus / "a" / "train")
    durs = {e: [] for e in SMALL["emotions"]}
    loud = {e: [] for e in SMALL["emotions"]}
    for utt, emo in data.maps["utt2emo"].items():
        durs[emo].append(float(data.maps["utt2dur"][utt]))
        loud[emo].append(rms(data.wavs[utt]))
    assert np.mean(durs["sad"]) > np.mean(durs["neutral"]) > np.mean(durs["angry"])
    assert np.mean(loud["angry"]) > np.mean(loud["neutral"]) > np.mean(loud["sad"])


def test_bad_settings_name_the_key(tmp_path):
    with pytest.raises(DataError, match="n_sentences"):
        prepare_synth(None, tmp_path, seed=1, n_sentences=1000)
    with pytest.raises(DataError, match="emotions"):
        prepare_synth(None, tmp_path, seed=1, emotions=["bored"])


def _square_or_fail(x):
    if x < 0:
        raise DataError(f"negative {x}")
    return x * x, os.getpid()


def test_map_forked_keeps_order_isolates_calls_and_reraises():
    from pystn.espeak_synth import map_forked

    out = map_forked(_square_or_fail, [(i,) for i in range(5)], workers=2)
    assert [v for v, _ in out] == [0, 1, 4, 9, 16]
    assert os.getpid() not in {pid for _, pid in out}  # each call ran in a child
    with pytest.raises(DataError, match="negative -2"):
        map_forked(_square_or_fail, [(1,), (-2,), (3,)], workers=2)


def test_word_pitch_offsets_spread_the_declination_and_add_the_final_rise():
    from local.prepare_synth import Speaker, word_pitch_offsets

    spk = Speaker("s", "m1", "m", 50, 160, declination=20, final_rise=30)
    assert word_pitch_offsets(5, spk) == [10, 5, 0, -5, -10 + 30]
    assert word_pitch_offsets(1, spk) == [30]
    rising = Speaker("s", "m1", "m", 50, 160, declination=-8, final_rise=0)
    assert word_pitch_offsets(3, rising) == [-4, 0, 4]


def test_ssml_wraps_each_word_in_its_offset_inside_the_emotion_style():
    from local.prepare_synth import EMOTION_STYLES, Speaker, ssml

    spk = Speaker("s", "m1", "m", 50, 160, declination=20, final_rise=30)
    text = ssml("Two blue fish.", EMOTION_STYLES["sad"], spk)
    assert text == ('<speak><prosody pitch="-15%" range="x-low" rate="80%" volume="soft">'
                    '<prosody pitch="+10%">Two</prosody> <prosody pitch="+0%">blue</prosody> '
                    '<prosody pitch="+20%">fish.</prosody></prosody></speak>')
    # without a habit (the default corpus) the sentence is spoken as it always was
    plain = Speaker("s", "m1", "m", 50, 160)
    assert ssml("Two blue fish.", EMOTION_STYLES["sad"], plain) == (
        '<speak><prosody pitch="-15%" range="x-low" rate="80%" volume="soft">Two blue fish.</prosody></speak>')


def test_intonation_habits_have_their_own_random_stream():
    import random

    from local.prepare_synth import draw_speakers

    habits = {"declination": [-10, 30], "final_rise": [0, 40]}
    plain = draw_speakers(8, random.Random(3))
    a = draw_speakers(8, random.Random(3), habits, random.Random(1))
    b = draw_speakers(8, random.Random(3), habits, random.Random(2))
    voice = [(s.variant, s.pitch, s.rate) for s in plain]
    assert voice == [(s.variant, s.pitch, s.rate) for s in a] == [(s.variant, s.pitch, s.rate) for s in b]
    assert all(s.declination == s.final_rise == 0 for s in plain)
    assert [(s.declination, s.final_rise) for s in a] != [(s.declination, s.final_rise) for s in b]
    assert all(-10 <= s.declination <= 30 and 0 <= s.final_rise <= 40 for s in a + b)


@pytest.mark.parametrize("bad, key", [
    ({"declination": [-10, 30]}, r"corpora\.synth\.intonation: expected"),
    ({"declination": [30, -10], "final_rise": [0, 40]}, r"intonation\.declination"),
    ({"declination": [-10, 30], "final_rise": [0, 0.5]}, r"intonation\.final_rise"),
])
def test_bad_intonation_names_the_key(tmp_path, bad, key):
    with pytest.raises(DataError, match=key):
        prepare_synth(None, tmp_path, seed=1, intonation=bad)


def voiced_log_f0(path):
    from pystn.features.prosody import track_f0

    audio, sr = sf.read(path)
    f0 = track_f0(audio, sr, "rapt", 256, 60, 400)
    return np.log(f0[f0 > 0])


def test_intonation_habits_shape_the_pitch_contour(tmp_path):
    """In the audio: a declining speaker's pitch falls from the sentence's first half to its second
    more than a rising one's, and a final rise lifts the last voiced frames."""
    from local.prepare_synth import EMOTION_STYLES, Speaker, ssml, synthesize

    sentence = "The birch canoe slid on the smooth planks."

    def contour(name, declination, final_rise):
        spk = Speaker("s", "m3", "m", 50, 160, declination=declination, final_rise=final_rise)
        synthesize(ssml(sentence, EMOTION_STYLES["neutral"], spk), spk, tmp_path / f"{name}.wav", 22050, 0)
        return voiced_log_f0(tmp_path / f"{name}.wav")

    def fall(lf0):
        half = len(lf0) // 2
        return lf0[:half].mean() - lf0[half:].mean()

    flat, declining, rising = contour("flat", 0, 0), contour("declining", 30, 0), contour("rising", -10, 0)
    assert fall(declining) > fall(flat) > fall(rising)
    uptalk = contour("uptalk", 0, 40)
    tail = max(len(flat) // 8, 3)
    assert uptalk[-tail:].mean() > flat[-tail:].mean() + np.log(1.15)


def test_intonation_reaches_the_corpus_and_leaves_the_other_draws(tmp_path):
    tiny = dict(n_speakers=3, n_sentences=1, emotions=["neutral"], split={"train": 1, "val": 1, "test": 1})
    habits = {"declination": [10, 30], "final_rise": [20, 40]}
    prepare_synth(None, tmp_path / "plain", seed=5, **tiny)
    prepare_synth(None, tmp_path / "habit", seed=5, intonation=habits, **tiny)
    plain = json.loads((tmp_path / "plain" / "speakers.json").read_text())
    habit = json.loads((tmp_path / "habit" / "speakers.json").read_text())
    assert plain["sentences"] == habit["sentences"]
    for p, h in zip(plain["speakers"], habit["speakers"]):
        assert (p["variant"], p["pitch"], p["rate"]) == (h["variant"], h["pitch"], h["rate"])
        assert 10 <= h["declination"] <= 30 and 20 <= h["final_rise"] <= 40
    assert digest_tree(tmp_path / "plain" / "wavs") != digest_tree(tmp_path / "habit" / "wavs")
    for split in ("train", "val", "test"):  # the words and their phones are the same
        assert (tmp_path / "plain" / split / "text").read_bytes() == (tmp_path / "habit" / split / "text").read_bytes()
        maps = read_data_dir(tmp_path / "habit" / split).maps
        for u, text in maps["text"].items():
            assert [p for p, _, _ in read_alignment(maps["phone_ali"][u], u)] == phones_of_text(text)
