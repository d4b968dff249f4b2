#!/usr/bin/env python
"""Stage 06: SpeechTripleNet / β-VAEVC editing of the test split (paper §4.4).

usage: convert_stn.py --config-json JSON [--threads N] [--f0-scp SCP] [--energy-scp SCP] <model-dir> <data-dir> <mel-scp> <out-dir>

JSON: {'convert': {conditions, per_speaker, seed, reference, pitch_shift, energy_shift, ...},
'vocoder': {kind, n_iter, checkpoint, params}, 'mel_preset': the stn_mel preset}.
Writes <out-dir>/<condition>/{feats,codes}.{ark,scp}, wav/, wav.scp (+ refs, spans)
and, last, <out-dir>/conversions.json listing what was made. ``reference: parallel`` reads
<data-dir>/text (and utt2emo when present) to find each source's parallel readings.
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config-json", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--f0-scp", help="analysed log-F0 of the test split (stn_f0): copy-synthesis excitation")
    ap.add_argument("--energy-scp", help="analysed energy of the test split (stn_energy): with --f0-scp, the "
                    "prosody contours a model.prosody_contours model reads")
    ap.add_argument("model_dir")
    ap.add_argument("data_dir")
    ap.add_argument("mel_scp")
    ap.add_argument("out_dir")
    args = ap.parse_args(argv)

    import numpy as np
    import torch

    from pystn.batching import load_feats
    from pystn.io import write_json
    from pystn.models.stn import build_stn
    from pystn.models.stn_convert import convert_all, register_choice, sources_and_references
    from pystn.prosody import model_contours, voiced_range
    from pystn.training import load_model
    from pystn.vocoder import make_vocoder

    torch.set_num_threads(args.threads)
    cfg = json.loads(args.config_json)
    conv, preset = cfg["convert"], cfg["mel_preset"]
    model = load_model(Path(args.model_dir) / "final.pt", build_stn)
    mels, refs, ref_mels, keys = sources_and_references(args.mel_scp, args.data_dir, conv)
    analysed_register = register_choice(conv) == "analysed"
    if analysed_register and not args.f0_scp:
        ap.error("convert.register 'analysed' reads the analysed F0 of the test split: give --f0-scp")
    # the analysed log-F0 (unvoiced = 0) of the sources, and of the references for an analysed register
    voices = sorted(set(mels) | set(refs.values())) if analysed_register else sorted(mels)
    voice_f0 = load_feats(args.f0_scp, voices) if args.f0_scp else None
    log_f0 = None if voice_f0 is None else {u: voice_f0[u] for u in sorted(mels)}
    energy = load_feats(args.energy_scp, sorted(mels)) if args.energy_scp and model.reads_contours else None
    contours = model_contours(model.reads_contours, log_f0, energy, args.model_dir)
    source_f0 = None if log_f0 is None else {u: np.where(f > 0, np.exp(f), 0.0).reshape(-1)[: len(mels[u])]
                                             for u, f in log_f0.items()}
    ranges = {u: voiced_range(f) for u, f in voice_f0.items()} if analysed_register else None
    vocoder = make_vocoder(cfg["vocoder"], preset)
    started = time.time()
    done = convert_all(model, mels, refs, ref_mels, args.out_dir, conv, vocoder, int(preset["sample_rate"]),
                       progress=not args.no_progress, source_f0=source_f0, contours=contours, ranges=ranges)
    seconds = sum(len(m) for m in mels.values()) * int(preset["hop_length"]) / int(preset["sample_rate"])
    write_json(Path(args.out_dir) / "conversions.json",
               {"conditions": done, "utterances": sorted(mels), "audio_seconds_per_condition": seconds,
                "parallel_references": sum(keys[refs[u]] == keys[u] for u in refs) if keys else 0,
                "wall_seconds": time.time() - started,
                "rtf": (time.time() - started) / max(1e-9, seconds * len(done))})
    return 0


if __name__ == "__main__":
    sys.exit(main())
