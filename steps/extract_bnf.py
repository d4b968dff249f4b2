#!/usr/bin/env python
"""Bottleneck features of one feature shard: <feats.scp> -> <out.ark> + <out.scp>.

usage: extract_bnf.py [--threads N] <model_dir> <feats.scp> <out.ark> <out.scp>
  <feats.scp> holds the DNN's input (fbank for the first DNN, BNF for a stacked one).
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
    for name in ("model_dir", "feats_scp", "out_ark", "out_scp"):
        ap.add_argument(name)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    model = load_model(Path(args.model_dir) / "final.pt", lambda c: BottleneckDNN(**c))
    write_ark_scp(args.out_ark, args.out_scp, extract_bnf(model, read_scp(args.feats_scp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
