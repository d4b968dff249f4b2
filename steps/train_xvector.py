#!/usr/bin/env python
"""Train an x-vector TDNN on one front end (MFCC or bottleneck features) of the training speakers.

usage: train_xvector.py --params JSON --source FEATS_SCP VAD_SCP UTT2SPK [--source ...] [--threads N] <out_dir>
  Each --source adds utterances (e.g. the clean and the augmented copies of the training set).
  params: {"model": {...XvectorNet kwargs}, "train": {...TrainConfig}, "batch_size": B,
           "segment": [min, max] frames, "front_end": {base_preset, vad_preset, bnf_chain, cmn_window}}
"""

import argparse
import json
import sys
from pathlib import Path

import torch


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as steps/<name>.py
from pystn.io import DataError, read_kv, write_json
from pystn.models.xvector import load_front_end, train_xvector
from pystn.training import train_config


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--params", required=True)
    ap.add_argument("--source", nargs=3, action="append", required=True, metavar=("FEATS", "VAD", "UTT2SPK"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("out_dir")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    p = json.loads(args.params)
    cmn_window = int(p["front_end"].get("cmn_window", 0))
    feats, utt2spk = {}, {}
    for feats_scp, vad_scp, spk_path in args.source:
        part = load_front_end(feats_scp, vad_scp, cmn_window)
        clash = set(part) & set(feats)
        if clash:
            raise DataError(f"{feats_scp}: utterance '{sorted(clash)[0]}' appears in two --source sets")
        feats.update(part)
        utt2spk.update(read_kv(spk_path))
    out = Path(args.out_dir)
    train_xvector(feats, utt2spk, p["model"], train_config(p["train"], [path for source in args.source for path in source],
                               extra={k: v for k, v in p.items() if k != "train"}), out,
                  batch_size=int(p["batch_size"]), seg_range=tuple(p["segment"]))
    write_json(out / "front_end.json", p["front_end"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
