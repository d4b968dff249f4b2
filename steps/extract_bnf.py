#!/usr/bin/env python
"""Bottleneck features of one feature shard: <feats.scp> -> <out.ark> + <out.scp>.

usage: extract_bnf.py [--threads N] [--upstream DIR ...] -- <model_dir> <feats.scp> <out.ark> <out.scp>
  <feats.scp> holds the DNN's input (fbank for the first DNN, BNF for a stacked one), or,
  with --upstream, the input of the first upstream DNN (the chain runs in the order given).
"""

import argparse
import sys
from pathlib import Path

import torch


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as steps/<name>.py
from pystn.io import read_scp, write_ark_scp
from pystn.models.bnf import BottleneckDNN, extract_bnf
from pystn.training import load_model


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--upstream", nargs="*", default=[], help="DNN dirs applied first (fbank -> BNF -> ...)")
    for name in ("model_dir", "feats_scp", "out_ark", "out_scp"):
        ap.add_argument(name)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    chain = [load_model(Path(d) / "final.pt", lambda c: BottleneckDNN(**c)) for d in args.upstream]
    model = load_model(Path(args.model_dir) / "final.pt", lambda c: BottleneckDNN(**c))
    write_ark_scp(args.out_ark, args.out_scp, extract_bnf(model, read_scp(args.feats_scp), chain))
    return 0


if __name__ == "__main__":
    sys.exit(main())
