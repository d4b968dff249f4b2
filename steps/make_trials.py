#!/usr/bin/env python
"""Verification trials among the (unseen) test speakers: <data_dir> -> <out_trials>.

usage: make_trials.py [--n-per-class N] [--seed S] <data_dir> <out_trials>
  Uses <data_dir>/trials as is when the corpus ships one (VoxCeleb1's official list);
  otherwise draws N target and N non-target pairs, deterministically from the seed.
"""

import argparse
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as steps/<name>.py
from pystn.backend import make_trials
from pystn.io import DataError, read_kv, write_text


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-per-class", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("data_dir")
    ap.add_argument("out_trials")
    args = ap.parse_args(argv)
    official = Path(args.data_dir) / "trials"
    if official.is_file():
        lines = [ln.split() for ln in official.read_text(encoding="utf-8").splitlines() if ln.strip()]
        bad = [ln for ln in lines if len(ln) != 3 or ln[2] not in ("target", "nontarget")]
        if bad:
            raise DataError(f"{official}: bad trial line {' '.join(bad[0])!r} (want: enroll test target|nontarget)")
        trials = [tuple(ln) for ln in lines]
    else:
        trials = make_trials(read_kv(Path(args.data_dir) / "utt2spk"), args.n_per_class, args.seed)
    write_text(args.out_trials, "".join(f"{a} {b} {lab}\n" for a, b, lab in trials))
    return 0


if __name__ == "__main__":
    sys.exit(main())
