import json

import pytest

from local.prepare_voxceleb1 import prepare_voxceleb1
from pystn.io import DataError
from tests.local.fixtures import load_splits, write_empty, write_lines, write_tone

# speaker -> (gender, set, videos)
SPEAKERS = {"id10001": ("m", "dev", ["1zcIwhmdeo4"]), "id10002": ("f", "dev", ["C7k7C-PDvAA"]),
            "id10003": ("m", "dev", ["_5fU5wL9BXA"]), "id10004": ("f", "dev", ["a1b2c3d4e5f"]),
            "id10270": ("m", "test", ["x6uYqmx31kE", "5r0dWxy17C8"]), "id10300": ("f", "test", ["ize_eiCFEg0"])}
TRIALS = ["1 id10270/x6uYqmx31kE/00001.wav id10270/5r0dWxy17C8/00001.wav",
          "0 id10270/x6uYqmx31kE/00001.wav id10300/ize_eiCFEg0/00003.wav",
          "1 id10300/ize_eiCFEg0/00001.wav id10300/ize_eiCFEg0/00003.wav"]


def make_vox(root, split_download=False):
    for spk, (_, part, videos) in SPEAKERS.items():
        base = root / (f"vox1_{part}_wav/wav" if split_download else "wav")
        for v, video in enumerate(videos):
            for i in (1, 3):
                write_tone(base / spk / video / f"{i:05d}.wav", 0.1 + 0.05 * i, seed=v)
    write_lines(root / "vox1_meta.csv", ["VoxCeleb1 ID\tVGGFace1 ID\tGender\tNationality\tSet"]
                + [f"{s}\tA.J._Buckley\t{g}\tIreland\t{p} " for s, (g, p, _) in SPEAKERS.items()])
    write_lines(root / "veri_test2.txt", TRIALS)
    return root


def test_voxceleb1_ids_sets_gender_and_trials(tmp_path):
    root = make_vox(tmp_path / "vox1")
    prepare_voxceleb1(root, tmp_path / "out", seed=1, val_fraction=0.25)
    dirs = load_splits(tmp_path / "out")
    test = dirs["test"]
    assert sorted(set(test.utt2spk.values())) == ["id10270", "id10300"]
    assert "id10270-x6uYqmx31kE-00001" in test.utts
    assert test.utt2spk["id10270-x6uYqmx31kE-00001"] == "id10270"
    assert sorted(test.trials) == [
        ("id10270-x6uYqmx31kE-00001", "id10270-5r0dWxy17C8-00001", "target"),
        ("id10270-x6uYqmx31kE-00001", "id10300-ize_eiCFEg0-00003", "nontarget"),
        ("id10300-ize_eiCFEg0-00001", "id10300-ize_eiCFEg0-00003", "target")]
    assert test.maps["utt2gender"]["id10300-ize_eiCFEg0-00003"] == "f"
    assert float(test.maps["utt2dur"]["id10300-ize_eiCFEg0-00003"]) == pytest.approx(0.25, abs=0.002)
    split = json.loads((tmp_path / "out" / "speaker_split.json").read_text())
    assert len(split["val"]) == 1 and len(split["train"]) == 3
    assert sorted(split["train"] + split["val"]) == ["id10001", "id10002", "id10003", "id10004"]
    assert not dirs["train"].trials and not dirs["val"].trials
    dev_gender = {**dirs["train"].maps["utt2gender"], **dirs["val"].maps["utt2gender"]}
    assert dev_gender == {f"{s}-{SPEAKERS[s][2][0]}-{i:05d}": SPEAKERS[s][0]
                          for s in ("id10001", "id10002", "id10003", "id10004") for i in (1, 3)}
    prepare_voxceleb1(root, tmp_path / "again", seed=1, val_fraction=0.25)
    assert json.loads((tmp_path / "again" / "speaker_split.json").read_text()) == split


def test_voxceleb1_separate_downloads_and_cleaned_trial_name(tmp_path):
    root = make_vox(tmp_path / "vox1", split_download=True)
    (root / "veri_test2.txt").rename(root / "List of trial pairs - VoxCeleb1 (cleaned).txt")
    prepare_voxceleb1(root, tmp_path / "out", seed=2, val_fraction=0.25,
                      trials="List of trial pairs - VoxCeleb1 (cleaned).txt")
    test = load_splits(tmp_path / "out")["test"]
    assert len(test.trials) == 3
    assert test.wavs["id10270-5r0dWxy17C8-00001"].endswith("vox1_test_wav/wav/id10270/5r0dWxy17C8/00001.wav")


def test_voxceleb1_errors(tmp_path):
    with pytest.raises(DataError, match=r"corpora\.voxceleb1\.root"):
        prepare_voxceleb1(None, tmp_path / "out", seed=1)
    root = make_vox(tmp_path / "a")
    with pytest.raises(DataError, match=r"corpora\.voxceleb1\.trials"):
        prepare_voxceleb1(root, tmp_path / "out", seed=1, trials="veri_test.txt")
    (root / "wav" / "id10300" / "ize_eiCFEg0" / "00003.wav").unlink()
    with pytest.raises(DataError, match=r"veri_test2\.txt:2 id10300/ize_eiCFEg0/00003\.wav"):
        prepare_voxceleb1(root, tmp_path / "out", seed=1, val_fraction=0.25)
    prepare_voxceleb1(root, tmp_path / "dropped", seed=1, val_fraction=0.25, drop_missing_trials=True)
    assert load_splits(tmp_path / "dropped")["test"].trials == [
        ("id10270-x6uYqmx31kE-00001", "id10270-5r0dWxy17C8-00001", "target")]
    write_empty(root / "wav" / "id10300" / "ize_eiCFEg0" / "00003.wav")
    with pytest.raises(DataError, match=r"id10300-ize_eiCFEg0-00003.*empty.*00003\.wav"):
        prepare_voxceleb1(root, tmp_path / "out", seed=1, val_fraction=0.25)
    write_tone(root / "wav" / "id10300" / "ize_eiCFEg0" / "00003.wav")
    write_tone(root / "wav" / "id10999" / "abc" / "00001.wav")
    with pytest.raises(DataError, match=r"not in .*vox1_meta\.csv.*id10999"):
        prepare_voxceleb1(root, tmp_path / "out", seed=1, val_fraction=0.25)
