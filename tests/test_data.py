"""pystn.data: validate_data_dir, read_data_dir, split_speakers, write_splits, split_data_dir."""

import json

import pytest

from pystn.data import (DataDir, add_durations, read_data_dir, split_data_dir, split_speakers,
                        validate_data_dir, write_data_dir, write_splits)
from pystn.io import DataError
from tests.local.fixtures import write_lines, write_tone


def small(tmp_path, n_spk=3, n_utt=2):
    """A valid in-memory data dir: speakers s1..sN, utts s<k>-<i> with 0.1*i s tones."""
    wavs, utt2spk = {}, {}
    for k in range(1, n_spk + 1):
        for i in range(1, n_utt + 1):
            utt = f"s{k}-{i}"
            wavs[utt] = str(write_tone(tmp_path / "audio" / f"{utt}.wav", 0.1 * i))
            utt2spk[utt] = f"s{k}"
    return DataDir(wavs=wavs, utt2spk=utt2spk, maps={"text": {u: f"words {u}" for u in wavs}})


def test_valid_dir_round_trips_in_c_order(tmp_path):
    data = small(tmp_path)
    data.trials = [("s1-1", "s1-2", "target"), ("s1-1", "s2-2", "nontarget")]
    add_durations(data)
    write_data_dir(data, tmp_path / "d")
    back = read_data_dir(tmp_path / "d")
    validate_data_dir(back)
    assert back.wavs == data.wavs and back.maps["text"] == data.maps["text"]
    assert float(back.maps["utt2dur"]["s2-2"]) == pytest.approx(0.2, abs=1e-3)
    assert (tmp_path / "d" / "spk2utt").read_text() == "s1 s1-1 s1-2\ns2 s2-1 s2-2\ns3 s3-1 s3-2\n"
    assert sorted(back.trials) == sorted(data.trials)


def test_duplicate_ids_are_refused_naming_file_and_line(tmp_path):
    write_lines(tmp_path / "d" / "wav.scp", ["a-1 /x/1.wav", "a-2 /x/2.wav", "a-1 /x/3.wav"])
    write_lines(tmp_path / "d" / "utt2spk", ["a-1 a", "a-2 a"])
    with pytest.raises(DataError, match=r"wav\.scp:3: duplicate key 'a-1'"):
        read_data_dir(tmp_path / "d")


@pytest.mark.parametrize("breakage, message", [
    (lambda d: d.utt2spk.update({"s1-1": "s2"}), r"'s1-1' does not start with its speaker id 's2'"),
    (lambda d: d.wavs.pop("s2-1"), r"utt2spk without audio.*s2-1"),
    (lambda d: d.utt2spk.pop("s2-1"), r"without a speaker.*s2-1"),
    (lambda d: d.maps["text"].pop("s3-2"), r"text lacks utterances that have audio.*s3-2"),
    (lambda d: d.maps["text"].update({"s9-1": "x"}), r"text has utterances with no audio.*s9-1"),
    (lambda d: d.trials.append(("s1-1", "s2-1", "target")), r"s1-1 s2-1 is labelled target but the speakers differ"),
    (lambda d: d.trials.append(("s1-1", "s1-2", "nontarget")), r"labelled nontarget but the speakers match"),
    (lambda d: d.trials.append(("s1-1", "s7-2", "target")), r"unknown utterance 's7-2'"),
    (lambda d: d.trials.append(("s1-1", "s1-2", "yes")), r"target\|nontarget, got 'yes'"),
])
def test_validate_rejects(tmp_path, breakage, message):
    data = small(tmp_path)
    validate_data_dir(data)
    breakage(data)
    with pytest.raises(DataError, match=message):
        validate_data_dir(data, "here")


def test_piped_wav_scp_refused_unless_allowed(tmp_path):
    write_lines(tmp_path / "d" / "wav.scp", ["a-1 /x/1.wav", "a-2 sox /x/2.flac -t wav - |"])
    write_lines(tmp_path / "d" / "utt2spk", ["a-1 a", "a-2 a"])
    with pytest.raises(DataError, match=r"'a-2' has a piped wav\.scp entry.*allow_piped_wav_scp"):
        read_data_dir(tmp_path / "d")
    assert read_data_dir(tmp_path / "d", allow_pipes=True).wavs["a-2"] == "sox /x/2.flac -t wav - |"


def test_bad_trials_file_names_the_line(tmp_path):
    write_data_dir(small(tmp_path), tmp_path / "d")
    write_lines(tmp_path / "d" / "trials", ["s1-1 s1-2 target", "s1-1 s2-2"])
    with pytest.raises(DataError, match=r"trials:2"):
        read_data_dir(tmp_path / "d")


def test_split_speakers_deterministic_and_disjoint():
    spks = [f"spk{i:03d}" for i in range(20)]
    a = split_speakers(spks, {"train": 14, "val": 2, "test": 4}, seed=5)
    assert a == split_speakers(list(reversed(spks)), {"train": 14, "val": 2, "test": 4}, seed=5)
    assert [len(a[s]) for s in ("train", "val", "test")] == [14, 2, 4]
    assert sorted(a["train"] + a["val"] + a["test"]) == spks
    assert a != split_speakers(spks, {"train": 14, "val": 2, "test": 4}, seed=6)
    f = split_speakers(spks, {"train": 0.7, "val": 0.1, "test": 0.2}, seed=5)
    assert [len(f[s]) for s in ("train", "val", "test")] == [14, 2, 4]
    with pytest.raises(DataError, match="does not fit 20 speakers"):
        split_speakers(spks, {"train": 19, "val": 2, "test": 1}, seed=5)


def test_write_splits_writes_speaker_split(tmp_path):
    data = small(tmp_path, n_spk=4)
    parts = split_speakers(data.utt2spk.values(), {"train": 2, "val": 1, "test": 1}, seed=3)
    write_splits(data, parts, tmp_path / "out")
    assert json.loads((tmp_path / "out" / "speaker_split.json").read_text()) == parts
    for split, spks in parts.items():
        assert set(read_data_dir(tmp_path / "out" / split).utt2spk.values()) == set(spks)


def test_split_data_dir_is_contiguous_and_deterministic(tmp_path):
    data = small(tmp_path, n_spk=3, n_utt=4)
    add_durations(data)
    write_data_dir(data, tmp_path / "d")
    utts = [read_data_dir(s).utts for s in split_data_dir(tmp_path / "d", 3)]
    assert sum(utts, []) == data.utts and all(utts)
    assert [read_data_dir(s).utts for s in split_data_dir(tmp_path / "d", 3, tmp_path / "again")] == utts
    with pytest.raises(DataError, match="cannot split 12 utterances into nj=13"):
        split_data_dir(tmp_path / "d", 13)


def test_split_data_dir_balances_duration(tmp_path):
    data = small(tmp_path, n_spk=3, n_utt=4)  # durations 0.1..0.4 per speaker, total 3.0 s
    add_durations(data)
    write_data_dir(data, tmp_path / "d")
    shards = split_data_dir(tmp_path / "d", 3)
    utts = [read_data_dir(s).utts for s in shards]
    assert sum(utts, []) == data.utts  # contiguous, C-ordered, complete
    durs = [sum(float(data.maps["utt2dur"][u]) for u in shard) for shard in utts]
    assert durs == pytest.approx([1.0, 1.0, 1.0])


def test_validate_cli_reports_each_dir(tmp_path, capsys):
    from pystn.cli import validate_data_dir_main

    good = small(tmp_path, n_spk=2, n_utt=2)
    write_data_dir(good, tmp_path / "good")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "wav.scp").write_text("a x.wav\n")
    (tmp_path / "bad" / "utt2spk").write_text("b b\n")
    assert validate_data_dir_main([str(tmp_path / "good"), str(tmp_path / "bad")]) == 1
    out = capsys.readouterr()
    assert "good: OK (4 utterances, 2 speakers)" in out.out
    assert "without a speaker" in out.err and "bad" in out.err
