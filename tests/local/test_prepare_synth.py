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
