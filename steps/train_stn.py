#!/usr/bin/env python
"""Stage 05: train SpeechTripleNet (or its β-VAEVC / C_p-sweep variants) on a train split.

usage: train_stn.py --config-json JSON [--threads N] [--utt2spk FILE] [--init FINAL_PT] <feats-root> <out-dir>

<feats-root> holds stn_mel/feats.scp, stn_f0/feats.scp, stn_energy/feats.scp of
the train split (results/02_feats/<corpus>/train). The JSON is the resolved
variant config {'model', 'loss', 'data', 'train'} (pystn.models.stn_train.variant_config).
Resumes from <out-dir>/checkpoints/ if present; else starts from --init's weights when given.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config-json", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--utt2spk", help="training utt2spk (speaker-encoder input from other utterances)")
    ap.add_argument("--init", help="final.pt of a trained model with the same model config to fine-tune "
                                   "(Table 3's sweep with stn.sweep.init)")
    ap.add_argument("feats_root")
    ap.add_argument("out_dir")
    args = ap.parse_args(argv)

    import torch

    from pystn.models.stn_train import train_stn

    torch.set_num_threads(args.threads)
    root = Path(args.feats_root)
    train_stn(str(root / "stn_mel/feats.scp"), str(root / "stn_f0/feats.scp"),
              str(root / "stn_energy/feats.scp"), args.out_dir, json.loads(args.config_json),
              progress=not args.no_progress, utt2spk_path=args.utt2spk, init_path=args.init)
    return 0


if __name__ == "__main__":
    sys.exit(main())
