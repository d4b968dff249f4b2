import json

import pytest

from local.prepare_librispeech import prepare_librispeech
from pystn.io import DataError
from tests.local.fixtures import load_splits, write_empty, write_lines, write_tone

# subset -> [(speaker, chapter, n_utts)]
LAYOUT = {"train-clean-100": [("19", "198", 2), ("103", "1240", 2), ("1034", "121119", 1)],
          "dev-clean": [("84", "121123", 2)], "test-clean": [("1089", "134686", 3)]}
SEX = {"19": "F", "103": "F", "1034": "M", "84": "F", "1089": "M"}
SUBSETS = list(LAYOUT)


def make_libri(top):
    root = top / "LibriSpeech"
    for subset, chapters in LAYOUT.items():
        for spk, chapter, n in chapters:
            cdir = root / subset / spk / chapter
            lines = []
            for i in range(n):
                utt = f"{spk}-{chapter}-{i:04d}"
                write_tone(cdir / f"{utt}.flac", 0.1 + 0.05 * i, seed=i)
                lines.append(f"{utt} WORDS OF {spk} NUMBER {i}")
            write_lines(cdir / f"{spk}-{chapter}.trans.txt", lines)
    write_lines(root / "SPEAKERS.TXT", ["; Some comment", ";ID  |SEX| SUBSET           |MINUTES| NAME"]
                + [f"{s:<5}| {g} | train-clean-100  | 25.0 | Reader {s}" for s, g in SEX.items()])
    return root


def test_librispeech_subset_split_text_gender_durations(tmp_path):
    make_libri(tmp_path)
    prepare_librispeech(tmp_path, tmp_path / "out", seed=1, subsets=SUBSETS)  # finds <top>/LibriSpeech
    dirs = load_splits(tmp_path / "out")
    assert dirs["train"].utts == ["103-1240-0000", "103-1240-0001", "1034-121119-0000",
                                  "19-198-0000", "19-198-0001"]
    assert dirs["val"].utts == ["84-121123-0000", "84-121123-0001"]
    assert dirs["test"].utt2spk["1089-134686-0002"] == "1089"
    assert dirs["train"].maps["text"]["19-198-0001"] == "WORDS OF 19 NUMBER 1"
    assert dirs["train"].maps["utt2gender"] == {u: SEX[u.split("-")[0]].lower() for u in dirs["train"].utts}
    assert float(dirs["test"].maps["utt2dur"]["1089-134686-0002"]) == pytest.approx(0.2, abs=0.002)
    assert dirs["val"].wavs["84-121123-0001"].endswith("dev-clean/84/121123/84-121123-0001.flac")
    assert json.loads((tmp_path / "out" / "speaker_split.json").read_text()) == {
        "train": ["103", "1034", "19"], "val": ["84"], "test": ["1089"]}


def test_librispeech_speaker_split_option(tmp_path):
    root = make_libri(tmp_path)
    prepare_librispeech(root, tmp_path / "a", seed=7, subsets=SUBSETS, split={"train": 3, "val": 1, "test": 1})
    prepare_librispeech(root, tmp_path / "b", seed=7, subsets=SUBSETS, split={"train": 3, "val": 1, "test": 1})
    a = json.loads((tmp_path / "a" / "speaker_split.json").read_text())
    assert a == json.loads((tmp_path / "b" / "speaker_split.json").read_text())
    assert sorted(sum(a.values(), [])) == sorted(SEX)
    assert len(a["train"]) == 3


def test_librispeech_errors(tmp_path):
    with pytest.raises(DataError, match=r"corpora\.librispeech\.root"):
        prepare_librispeech(None, tmp_path / "out", seed=1)
    root = make_libri(tmp_path / "a")
    with pytest.raises(DataError, match=r"train-other-500.*corpora\.librispeech\.subsets"):
        prepare_librispeech(root, tmp_path / "out", seed=1, subsets=SUBSETS + ["train-other-500"])
    write_tone(root / "dev-clean" / "84" / "121123" / "84-121123-0009.flac")
    with pytest.raises(DataError, match=r"audio without a transcript.*84-121123-0009\.flac"):
        prepare_librispeech(root, tmp_path / "out", seed=1, subsets=SUBSETS)
    (root / "dev-clean" / "84" / "121123" / "84-121123-0009.flac").unlink()
    (root / "test-clean" / "1089" / "134686" / "1089-134686-0001.flac").unlink()
    with pytest.raises(DataError, match=r"transcripts without audio.*1089-134686\.trans\.txt:1089-134686-0001"):
        prepare_librispeech(root, tmp_path / "out", seed=1, subsets=SUBSETS)
    prepare_librispeech(root, tmp_path / "dropped", seed=1, subsets=SUBSETS, drop_unpaired=True)
    assert load_splits(tmp_path / "dropped")["test"].utts == ["1089-134686-0000", "1089-134686-0002"]
    empty = write_empty(tmp_path / "e.wav")
    empty.rename(root / "test-clean" / "1089" / "134686" / "1089-134686-0001.flac")
    with pytest.raises(DataError, match=r"1089-134686-0001.*empty"):
        prepare_librispeech(root, tmp_path / "out", seed=1, subsets=SUBSETS)
    with pytest.raises(DataError, match=r"splits \['val'\] have no speakers"):
        prepare_librispeech(root, tmp_path / "out", seed=1, subsets=["train-clean-100", "test-clean"],
                            drop_unpaired=True)
