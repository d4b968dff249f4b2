#!/usr/bin/env python
"""Augmented copies of a training set, as features: noise / babble / music / reverberation.

usage: augment_data.py --params JSON [--threads N] <data_dir> <out_dir>
  Writes <out_dir>/<feat>/feats.scp (+ ark) for every preset in params["presets"] and
  <out_dir>/utt2spk; augmented utterance ids are <utt>-<kind> (speaker unchanged).
  params: {"copies": n, "kinds": [...], "seed": s, "musan": dir|null, "rirs": dir|null,
           "sample_rate": sr, "presets": {name: feature preset}}
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as steps/<name>.py
from pystn import features
from pystn.augment import Augmenter
from pystn.data import read_data_dir
from pystn.io import write_ark_scp, write_kv


def augmented(data, p):
    """(new utt, speaker, {preset: features}) for ``copies`` augmented versions of each utterance."""
    utts = data.utts
    aug = Augmenter(p["sample_rate"], p["kinds"], [data.wavs[u] for u in utts], p.get("musan"), p.get("rirs"))
    for i, utt in enumerate(tqdm(utts, desc="augment", mininterval=2.0, file=sys.stderr)):
        wav = features.load_audio(data.wavs[utt], p["sample_rate"])[0]
        for c in range(int(p["copies"])):
            rng = np.random.default_rng([int(p["seed"]), i, c])
            y, kind = aug(wav, rng)
            feats = {name: features.extract(pre, y, p["sample_rate"]) for name, pre in p["presets"].items()}
            yield f"{utt}-{kind}{c}", data.utt2spk[utt], feats


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--params", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("data_dir")
    ap.add_argument("out_dir")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    p = json.loads(args.params)
    out = Path(args.out_dir)
    rows = list(augmented(read_data_dir(args.data_dir), p))
    for name in p["presets"]:
        write_ark_scp(out / name / "feats.ark", out / name / "feats.scp", ((u, f[name]) for u, _, f in rows))
    write_kv(out / "utt2spk", {u: s for u, s, _ in rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
