#!/usr/bin/env python
"""Benchmark of the stn track on CPU: training steps/s of the default model and conversion real-time factor.

usage: python bench/bench_stn.py [--config config.yaml] [--steps 20] [--threads 1]

Uses random log-mel batches of the default config's shapes (no data needed), so it
measures the model, not the disk. Prints one JSON line: seconds per training step
(target: <= 0.5 s), steps/s, and the RTF of analysis + decoding + Griffin-Lim for a
3 s utterance (seconds of compute per second of audio).
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="config.yaml")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)

    import numpy as np
    import torch
    import yaml

    from pystn.models.stn import build_stn
    from pystn.models.stn_convert import convert_one
    from pystn.models.stn_train import make_loss_fn, variant_config
    from pystn.training import TrainConfig, make_optimizer
    from pystn.vocoder import make_vocoder

    torch.set_num_threads(args.threads)
    cfg = yaml.safe_load(Path(args.config).read_text())
    preset = cfg["feats"]["presets"]["stn_mel"]
    v = variant_config(cfg["stn"], "stn", mel_preset=preset)
    model = build_stn(v["model"]).train()
    opt = make_optimizer(model.parameters(), TrainConfig.from_dict(v["train"]))
    loss_fn = make_loss_fn(v["loss"])
    d, m = v["data"], v["model"]["n_mels"]
    t_seg = (d["seg_min"] + d["seg_max"]) // 2
    batch = {"mel": torch.randn(d["batch_size"], t_seg, m) - 4, "spk": torch.randn(d["batch_size"], d["spk_frames"], m) - 4,
             "target": torch.randint(0, 64, (d["batch_size"], t_seg)),
             "f0_range": torch.tensor([[4.5, 5.3]]).expand(d["batch_size"], 2),
             "contours": torch.rand(d["batch_size"], t_seg, 3)}  # read when model.prosody_contours
    times = []
    for step in range(args.steps + 2):
        t0 = time.perf_counter()
        loss, _ = loss_fn(model, batch, step)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        times.append(time.perf_counter() - t0)
    step_s = float(np.median(times[2:]))
    model.eval()
    vocoder = make_vocoder(cfg["stn"]["vocoder"], preset)
    n_frames = int(3.0 * preset["sample_rate"] / preset["hop_length"])
    mel = (np.random.default_rng(0).normal(size=(n_frames, m)) - 4).astype(np.float32)
    vocoder(mel[:20], None)  # warm-up (imports, filter bank)
    t0 = time.perf_counter()
    contours = np.random.default_rng(1).random((n_frames, 3)).astype(np.float32) if model.reads_contours else None
    out, _, _, f0 = convert_one(model, mel, mel, "pitch", np.random.default_rng(0), cfg["stn"]["convert"],
                                contours=contours)
    vocoder(out, f0)
    rtf = (time.perf_counter() - t0) / 3.0
    print(json.dumps({"train_s_per_step": round(step_s, 4), "train_steps_per_s": round(1 / step_s, 2),
                      "step_target_met": step_s <= 0.5, "convert_rtf": round(rtf, 4), "threads": args.threads,
                      "batch": d["batch_size"], "frames": t_seg}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
