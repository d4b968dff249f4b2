#!/usr/bin/env python
"""Feature extraction speed: real-time factor per preset and the step's overhead.

For each preset of config.yaml's feats.presets (cmvn excluded) on ~60 s of
speech (the CMU ARCTIC utterance shipped with pysptk, repeated with varying
gain and a little noise, 16 kHz files):

Times are CPU seconds of the (single-threaded) process, i.e. the wall time of
one uncontended core; wall times of a shared machine would measure the neighbours.

  rtf       seconds of audio per CPU second, single thread, of
            pystn.features.extract on audio already loaded at the preset rate
  overhead  wall time of steps/make_feats.py main() (in-process) on a shard of
            the files / sum of extract_file() calls (load + resample + extract)

Targets: STN mel + RAPT F0 + energy together >= 150x real time per core;
overhead <= 1.3.

usage: bench_features.py [--seconds 60] [--presets a,b,...]
"""

import os

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "steps"))

import make_feats  # noqa: E402
from pystn.features import extract, extract_file, load_audio  # noqa: E402
from pystn.features import shards  # noqa: E402,F401  (imported once here: a step pays it at start-up)
from pystn.io import write_kv  # noqa: E402

STN = ("stn_mel", "stn_f0", "stn_energy")


def make_audio(folder: Path, seconds: float) -> list[Path]:
    """Write ~``seconds`` of 16 kHz speech as copies of the pysptk ARCTIC utterance."""
    import pysptk

    wav, sr = load_audio(pysptk.util.example_audio_file())
    rng = np.random.default_rng(0)
    paths = []
    for i in range(max(1, int(round(seconds / (len(wav) / sr))))):
        x = wav * rng.uniform(0.5, 1.0) + 1e-3 * rng.standard_normal(len(wav)).astype(np.float32)
        paths.append(folder / f"spk1_u{i:03d}.wav")
        sf.write(paths[-1], x, sr, subtype="PCM_16")
    return paths


def timed(fn, *args):
    """(CPU seconds of this process, result): on a single thread this is the wall time an
    uncontended core would take, and it is robust to other jobs sharing the machine."""
    t = time.process_time()
    out = fn(*args)
    return time.process_time() - t, out


def best_of(measure, repeats: int = 3, budget_s: float = 3.0) -> float:
    """Minimum of up to ``repeats`` measurements (fewer once ``budget_s`` CPU seconds are spent)."""
    times = [measure()]
    while len(times) < repeats and sum(times) < budget_s:
        times.append(measure())
    return min(times)


def bench_preset(preset: dict, paths: list[Path], shard: Path, out: Path) -> dict:
    audio = [load_audio(p, preset["sample_rate"]) for p in paths]
    seconds = sum(len(w) / sr for w, sr in audio)
    extract(preset, *audio[0])  # warm-up: imports, filter caches
    step_args = ["--preset-json", json.dumps(preset), str(shard), str(out), "1"]
    t_extract = best_of(lambda: sum(timed(extract, preset, w, sr)[0] for w, sr in audio))
    t_files = best_of(lambda: sum(timed(extract_file, preset, p)[0] for p in paths))
    t_step = best_of(lambda: timed(make_feats.main, step_args)[0])
    return {"seconds": seconds, "t_extract": t_extract, "rtf": seconds / t_extract,
            "t_files": t_files, "t_step": t_step, "overhead": t_step / t_files}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--presets", default=None, help="comma-separated preset names (default: all)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    presets = yaml.safe_load((ROOT / "config.yaml").read_text())["feats"]["presets"]
    names = args.presets.split(",") if args.presets else [k for k, p in presets.items() if p["kind"] != "cmvn"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = make_audio(tmp, args.seconds)
        write_kv(tmp / "shard" / "wav.scp", {p.stem: str(p) for p in paths})
        rows = {n: bench_preset(presets[n], paths, tmp / "shard", tmp / "out" / n) for n in names}
    print(f"\n{len(paths)} files, {rows[names[0]]['seconds']:.1f} s of audio, 1 thread\n")
    print(f"{'preset':<12}{'kind':<11}{'extract s':>10}{'RTF (x)':>10}{'files s':>10}{'step s':>9}{'overhead':>10}")
    for n, r in rows.items():
        print(f"{n:<12}{presets[n]['kind']:<11}{r['t_extract']:>10.3f}{r['rtf']:>10.1f}"
              f"{r['t_files']:>10.3f}{r['t_step']:>9.3f}{r['overhead']:>10.2f}")
    if all(n in rows for n in STN):
        t = sum(rows[n]["t_extract"] for n in STN)
        rtf = rows[STN[0]]["seconds"] / t
        print(f"\nSTN mel + RAPT F0 + energy: {rtf:.1f}x real time per core (target >= 150x): "
              f"{'met' if rtf >= 150 else 'MISSED'}")
    worst = max(r["overhead"] for r in rows.values())
    print(f"worst step overhead ratio: {worst:.2f} (target <= 1.3): {'met' if worst <= 1.3 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
