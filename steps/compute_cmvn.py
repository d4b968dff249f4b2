#!/usr/bin/env python
"""Per-speaker CMVN statistics (Kaldi layout, 2 x (D+1)) of a feature set.

usage: compute_cmvn.py [--preset-json JSON --name NAME] <feats.scp> <spk2utt> <out-dir>

Writes <out-dir>/feats.ark + feats.scp keyed by speaker, and conf.json.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset-json", default='{"kind": "cmvn"}')
    ap.add_argument("--name", default=None)
    ap.add_argument("feats_scp")
    ap.add_argument("spk2utt")
    ap.add_argument("out_dir")
    args = ap.parse_args(argv)

    from pystn.features import compute_cmvn, describe
    from pystn.io import write_json

    out = Path(args.out_dir).resolve()
    n = compute_cmvn(args.feats_scp, args.spk2utt, out / "feats.ark", out / "feats.scp")
    conf = describe(json.loads(args.preset_json), args.name)
    conf.update(source_scp=args.feats_scp, num_speakers=n, keyed_by="speaker")
    write_json(out / "conf.json", conf)
    print(f"compute_cmvn: {n} speakers -> {out}/feats.scp", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
