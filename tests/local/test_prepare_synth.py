"""The synthetic corpus: deterministic from the seed, parallel, prosody styles that differ."""

import hashlib
import json

import numpy as np
import pytest
import soundfile as sf

from local.prepare_synth import prepare_synth
from pystn.data import read_data_dir, validate_data_dir
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


def test_same_seed_is_byte_identical_and_other_seed_differs(corpus, tmp_path):
    prepare_synth(None, tmp_path / "a", seed=7, **SMALL)
    # paths inside wav.scp differ by root: compare with the root stripped
    assert digest_tree(tmp_path / "a" / "wavs") == digest_tree(corpus / "a" / "wavs")
    for split in ("train", "val", "test"):
        for name in ("utt2spk", "text", "utt2emo", "utt2dur", "spk2utt"):
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
