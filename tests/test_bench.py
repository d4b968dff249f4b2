"""The model benchmarks still run against the current code and print their figures.

Only that they run and report: speed targets are judged by reading the figures
(`make bench`), never by timed assertions here.
"""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_bench(name: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / f"bench_{name}.py"), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_stn_bench_reports_step_time_and_conversion_rtf():
    figures = json.loads(run_bench("stn", "--steps", "4").strip().splitlines()[-1])
    assert figures["train_s_per_step"] > 0 and figures["convert_rtf"] > 0


def test_xvector_bench_reports_plda_throughput():
    out = run_bench("xvector")
    assert "PLDA scoring: 1000000 trials" in out and "trials/s" in out and "steps/s" in out
