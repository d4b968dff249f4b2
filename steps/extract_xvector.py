#!/usr/bin/env python
"""x-vectors of one split: front-end features (+ VAD) -> embeddings ark/scp (one vector per utterance).

usage: extract_xvector.py [--threads N] <model_dir> <feats.scp> <vad.scp> <out.ark> <out.scp>
"""

import argparse
import sys
from pathlib import Path

import torch


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as steps/<name>.py
from pystn.io import write_ark_scp
from pystn.models.xvector import XvectorExtractor, extract_embeddings, load_front_end


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    for name in ("model_dir", "feats_scp", "vad_scp", "out_ark", "out_scp"):
        ap.add_argument(name)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    ext = XvectorExtractor.load(args.model_dir)
    frames = load_front_end(args.feats_scp, args.vad_scp, int(ext.front_end.get("cmn_window", 0)))
    write_ark_scp(args.out_ark, args.out_scp, extract_embeddings(ext.net, frames))
    return 0


if __name__ == "__main__":
    sys.exit(main())
