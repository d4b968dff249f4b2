#!/usr/bin/env python
"""Stage 01: run a corpus preparer (local/prepare_<preparer>.py) into results/01_data/<corpus>/.

usage: prepare_data.py --corpus-json JSON --seed N [--nj N] <corpus-name> <out-dir>

The corpus section of the config names its ``preparer`` and ``root``; every
other key is passed to ``prepare_<preparer>(root, out_dir, seed=..., ...)``.
"""

import argparse
import importlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pystn.io import DataError  # noqa: E402


def str2bool(s: str) -> bool:
    return str(s).lower() in ("1", "true", "yes")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus-json", required=True, help="the corpus section of the config, as JSON")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--nj", type=int, default=1, help="parallel workers where the preparer can use them")
    ap.add_argument("--allow-pipes", type=str2bool, default=False)
    ap.add_argument("corpus")
    ap.add_argument("out_dir")
    args = ap.parse_args(argv)

    opts = json.loads(args.corpus_json)
    preparer = opts.pop("preparer", args.corpus)
    root = opts.pop("root", None)
    module = importlib.import_module(f"local.prepare_{preparer}")
    prepare = getattr(module, f"prepare_{preparer}")
    if root is None and getattr(module, "NEEDS_ROOT", True):
        raise SystemExit(f"error: corpus '{args.corpus}' needs its location: set corpora.{args.corpus}.root "
                         "in the config")
    try:
        prepare(root, args.out_dir, seed=args.seed, nj=args.nj, allow_pipes=args.allow_pipes, **opts)
    except DataError as exc:
        raise SystemExit(f"error preparing corpus '{args.corpus}': {exc}") from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
