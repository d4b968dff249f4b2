#!/usr/bin/env python
"""Split a Kaldi data dir into nj shards of about equal duration (<data-dir>/split<nj>/<n>/).

usage: split_data.py --nj N <data-dir>
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pystn.data import split_data_dir  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--nj", type=int, required=True)
    ap.add_argument("data_dir")
    args = ap.parse_args(argv)
    for shard in split_data_dir(args.data_dir, args.nj):
        print(shard)
    return 0


if __name__ == "__main__":
    sys.exit(main())
