import json

import pytest

from local.prepare_iemocap import prepare_iemocap
from pystn.io import DataError
from tests.local.fixtures import load_splits, write_empty, write_lines, write_tone

# (turn suffix, label) per dialog; both actors speak in every dialog.
TURNS = [("F000", "neu"), ("M000", "exc"), ("F001", "xxx"), ("M001", "ang"), ("F002", "sad"), ("M002", "hap")]


def make_session(root, s, dialogs=("impro01", "script01_1")):
    sdir = root / f"Session{s}"
    for dialog_tag in dialogs:
        dialog = f"Ses{s:02d}F_{dialog_tag}"
        labels, trans = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""], []
        for k, (turn, label) in enumerate(TURNS):
            utt = f"{dialog}_{turn}"
            labels += [f"[{k + 1.0:.4f} - {k + 1.5:.4f}]\t{utt}\t{label}\t[2.5000, 2.5000, 2.5000]",
                       "C-E1:\tNeutral;\t()", ""]
            trans.append(f"{utt} [{k + 1:03d}.0000-{k + 1:03d}.5000]: Line {k} of {dialog}.")
            write_tone(sdir / "sentences" / "wav" / dialog / f"{utt}.wav", 0.1 + 0.02 * k, seed=k)
        trans.append(f"{dialog}_MXX0 [020.0000-021.0000]: Overlap with no audio.")
        write_lines(sdir / "dialog" / "EmoEvaluation" / f"{dialog}.txt", labels)
        write_lines(sdir / "dialog" / "transcriptions" / f"{dialog}.txt", trans)


def make_corpus(root, sessions=(1, 2, 3)):
    for s in sessions:
        make_session(root, s)
    return root


def test_iemocap_ids_labels_gender_text_and_session_split(tmp_path):
    root = make_corpus(tmp_path / "IEMOCAP_full_release")
    prepare_iemocap(root, tmp_path / "out", seed=1, sessions=[1, 2, 3], test_session=3, val_session=1)
    dirs = load_splits(tmp_path / "out")
    assert sorted(set(dirs["test"].utt2spk.values())) == ["Ses03F", "Ses03M"]
    assert sorted(set(dirs["val"].utt2spk.values())) == ["Ses01F", "Ses01M"]
    train = dirs["train"]
    assert sorted(train.utts) == ["Ses02F-Ses02F_impro01_F000", "Ses02F-Ses02F_impro01_F002",
                                  "Ses02M-Ses02F_impro01_M001", "Ses02M-Ses02F_impro01_M002"]
    assert train.utt2spk["Ses02M-Ses02F_impro01_M001"] == "Ses02M"
    assert train.maps["utt2emo"] == {"Ses02F-Ses02F_impro01_F000": "neu", "Ses02F-Ses02F_impro01_F002": "sad",
                                     "Ses02M-Ses02F_impro01_M001": "ang", "Ses02M-Ses02F_impro01_M002": "hap"}
    assert train.maps["utt2gender"]["Ses02M-Ses02F_impro01_M001"] == "m"
    assert train.maps["utt2gender"]["Ses02F-Ses02F_impro01_F002"] == "f"
    assert train.maps["text"]["Ses02F-Ses02F_impro01_F002"] == "Line 4 of Ses02F_impro01."
    assert float(train.maps["utt2dur"]["Ses02M-Ses02F_impro01_M001"]) == pytest.approx(0.16, abs=0.002)
    assert train.wavs["Ses02F-Ses02F_impro01_F000"].endswith("Session2/sentences/wav/Ses02F_impro01/"
                                                             "Ses02F_impro01_F000.wav")
    split = json.loads((tmp_path / "out" / "speaker_split.json").read_text())
    assert split["train"] == ["Ses02F", "Ses02M"]


def test_iemocap_exc_merge_and_scripted_subset(tmp_path):
    root = make_corpus(tmp_path / "IEMOCAP")
    prepare_iemocap(root, tmp_path / "out", seed=1, sessions=[1, 2, 3], test_session=3, val_session=2,
                    subset="all", merge_exc_into_hap=True)
    emo = load_splits(tmp_path / "out")["train"].maps["utt2emo"]
    assert emo["Ses01M-Ses01F_impro01_M000"] == "hap"  # exc merged
    assert emo["Ses01M-Ses01F_script01_1_M000"] == "hap"
    assert not any("F001" in u for u in emo)  # xxx dropped
    assert len(emo) == 10
    prepare_iemocap(root, tmp_path / "scripted", seed=1, sessions=[1, 2, 3], test_session=3, val_session=2,
                    subset="scripted", classes=["neu", "hap", "ang", "sad", "exc"])
    emo = load_splits(tmp_path / "scripted")["train"].maps["utt2emo"]
    assert all("script01_1" in u for u in emo)
    assert emo["Ses01M-Ses01F_script01_1_M000"] == "exc"


def test_iemocap_errors(tmp_path):
    with pytest.raises(DataError, match=r"corpora\.iemocap\.root"):
        prepare_iemocap(None, tmp_path / "out", seed=1)
    root = make_corpus(tmp_path / "A")
    with pytest.raises(DataError, match=r"Session4.*corpora\.iemocap\.sessions"):
        prepare_iemocap(root, tmp_path / "out", seed=1)
    with pytest.raises(DataError, match=r"test_session=5"):
        prepare_iemocap(root, tmp_path / "out", seed=1, sessions=[1, 2, 3])
    (root / "Session2" / "sentences" / "wav" / "Ses02F_impro01" / "Ses02F_impro01_M001.wav").unlink()
    with pytest.raises(DataError, match=r"Ses02F_impro01\.txt.*Ses02F_impro01_M001.*no audio"):
        prepare_iemocap(root, tmp_path / "out", seed=1, sessions=[1, 2, 3], test_session=3, val_session=1)
    root = make_corpus(tmp_path / "B")
    write_empty(root / "Session1" / "sentences" / "wav" / "Ses01F_impro01" / "Ses01F_impro01_F002.wav")
    with pytest.raises(DataError, match=r"Ses01F-Ses01F_impro01_F002.*empty.*Ses01F_impro01_F002\.wav"):
        prepare_iemocap(root, tmp_path / "out", seed=1, sessions=[1, 2, 3], test_session=3, val_session=1)
    root = make_corpus(tmp_path / "C")
    tr = root / "Session2" / "dialog" / "transcriptions" / "Ses02F_impro01.txt"
    tr.write_text("".join(line + "\n" for line in tr.read_text().splitlines() if "_F000" not in line))
    with pytest.raises(DataError, match=r"Ses02F_impro01_F000.*no transcript.*transcriptions/Ses02F_impro01\.txt"):
        prepare_iemocap(root, tmp_path / "out", seed=1, sessions=[1, 2, 3], test_session=3, val_session=1)
