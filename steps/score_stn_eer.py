#!/usr/bin/env python
"""Stage 07 (Table 3): speaker verification EER from time-averaged SpeechTripleNet latents.

usage: score_stn_eer.py [--threads N] [--f0-scp F --energy-scp E] <model-dir> <data-dir> <mel-scp> <out-json>

Every pair of test utterances is a trial (target when the speakers match), scored
by the cosine of time-averaged Z_f, Z_e, Z_p, Z_s and Z_c (pystn.stn_score.latent_eer).
With the analysed log-F0 and energy, also of the time-averaged Eq. 2 targets Y_f and Y_e
(pystn.stn_score.target_embeddings): the EER a code that only holds its target would give,
and how far each code's time average is from its target's (pystn.stn_score.target_distance);
and, for a model with the harmonic source, how its register from Z_s follows the analysed
F0 range (pystn.stn_score.register_fit). Run on the training split, the same figures show
what the speaker encoder learnt on the speakers it saw.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--f0-scp", help="analysed log-F0 of the test set (adds EER(Y_f) and EER(Y_e))")
    ap.add_argument("--energy-scp")
    ap.add_argument("model_dir")
    ap.add_argument("data_dir")
    ap.add_argument("mel_scp")
    ap.add_argument("out_json")
    args = ap.parse_args(argv)
    if bool(args.f0_scp) != bool(args.energy_scp):
        ap.error("give both --f0-scp and --energy-scp, or neither")

    import torch

    from pystn.batching import load_feats
    from pystn.io import read_kv, write_json
    from pystn.models.stn import build_stn
    from pystn.prosody import model_contours
    from pystn.stn_score import latent_embeddings, latent_eer, register_fit, target_distance, target_embeddings
    from pystn.training import load_model

    torch.set_num_threads(args.threads)
    model = load_model(Path(args.model_dir) / "final.pt", build_stn)
    utt2spk = read_kv(Path(args.data_dir) / "utt2spk")
    mels = load_feats(args.mel_scp, sorted(utt2spk), min_frames=16)
    log_f0, energy = ((load_feats(args.f0_scp, sorted(mels)), load_feats(args.energy_scp, sorted(mels)))
                      if args.f0_scp else (None, None))
    embs = latent_embeddings(model, mels, model_contours(model.reads_contours, log_f0, energy, args.model_dir))
    result = {}
    if args.f0_scp:
        embs.update(target_embeddings(log_f0, energy, sorted(mels)))
        result.update(register_fit(model, embs["Z_s"], log_f0))
        result.update(target_distance(embs))
    result.update(latent_eer(embs, utt2spk))
    result["n_utts"] = len(mels)
    write_json(args.out_json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
