#!/usr/bin/env python
"""Stage 08: collect every track's scores, figures and samples into one report page.

usage: make_report.py [--tracks T ...] [--corpora C ...] <results-dir> <out-dir>
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pystn.report import make_report  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tracks", nargs="*", default=[])
    ap.add_argument("--corpora", nargs="*", default=[])
    ap.add_argument("results")
    ap.add_argument("out_dir")
    args = ap.parse_args(argv)
    make_report(Path(args.results), args.tracks, Path(args.out_dir), {"corpora": args.corpora})
    print(f"report written to {args.out_dir}/index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
