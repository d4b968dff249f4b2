#!/usr/bin/env python
"""Extract one feature preset for one shard of a Kaldi data dir.

usage: make_feats.py --preset-json JSON [--threads N] <shard-data-dir> <out-dir> <n>

Reads <shard-data-dir>/wav.scp and writes <out-dir>/feats.<n>.ark and
feats.<n>.scp atomically (a killed job leaves neither).
"""

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset-json", required=True, help="the preset: {kind: ..., sample_rate: ..., ...}")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    ap.add_argument("shard_dir")
    ap.add_argument("out_dir")
    ap.add_argument("n", type=int)
    args = ap.parse_args(argv)

    # torch reads OMP_NUM_THREADS when first imported (only mel / Kaldi kinds import it)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(args.threads)
    from pystn.features.shards import make_shard

    count = make_shard(json.loads(args.preset_json), args.shard_dir, args.out_dir, args.n)
    print(f"make_feats: {count} utterances -> {args.out_dir}/feats.{args.n}.scp", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
