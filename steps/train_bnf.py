#!/usr/bin/env python
"""Train a bottleneck ASR DNN (BNF / SBNF / MT-SBNF) with CTC over phones.

usage: train_bnf.py --params JSON [--upstream DIR ...] [--threads N]
                    <train_feats.scp> <val_feats.scp> <phones_dir> <train_data_dir> <out_dir>
  <phones_dir> holds phones.txt and {train,val}/text from make_phones.py;
  --upstream lists the DNN training dirs whose BNF these features are (stacked DNNs).
  params: {"model": {...BottleneckDNN kwargs}, "train": {...TrainConfig}, "batch_size": B,
           "speaker_weight": w, "warp": VTLN-like filterbank warp range (0 = off),
           "base_preset": {...feature preset of the first DNN's input},
           "targets": "auto" (frame targets where <phones_dir>/train/ali exists, else CTC) | "ctc" | "frames",
           "smooth_frames": posterior smoothing (output frames) when decoding a frame-trained DNN}
  Writes front_end.json: {base_preset, bnf_chain, targets ("ctc" | "frames"), decode_smooth}.
"""

import argparse
import json
import sys
from pathlib import Path

import torch


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as steps/<name>.py
from pystn.batching import load_feats
from pystn.data import read_alignment
from pystn.io import DataError, read_kv, write_json, write_text
from pystn.models.bnf import train_bnf
from pystn.training import train_config


def load_alignments(path: Path, targets: str) -> dict | None:
    """utt -> [(phone, start_s, end_s)] when frame targets are wanted and exist; None for CTC."""
    if targets not in ("auto", "ctc", "frames"):
        raise DataError(f"xvector.bnf.targets must be auto | ctc | frames, got '{targets}'")
    if targets == "ctc" or (targets == "auto" and not path.is_file()):
        return None
    if not path.is_file():
        raise DataError(f"{path} missing: targets 'frames' needs a corpus with a phone alignment (phone_ali)")
    return {u: read_alignment(v, f"{path}: {u}") for u, v in read_kv(path).items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--params", required=True, help="JSON settings (see usage)")
    ap.add_argument("--upstream", nargs="*", default=[])
    ap.add_argument("--threads", type=int, default=1)
    for name in ("train_scp", "val_scp", "phones_dir", "train_data", "out_dir"):
        ap.add_argument(name)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    p = json.loads(args.params)
    inventory = (Path(args.phones_dir) / "phones.txt").read_text(encoding="utf-8").split()
    phones = {s: {u: v.split() for u, v in read_kv(Path(args.phones_dir) / s / "text").items()}
              for s in ("train", "val")}
    utt2spk = read_kv(Path(args.train_data) / "utt2spk")
    alignments = load_alignments(Path(args.phones_dir) / "train" / "ali", p.get("targets", "auto"))
    smooth = int(p.get("smooth_frames", 1)) if alignments is not None else 1
    out = Path(args.out_dir)
    train_bnf(load_feats(args.train_scp), phones["train"], utt2spk, inventory, p["model"],
              train_config(p["train"], [args.train_scp, args.val_scp, args.phones_dir, args.train_data],
                           extra={k: v for k, v in p.items() if k != "train"}), out, speaker_weight=float(p.get("speaker_weight", 0.0)),
              batch_size=int(p.get("batch_size", 16)), val=(load_feats(args.val_scp), phones["val"]),
              warp=float(p.get("warp", 0.0)), alignments=alignments,
              frame_geometry=(p["base_preset"]["frame_shift_ms"] / 1000, p["base_preset"]["frame_length_ms"] / 1000),
              smooth=smooth)
    write_text(out / "phones.txt", "\n".join(inventory) + "\n")
    write_json(out / "front_end.json", {"base_preset": p["base_preset"], "bnf_chain": args.upstream,
                                        "targets": "ctc" if alignments is None else "frames",
                                        "decode_smooth": smooth})
    return 0


if __name__ == "__main__":
    sys.exit(main())
