import json

import pytest

from local.prepare_vctk import prepare_vctk
from pystn.data import read_data_dir, validate_data_dir
from pystn.io import DataError
from tests.local.fixtures import write_empty, write_lines, write_tone

SPLIT = {"train": 2, "val": 1, "test": 1}
GENDERS = {"p225": "F", "p226": "M", "p227": "M", "p228": "F", "p315": "M"}


def make_092(root, utts=2, with_p315=True):
    """0.92 layout: flac mic1 + mic2 per utterance, except p227 has no mic2 and p228_002 no mic1."""
    for k, spk in enumerate(["p225", "p226", "p227", "p228"] + (["p315"] if with_p315 else [])):
        for i in range(1, utts + 1):
            utt = f"{spk}_{i:03d}"
            secs = 0.1 + 0.05 * i
            if spk != "p228" or i != 2:
                write_tone(root / "wav48_silence_trimmed" / spk / f"{utt}_mic1.flac", 0.3, sr=48000)
            if spk != "p227":
                write_tone(root / "wav48_silence_trimmed" / spk / f"{utt}_mic2.flac", secs, sr=48000, seed=k)
            if spk != "p315":
                write_lines(root / "txt" / spk / f"{utt}.txt", [f"Please call {spk} number {i}."])
    write_lines(root / "speaker-info.txt", ["ID  AGE  GENDER  ACCENTS  REGION COMMENTS"]
                + [f"{s}  23  {g}    English    Southern  England" for s, g in GENDERS.items()])


def read_all(out):
    dirs = {s: read_data_dir(out / s) for s in ("train", "val", "test")}
    for s, d in dirs.items():
        validate_data_dir(d, s)
    return dirs


def merged(dirs, name):
    """One map over all splits: 'wav.scp', 'utt2spk' or an optional map such as 'text'."""
    out = {}
    for d in dirs.values():
        out.update({"wav.scp": d.wavs, "utt2spk": d.utt2spk}.get(name) or d.maps[name])
    return out


def test_vctk_092_mic_choice_gender_text_and_split(tmp_path):
    make_092(tmp_path / "VCTK")
    prepare_vctk(tmp_path / "VCTK", tmp_path / "out", seed=3, split=SPLIT)
    dirs = read_all(tmp_path / "out")
    wavs = merged(dirs, "wav.scp")
    assert sorted(wavs) == [f"{s}_{i:03d}" for s in ("p225", "p226", "p227", "p228") for i in (1, 2)]
    assert wavs["p225_001"].endswith("p225/p225_001_mic2.flac")
    assert wavs["p227_001"].endswith("p227_001_mic1.flac")  # no mic2: falls back to mic1
    assert wavs["p228_002"].endswith("p228_002_mic2.flac")
    assert all(w.startswith("/") for w in wavs.values())
    assert merged(dirs, "utt2spk")["p226_002"] == "p226"
    assert merged(dirs, "utt2gender") == {u: GENDERS[u[:4]].lower() for u in wavs}
    assert merged(dirs, "text")["p226_002"] == "Please call p226 number 2."
    durs = merged(dirs, "utt2dur")
    assert float(durs["p225_002"]) == pytest.approx(0.2, abs=0.002)
    assert float(durs["p227_002"]) == pytest.approx(0.3, abs=0.002)  # mic1 file is 0.3 s
    split = json.loads((tmp_path / "out" / "speaker_split.json").read_text())
    assert sorted(sum(split.values(), [])) == ["p225", "p226", "p227", "p228"]
    assert [len(split[s]) for s in ("train", "val", "test")] == [2, 1, 1]
    prepare_vctk(tmp_path / "VCTK", tmp_path / "again", seed=3, split=SPLIT)
    assert json.loads((tmp_path / "again" / "speaker_split.json").read_text()) == split


def test_vctk_mic1_and_speaker_without_text_kept_when_optional(tmp_path):
    make_092(tmp_path / "VCTK")
    prepare_vctk(tmp_path / "VCTK", tmp_path / "out", seed=3, mic="mic1", require_text=False,
                 split={"train": 3, "val": 1, "test": 1})
    dirs = read_all(tmp_path / "out")
    wavs = merged(dirs, "wav.scp")
    assert wavs["p225_001"].endswith("p225_001_mic1.flac")
    assert wavs["p228_002"].endswith("p228_002_mic2.flac")  # no mic1: falls back to mic2
    assert "p315_001" in wavs
    assert all("text" not in d.maps for d in dirs.values())


def test_vctk_080_layout_bare_ids_in_speaker_info(tmp_path):
    root = tmp_path / "VCTK-Corpus"
    for spk, g in (("p225", "F"), ("p226", "M"), ("p227", "M")):
        for i in (1, 2, 3):
            write_tone(root / "wav48" / spk / f"{spk}_{i:03d}.wav", 0.1 * i, sr=48000)
            write_lines(root / "txt" / spk / f"{spk}_{i:03d}.txt", [f"text {i}"])
    write_lines(root / "speaker-info.txt", ["ID  AGE  GENDER  ACCENTS  REGION",
                                            "225  23  F    English    Southern  England",
                                            "226  22  M    English    Surrey", "227  38  M    English    Cumbria"])
    prepare_vctk(root, tmp_path / "out", seed=1, split={"train": 1, "val": 1, "test": 1})
    dirs = read_all(tmp_path / "out")
    assert merged(dirs, "utt2gender") == {f"{s}_{i:03d}": g for s, g in (("p225", "f"), ("p226", "m"),
                                                                         ("p227", "m")) for i in (1, 2, 3)}
    assert float(merged(dirs, "utt2dur")["p226_003"]) == pytest.approx(0.3, abs=0.002)


def test_vctk_default_split_is_the_paper_88_8_11(tmp_path):
    make_092(tmp_path / "VCTK", with_p315=False)
    with pytest.raises(DataError, match="corpora.vctk.split"):
        prepare_vctk(tmp_path / "VCTK", tmp_path / "out", seed=1)


def test_vctk_errors_name_key_and_files(tmp_path):
    with pytest.raises(DataError, match=r"corpora\.vctk\.root"):
        prepare_vctk(None, tmp_path / "out", seed=1)
    with pytest.raises(DataError, match=r"corpora\.vctk\.root"):
        prepare_vctk(tmp_path / "nowhere", tmp_path / "out", seed=1)
    make_092(tmp_path / "A", with_p315=False)
    write_lines(tmp_path / "A" / "txt" / "p225" / "p225_009.txt", ["orphan"])
    with pytest.raises(DataError, match=r"transcripts without audio.*p225_009\.txt"):
        prepare_vctk(tmp_path / "A", tmp_path / "out", seed=1, split=SPLIT)
    prepare_vctk(tmp_path / "A", tmp_path / "dropped", seed=1, split=SPLIT, drop_unpaired=True)
    assert "p225_009" not in merged(read_all(tmp_path / "dropped"), "wav.scp")
    make_092(tmp_path / "B", with_p315=False)
    write_tone(tmp_path / "B" / "wav48_silence_trimmed" / "p226" / "p226_007_mic2.flac", 0.1)
    with pytest.raises(DataError, match=r"audio without a transcript.*p226_007_mic2\.flac"):
        prepare_vctk(tmp_path / "B", tmp_path / "out", seed=1, split=SPLIT)
    make_092(tmp_path / "C", with_p315=False)
    empty = write_empty(tmp_path / "C" / "wav48_silence_trimmed" / "p226" / "p226_001_mic2.wav")
    empty.rename(empty.with_suffix(".flac"))
    with pytest.raises(DataError, match=r"p226_001.*p226_001_mic2\.flac"):
        prepare_vctk(tmp_path / "C", tmp_path / "out", seed=1, split=SPLIT)
