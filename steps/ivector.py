#!/usr/bin/env python
"""GMM-UBM / i-vector baselines (paper Sec. 4): train the UBM and T matrix, or extract i-vectors.

usage: ivector.py train   --params JSON [--threads N] <feats.scp> <vad.scp> <out_dir>
       ivector.py extract [--threads N] <model_dir> <feats.scp> <vad.scp> <out.ark> <out.scp>
  params: {"ubm_components": K, "dim": R, "ubm_iters": n, "tv_iters": n, "n_ceps": c|null,
           "deltas": bool, "warp": bool, "max_frames": n, "seed": s}
  The front end (first n_ceps coefficients, deltas, feature warping) is stored in
  <out_dir>/front_end.json so extraction applies the same one.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as steps/<name>.py
from pystn.backend import DiagGMM, IvectorExtractor, ivector_features
from pystn.io import read_json, write_ark_scp, write_json
from pystn.models.xvector import load_front_end


def front_end_frames(feats_scp, vad_scp, fe: dict) -> dict:
    """utt -> i-vector features [T', D'] (VAD-filtered, then ceps / warp / deltas)."""
    frames = load_front_end(feats_scp, vad_scp, cmn_window=0)
    return {k: ivector_features(m, fe.get("n_ceps"), fe["deltas"], fe["warp"]) for k, m in frames.items()}


def train(args) -> None:
    p = json.loads(args.params)
    fe = {k: p[k] for k in ("n_ceps", "deltas", "warp")}
    frames = front_end_frames(args.feats_scp, args.vad_scp, fe)
    keys = sorted(frames)
    pooled = np.concatenate([frames[k] for k in keys])
    rng = np.random.default_rng(p["seed"])
    if len(pooled) > p["max_frames"]:
        pooled = pooled[rng.choice(len(pooled), p["max_frames"], replace=False)]
    ubm = DiagGMM.fit(pooled, p["ubm_components"], p["ubm_iters"], seed=p["seed"])
    model = IvectorExtractor.fit(ubm, [frames[k] for k in keys], p["dim"], p["tv_iters"], seed=p["seed"])
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / ".ivector.tmp.npz"
    model.save(tmp)
    tmp.replace(out / "ivector.npz")
    write_json(out / "front_end.json", fe)


def extract(args) -> None:
    model = IvectorExtractor.load(Path(args.model_dir) / "ivector.npz")
    frames = front_end_frames(args.feats_scp, args.vad_scp, read_json(Path(args.model_dir) / "front_end.json"))
    keys = sorted(frames)
    iv = model.extract([frames[k] for k in keys])
    write_ark_scp(args.out_ark, args.out_scp, zip(keys, iv.astype(np.float32)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--params", required=True)
    t.add_argument("--threads", type=int, default=1)
    for name in ("feats_scp", "vad_scp", "out_dir"):
        t.add_argument(name)
    e = sub.add_parser("extract")
    e.add_argument("--threads", type=int, default=1)
    for name in ("model_dir", "feats_scp", "vad_scp", "out_ark", "out_scp"):
        e.add_argument(name)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    train(args) if args.cmd == "train" else extract(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
