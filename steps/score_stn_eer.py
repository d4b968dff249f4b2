#!/usr/bin/env python
"""Stage 07 (Table 3): speaker verification EER from time-averaged SpeechTripleNet latents.

usage: score_stn_eer.py [--threads N] <model-dir> <data-dir> <mel-scp> <out-json>

Every pair of test utterances is a trial (target when the speakers match), scored
by the cosine of time-averaged Z_f, Z_e, Z_p and of Z_s (pystn.stn_score.latent_eer).
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("model_dir")
    ap.add_argument("data_dir")
    ap.add_argument("mel_scp")
    ap.add_argument("out_json")
    args = ap.parse_args(argv)

    import torch

    from pystn.batching import load_feats
    from pystn.io import read_kv, write_json
    from pystn.models.stn import build_stn
    from pystn.stn_score import latent_embeddings, latent_eer
    from pystn.training import load_model

    torch.set_num_threads(args.threads)
    model = load_model(Path(args.model_dir) / "final.pt", build_stn)
    utt2spk = read_kv(Path(args.data_dir) / "utt2spk")
    mels = load_feats(args.mel_scp, sorted(utt2spk), min_frames=16)
    result = latent_eer(latent_embeddings(model, mels), utt2spk)
    result["n_utts"] = len(mels)
    write_json(args.out_json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
