#!/usr/bin/env python
"""DAG scale: dry-run time on a VCTK-sized data dir, no-op rerun time, default run's time and memory.

Targets: `snakemake -n` on 44k utterances <= 10 s (jobs grow with nj, not with
utterances); a no-op rerun of the completed default run <= 5 s.

usage: bench/bench_dag.py [--utts 44000] [--speakers 109] [--nj 4]
"""

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pystn.data import DataDir, split_data_dir, split_speakers, write_splits  # noqa: E402
from pystn.io import write_text  # noqa: E402

SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def write_vctk_sized(workdir: Path, n_utts: int, n_spk: int, nj: int) -> None:
    """Data dirs of a VCTK-sized corpus (audio paths that need not exist) plus their nj shards."""
    per_spk = n_utts // n_spk
    utts = {f"p{225 + s}_{k:03d}": f"p{225 + s}" for s in range(n_spk) for k in range(per_spk)}
    data = DataDir(wavs={u: f"/corpus/vctk/wav48/{spk}/{u}.wav" for u, spk in utts.items()}, utt2spk=utts,
                   maps={"utt2dur": {u: "3.000" for u in utts}, "text": {u: "SOME TEXT" for u in utts}})
    out = workdir / "results/01_data/vctk"
    write_splits(data, split_speakers(utts.values(), {"train": 88, "val": 8, "test": 13}, 1), out)
    for split in ("train", "val", "test"):
        split_data_dir(out / split, nj)


def dry_run(workdir: Path, target: str, config: Path | None = None) -> tuple[float, int]:
    """Seconds taken by `snakemake -n <target>` and the number of jobs it planned."""
    cmd = [*SNAKEMAKE, target, "-n", "--cores", "2", "--snakefile", str(ROOT / "Snakefile"), "--directory",
           str(workdir)]
    if config:
        cmd += ["--configfile", str(config)]
    started = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    took = time.time() - started
    if proc.returncode != 0:
        raise SystemExit(f"dry run failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    m = re.search(r"^total\s+(\d+)", proc.stdout, re.M)
    return took, int(m.group(1)) if m else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--utts", type=int, default=44000)
    ap.add_argument("--speakers", type=int, default=109)
    ap.add_argument("--nj", type=int, default=4)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copy(ROOT / "config.yaml", work / "config.yaml")  # `configfile:` is read from the workdir
        write_vctk_sized(work, args.utts, args.speakers, args.nj)
        cfg = work / "bench.yaml"
        write_text(cfg, json.dumps({"nj": args.nj, "tracks": [], "data": {"corpora": ["vctk"]},
                                    "corpora": {"vctk": {"preparer": "vctk", "root": "/corpus/vctk"}}}))
        took, jobs = dry_run(work, "feats", cfg)
        print(f"dry run, {args.utts} utterances, nj={args.nj}: {took:.2f} s, {jobs} jobs (target <= 10 s)")
        write_vctk_sized(work, args.utts, args.speakers, 2 * args.nj)
        write_text(cfg, json.dumps({"nj": 2 * args.nj, "tracks": [], "data": {"corpora": ["vctk"]},
                                    "corpora": {"vctk": {"preparer": "vctk", "root": "/corpus/vctk"}}}))
        took2, jobs2 = dry_run(work, "feats", cfg)
        print(f"dry run, {args.utts} utterances, nj={2 * args.nj}: {took2:.2f} s, {jobs2} jobs "
              "(jobs grow with nj, not with utterances)")
    if (ROOT / "results/08_report/index.html").exists():
        took, jobs = dry_run(ROOT, "all")
        print(f"no-op rerun check of the default run (snakemake -n): {took:.2f} s, {jobs} jobs to do "
              "(target <= 5 s, 0 jobs)")
    else:
        print("no-op rerun: skipped, the default run has not completed (run `make run` first)")
    stats = ROOT / "results/run_stats.json"
    if stats.exists():
        s = json.loads(stats.read_text())
        print(f"default run ({s['finished']}): wall {s['wall_s'] / 60:.1f} min, peak job memory "
              f"{s['peak_rss_mb']:.0f} MB, exit code {s['returncode']}")
    else:
        print("default run time and memory: no results/run_stats.json yet (written by `make run`)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
