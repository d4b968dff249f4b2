import json

import pytest

from local.prepare_kaldi import prepare_kaldi
from pystn.io import DataError
from tests.local.fixtures import load_splits, write_empty, write_lines, write_tone

SPEAKERS = ["spkA", "spkB", "spkC", "spkD", "spkE"]


def make_kaldi_dir(d, audio_dir, relative=False, trials=True):
    """A Kaldi data dir of 5 speakers x 2 utts (0.1 s and 0.2 s) with text, utt2emo and trials."""
    wav, u2s, text, emo = [], [], [], []
    for s in SPEAKERS:
        for i in (1, 2):
            utt = f"{s}-u{i}"
            path = write_tone(audio_dir / f"{utt}.wav", 0.1 * i)
            wav.append(f"{utt} {path.name if relative else path}")
            u2s.append(f"{utt} {s}")
            text.append(f"{utt} hello {s} {i}")
            emo.append(f"{utt} {'happy' if i == 1 else 'sad'}")
    for name, lines in (("wav.scp", wav), ("utt2spk", u2s), ("text", text), ("utt2emo", emo)):
        write_lines(d / name, lines)
    if trials:
        write_lines(d / "trials", [f"{s}-u1 {s}-u2 target" for s in SPEAKERS]
                    + [f"{a}-u1 {b}-u2 nontarget" for a in SPEAKERS for b in SPEAKERS if a != b])
    return d


def test_kaldi_split_maps_durations_and_trials(tmp_path):
    src = make_kaldi_dir(tmp_path / "data", tmp_path / "audio")
    prepare_kaldi(src, tmp_path / "out", seed=4, split={"train": 3, "val": 1, "test": 1})
    dirs = load_splits(tmp_path / "out")
    split = json.loads((tmp_path / "out" / "speaker_split.json").read_text())
    assert sorted(sum(split.values(), [])) == SPEAKERS
    for name, d in dirs.items():
        spks = set(split[name])
        assert set(d.utt2spk.values()) == spks
        assert sorted(d.utts) == sorted(f"{s}-u{i}" for s in spks for i in (1, 2))
        assert d.maps["text"][f"{split[name][0]}-u2"] == f"hello {split[name][0]} 2"
        assert d.maps["utt2emo"][f"{split[name][0]}-u1"] == "happy"
        assert float(d.maps["utt2dur"][f"{split[name][0]}-u2"]) == pytest.approx(0.2, abs=0.002)
        expect = {(f"{a}-u1", f"{b}-u2", "target" if a == b else "nontarget") for a in spks for b in spks}
        assert set(d.trials) == expect  # only trials whose both sides are in this split
    prepare_kaldi(src, tmp_path / "again", seed=4, split={"train": 3, "val": 1, "test": 1})
    assert json.loads((tmp_path / "again" / "speaker_split.json").read_text()) == split


def test_kaldi_relative_paths_and_existing_utt2dur(tmp_path):
    src = make_kaldi_dir(tmp_path / "data", tmp_path / "audio", relative=True, trials=False)
    write_lines(src / "utt2dur", [f"{s}-u{i} {9.5 + i}" for s in SPEAKERS for i in (1, 2)])
    prepare_kaldi(src, tmp_path / "out", seed=1, wav_base=tmp_path / "audio",
                  split={"train": 0.6, "val": 0.2, "test": 0.2})
    dirs = load_splits(tmp_path / "out")
    wavs = {**dirs["train"].wavs, **dirs["val"].wavs, **dirs["test"].wavs}
    assert wavs["spkC-u2"] == str(tmp_path / "audio" / "spkC-u2.wav")
    durs = {**dirs["train"].maps["utt2dur"], **dirs["val"].maps["utt2dur"], **dirs["test"].maps["utt2dur"]}
    assert durs["spkC-u2"] == "11.5"  # kept from the source, not recomputed


def test_kaldi_existing_splits_used_as_they_are(tmp_path):
    for k, split in enumerate(("train", "val", "test")):
        write_tone(tmp_path / "audio" / f"s{k}-a.wav", 0.15)
        write_lines(tmp_path / "data" / split / "wav.scp", [f"s{k}-a {tmp_path / 'audio' / f's{k}-a.wav'}"])
        write_lines(tmp_path / "data" / split / "utt2spk", [f"s{k}-a s{k}"])
    prepare_kaldi(tmp_path / "data", tmp_path / "out", seed=1)
    dirs = load_splits(tmp_path / "out")
    assert [dirs[s].utts for s in ("train", "val", "test")] == [["s0-a"], ["s1-a"], ["s2-a"]]
    assert float(dirs["val"].maps["utt2dur"]["s1-a"]) == pytest.approx(0.15, abs=0.002)
    assert json.loads((tmp_path / "out" / "speaker_split.json").read_text()) == {
        "train": ["s0"], "val": ["s1"], "test": ["s2"]}
    with pytest.raises(DataError, match="use_existing_splits"):
        prepare_kaldi(tmp_path / "data" / "train", tmp_path / "o2", seed=1, use_existing_splits=True)


def test_kaldi_errors(tmp_path):
    with pytest.raises(DataError, match=r"corpora\.kaldi\.root"):
        prepare_kaldi(None, tmp_path / "out", seed=1)
    src = make_kaldi_dir(tmp_path / "data", tmp_path / "audio")
    lines = (src / "wav.scp").read_text().splitlines()
    write_lines(src / "wav.scp", lines[:-1] + [lines[-1].split()[0] + " sox in.flac -t wav - |"])
    with pytest.raises(DataError, match=r"spkE-u2.*piped.*allow_piped_wav_scp"):
        prepare_kaldi(src, tmp_path / "out", seed=1)
    with pytest.raises(DataError, match=r"spkE-u2.*utt2dur"):
        prepare_kaldi(src, tmp_path / "out", seed=1, allow_pipes=True)
    write_lines(src / "wav.scp", lines)
    write_empty(tmp_path / "audio" / "spkB-u1.wav")
    with pytest.raises(DataError, match=r"spkB-u1.*empty.*spkB-u1\.wav"):
        prepare_kaldi(src, tmp_path / "out", seed=1)
    write_tone(tmp_path / "audio" / "spkB-u1.wav")
    write_lines(src / "utt2spk", [f"{s}-u{i} {'spkZ' if s == 'spkC' else s}" for s in SPEAKERS for i in (1, 2)])
    with pytest.raises(DataError, match=r"spkC-u1.*does not start with.*spkZ"):
        prepare_kaldi(src, tmp_path / "out", seed=1)
    write_lines(src / "segments", ["spkA-u1-seg spkA-u1 0.0 0.05"])
    with pytest.raises(DataError, match="segments"):
        prepare_kaldi(src, tmp_path / "out", seed=1)
