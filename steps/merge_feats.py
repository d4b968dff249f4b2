#!/usr/bin/env python
"""Merge the shard scps of one feature into <out-dir>/feats.scp and write <out-dir>/conf.json.

usage: merge_feats.py --preset-json JSON --name NAME <out-dir> <feats.1.scp> [<feats.2.scp> ...]
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset-json", required=True)
    ap.add_argument("--name", required=True, help="preset name recorded in conf.json")
    ap.add_argument("out_dir")
    ap.add_argument("scps", nargs="+")
    args = ap.parse_args(argv)

    from pystn.features.shards import merge_shards

    n = merge_shards(json.loads(args.preset_json), args.name, args.out_dir, args.scps)
    print(f"merge_feats: {n} utterances from {len(args.scps)} shards -> {args.out_dir}/feats.scp",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
