"""steps/global_swap_stn.py (Table 1's WORLD reference column, a rule of its own) and the check
in steps/score_stn.py that its references are the conversion's."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pystn.data import DataDir, write_data_dir
from pystn.io import DataError, read_kv, write_ark_scp, write_kv
from pystn.models.stn_convert import sources_and_references

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "steps"))
import global_swap_stn  # noqa: E402
import score_stn  # noqa: E402

WORLD = {"frame_period_ms": 5.0, "f0_method": "dio", "mcep_order": 24, "alpha": 0.42}
CONVERT = {"per_speaker": 2, "seed": 3, "reference": "parallel"}


def voice(f0: float, sr: int = 16000, seconds: float = 0.6) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (0.3 * sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 12))).astype(np.float32)


@pytest.fixture
def test_split(tmp_path):
    """Three speakers reading two sentences (a parallel test split), wavs and 20-frame mels."""
    u2s = {f"spk{s}_sad_{k}": f"spk{s}" for s in range(3) for k in range(2)}
    wavs = {}
    for i, u in enumerate(sorted(u2s)):
        wavs[u] = str(tmp_path / f"{u}.wav")
        sf.write(wavs[u], voice(110 + 40 * i), 16000)
    write_data_dir(DataDir(wavs=wavs, utt2spk=u2s, maps={"text": {u: f"SENTENCE {u[-1]}" for u in u2s}}),
                   tmp_path / "data")
    write_ark_scp(tmp_path / "mel.ark", tmp_path / "mel.scp",
                  [(u, np.zeros((20, 4), dtype=np.float32)) for u in sorted(u2s)])
    return tmp_path


def run_step(root: Path) -> Path:
    out = root / "global_swap"
    global_swap_stn.main(["--no-progress", "--config-json", json.dumps({"convert": CONVERT, "world": WORLD}),
                          str(root / "data"), str(root / "mel.scp"), str(out)])
    return out


def test_global_swap_pairs_the_conversions_sources_with_their_references(test_split):
    out = run_step(test_split)
    mels, refs, _, _ = sources_and_references(str(test_split / "mel.scp"), test_split / "data", CONVERT)
    assert read_kv(out / "refs") == {u: refs[u] for u in sorted(mels)}
    wavs = read_kv(out / "wav.scp")
    assert sorted(wavs) == sorted(mels)
    for u, path in wavs.items():
        audio, sr = sf.read(path)
        assert sr == 16000 and len(audio) > 0 and np.abs(audio).max() > 0.01
        assert refs[u].split("_")[0] != u.split("_")[0] and refs[u][-1] == u[-1]  # another speaker, same text


def test_score_refuses_swaps_paired_with_other_references(test_split):
    out = run_step(test_split)
    refs = read_kv(out / "refs")
    utts = sorted(refs)
    score_stn.check_same_references(out / "refs", refs, utts)  # the conversion's own pairs pass
    moved = dict(refs, **{utts[0]: next(u for u in utts if u != refs[utts[0]] and u != utts[0])})
    with pytest.raises(DataError, match=f"utterance '{utts[0]}'.*conversion's X'"):
        score_stn.check_same_references(out / "refs", moved, utts)
    write_kv(out / "refs", {u: r for u, r in refs.items() if u != utts[1]})
    with pytest.raises(DataError, match=f"utterance '{utts[1]}' has reference None"):
        score_stn.check_same_references(out / "refs", refs, utts)
