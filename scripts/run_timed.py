#!/usr/bin/env python
"""Run a command, then print and record its wall time and peak memory (results/run_stats.json).

Peak memory is the largest resident set of any process the command waited for
(getrusage RUSAGE_CHILDREN), i.e. the heaviest single job of the DAG.

usage: run_timed.py -- <command> [args...]
"""

import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def main() -> int:
    argv = sys.argv[1:]
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise SystemExit(__doc__)
    started = time.time()
    rc = subprocess.call(argv)
    wall = time.time() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    stats = {"command": " ".join(argv), "returncode": rc, "wall_s": round(wall, 1), "peak_rss_mb": round(peak_mb, 1),
             "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
    Path("results").mkdir(exist_ok=True)
    Path("results/run_stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    print(f"pystn: '{stats['command']}' took {wall / 60:.1f} min, peak job memory {peak_mb:.0f} MB "
          f"(results/run_stats.json)", file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
