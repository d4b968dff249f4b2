#!/usr/bin/env python
"""Run every benchmark in bench/ (bench_*.py) one after another and print their figures.

usage: bench/run_all.py [name ...]   e.g. `bench/run_all.py features dag`
"""

import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = sorted(BENCH.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in argv]
    failed = []
    for script in scripts:
        print(f"\n=== {script.name} ===", flush=True)
        started = time.time()
        rc = subprocess.call([sys.executable, str(script)], cwd=BENCH.parent)
        print(f"--- {script.name}: exit {rc}, {time.time() - started:.0f} s", flush=True)
        if rc:
            failed.append(script.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
