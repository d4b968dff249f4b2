"""WORLD analysis [f0 | mcep | bap] and its resynthesis."""

import numpy as np
import pytest

from pystn.features import describe, extract, world_synthesize
from pystn.features.world import world_split


@pytest.fixture(scope="module")
def analysed(arctic, presets):
    wav, sr = arctic
    return extract(presets["world"], wav, sr)


def test_world_matrix_layout(arctic, presets, analysed):
    wav, sr = arctic
    p = presets["world"]
    conf = describe(p, "world")
    assert analysed.shape == (1 + int(len(wav) / sr * 1000 / p["frame_period_ms"]), 1 + 25 + 1)
    assert conf["columns"][0] == "f0" and conf["columns"][1] == "mcep0" and conf["columns"][-1] == "bap0"
    assert conf["dims"] == analysed.shape[1] and conf["frame_shift_s"] == pytest.approx(0.005)
    f0, mcep, bap = world_split(analysed, sr, p)
    assert 80 < np.median(f0[f0 > 0]) < 180           # male speaker
    assert np.all(bap <= 1e-6)                          # band aperiodicity in dB is <= 0
    assert mcep[:, 0].std() > 0.5                       # c0 follows the loudness


def test_world_round_trip_keeps_f0(arctic, presets, analysed):
    wav, sr = arctic
    p = presets["world"]
    y = world_synthesize(analysed, sr, p)
    assert abs(len(y) - len(wav)) <= sr * p["frame_period_ms"] / 1000
    again = extract(p, y, sr)
    a, b = analysed[:, 0], again[: len(analysed), 0]
    both = (a > 0) & (b > 0)
    assert both.sum() > 0.8 * (a > 0).sum()
    assert np.median(np.abs(np.log(a[both] / b[both]))) < 0.03
    # the envelope survives too: mean |c1..c24| difference small (typical |c_i| ~ 0.1-1)
    d = np.abs(analysed[both, 2:26] - again[: len(analysed)][both, 2:26]).mean()
    assert d < 0.1


def test_world_split_rejects_wrong_width(presets):
    with pytest.raises(ValueError, match="order 24"):
        world_split(np.zeros((5, 20), dtype=np.float32), 16000, presets["world"])


def test_world_harvest_method(arctic, presets):
    wav, sr = arctic
    m = extract({**presets["world"], "f0_method": "harvest"}, wav[:16000], sr)
    f0 = m[:, 0]
    assert 80 < np.median(f0[f0 > 0]) < 180
