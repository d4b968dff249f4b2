import json

import pytest

from local.prepare_esd import position_split, prepare_esd
from pystn.io import DataError
from tests.local.fixtures import load_splits, write_empty, write_lines, write_tone

POSITIONS = (1, 20, 21, 50, 51)  # within each 350 block: eval, eval, test, test, train
BLOCKS = {"Neutral": 0, "Angry": 1}


def utt_ids(spk, emotion):
    return [f"{spk}_{BLOCKS[emotion] * 350 + p:06d}" for p in POSITIONS]


def make_esd(top, speakers=("0011", "0015"), folders=False, encoding="utf-8"):
    """Flat layout under '<top>/Emotion Speech Dataset' (or the first release's split folders)."""
    root = top / "Emotion Speech Dataset"
    for spk in speakers:
        lines = []
        for emotion in BLOCKS:
            for k, utt in enumerate(utt_ids(spk, emotion)):
                sub = ("evaluation", "evaluation", "test", "test", "train")[k] if folders else ""
                write_tone(root / spk / emotion / sub / f"{utt}.wav", 0.1 + 0.02 * k, seed=k)
                lines.append(f"{utt}\tSentence {utt[-3:]} here.\t{emotion}")
        write_lines(root / spk / f"{spk}.txt", lines, encoding)
    return top


def test_position_split_follows_the_corpus_blocks():
    assert [position_split(f"0011_{n:06d}") for n in (1, 20, 21, 50, 51, 350, 351, 370, 371, 401, 1750)] == \
        ["val", "val", "test", "test", "train", "train", "val", "val", "test", "train", "train"]


def test_esd_corpus_split_emotions_gender_text(tmp_path):
    make_esd(tmp_path)
    prepare_esd(tmp_path, tmp_path / "out", seed=1, speakers=["0011", "0015"], emotions=["neutral", "angry"])
    dirs = load_splits(tmp_path / "out")
    assert dirs["val"].utts == ["0011_000001", "0011_000020", "0011_000351", "0011_000370",
                                "0015_000001", "0015_000020", "0015_000351", "0015_000370"]
    assert dirs["test"].utts == ["0011_000021", "0011_000050", "0011_000371", "0011_000400",
                                 "0015_000021", "0015_000050", "0015_000371", "0015_000400"]
    assert dirs["train"].utts == ["0011_000051", "0011_000401", "0015_000051", "0015_000401"]
    test = dirs["test"]
    assert test.maps["utt2emo"]["0011_000050"] == "neutral"
    assert test.maps["utt2emo"]["0015_000371"] == "angry"
    assert test.maps["utt2gender"] == {u: "m" if u.startswith("0011") else "f" for u in test.utts}
    assert test.maps["text"]["0015_000371"] == "Sentence 371 here."
    assert test.utt2spk["0015_000371"] == "0015"
    assert float(test.maps["utt2dur"]["0011_000050"]) == pytest.approx(0.16, abs=0.002)
    split = json.loads((tmp_path / "out" / "speaker_split.json").read_text())
    assert split == {s: ["0011", "0015"] for s in ("train", "val", "test")}


def test_esd_first_release_folders_speaker_info_and_speaker_split(tmp_path):
    make_esd(tmp_path, speakers=("0011", "0012", "0013"), folders=True)
    root = tmp_path / "Emotion Speech Dataset"
    # A folder overrides the position: move a training file into evaluation/.
    (root / "0012" / "Angry" / "train" / "0012_000401.wav").rename(
        root / "0012" / "Angry" / "evaluation" / "0012_000401.wav")
    prepare_esd(root, tmp_path / "out", seed=1, speakers=["0011", "0012", "0013"], emotions=["Neutral", "Angry"],
                speaker_info={"0011": "F", "12": "m", "0013": "male"})
    dirs = load_splits(tmp_path / "out")
    assert "0012_000401" in dirs["val"].utts and "0011_000401" in dirs["train"].utts
    assert dirs["train"].maps["utt2gender"]["0011_000051"] == "f"
    prepare_esd(root, tmp_path / "spk", seed=1, speakers=["0011", "0012", "0013"], emotions=["Neutral", "Angry"],
                split={"train": 1, "val": 1, "test": 1})
    split = json.loads((tmp_path / "spk" / "speaker_split.json").read_text())
    assert sorted(sum(split.values(), [])) == ["0011", "0012", "0013"]
    test_spk = split["test"][0]
    assert set(load_splits(tmp_path / "spk")["test"].utt2spk.values()) == {test_spk}
    assert len(load_splits(tmp_path / "spk")["test"].utts) == 10


def test_esd_encodings(tmp_path):
    make_esd(tmp_path / "a", speakers=("0011",), encoding="utf-16")  # UTF-16 with BOM is detected
    prepare_esd(tmp_path / "a", tmp_path / "out", seed=1, speakers=["0011"], emotions=["neutral", "angry"])
    assert load_splits(tmp_path / "out")["train"].maps["text"]["0011_000051"] == "Sentence 051 here."
    root = tmp_path / "b" / "Emotion Speech Dataset"
    make_esd(tmp_path / "b", speakers=("0001",))
    write_lines(root / "0001" / "0001.txt", [f"{u}\t打远一看，它们的确很是美丽。\t中立"
                                             for e in BLOCKS for u in utt_ids("0001", e)], "gbk")
    with pytest.raises(DataError, match=r"0001\.txt.*corpora\.esd\.encoding"):
        prepare_esd(root, tmp_path / "out2", seed=1, speakers=["0001"], emotions=["neutral", "angry"])
    prepare_esd(root, tmp_path / "out3", seed=1, speakers=["0001"], emotions=["neutral", "angry"], encoding="gbk")
    assert load_splits(tmp_path / "out3")["val"].maps["text"]["0001_000001"] == "打远一看，它们的确很是美丽。"
    assert load_splits(tmp_path / "out3")["val"].maps["utt2gender"]["0001_000001"] == "f"


def test_esd_errors_name_key_and_files(tmp_path):
    with pytest.raises(DataError, match=r"corpora\.esd\.root"):
        prepare_esd(tmp_path / "missing", tmp_path / "out", seed=1)
    make_esd(tmp_path / "a", speakers=("0011",))
    with pytest.raises(DataError, match=r"0012.*corpora\.esd\.speakers"):
        prepare_esd(tmp_path / "a", tmp_path / "out", seed=1, emotions=["neutral", "angry"])
    root = tmp_path / "a" / "Emotion Speech Dataset"
    (root / "0011" / "Angry" / "0011_000371.wav").unlink()
    with pytest.raises(DataError, match=r"transcripts without audio.*0011_000371"):
        prepare_esd(root, tmp_path / "out", seed=1, speakers=["0011"], emotions=["neutral", "angry"])
    write_tone(root / "0011" / "Angry" / "0011_000371.wav")
    write_tone(root / "0011" / "Angry" / "0011_000699.wav")
    with pytest.raises(DataError, match=r"audio without a transcript.*0011_000699\.wav"):
        prepare_esd(root, tmp_path / "out", seed=1, speakers=["0011"], emotions=["neutral", "angry"])
    (root / "0011" / "Angry" / "0011_000699.wav").unlink()
    write_empty(root / "0011" / "Angry" / "0011_000371.wav")
    with pytest.raises(DataError, match=r"0011_000371.*empty"):
        prepare_esd(root, tmp_path / "out", seed=1, speakers=["0011"], emotions=["neutral", "angry"])
