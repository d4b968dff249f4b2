#!/usr/bin/env python
"""Benchmarks of the xvector track (figures printed, one core unless --threads):

* PLDA scoring throughput (trials/s) for --trials random trials (target: 1M trials in <= 5 s);
* x-vector extraction real-time factor per core (seconds of compute per second of audio);
* training steps per second on CPU for the x-vector TDNN and the first BNF DNN.

usage: bench/bench_xvector.py [--trials 1000000] [--threads 1] [--config config.yaml]
Sizes come from the config's xvector block (the default run's models).
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pystn.backend import Backend  # noqa: E402
from pystn.models.bnf import BottleneckDNN, bnf_loss  # noqa: E402
from pystn.models.xvector import XvectorNet  # noqa: E402


def timed(fn, repeat: int) -> float:
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t0) / repeat


def bench_plda(n_trials: int, dim: int = 128, n_emb: int = 20000) -> None:
    rng = np.random.default_rng(0)
    spk = np.repeat(np.arange(200), 10)
    train = rng.standard_normal((2000, dim)) + rng.standard_normal((200, dim))[spk] * 2
    be = Backend.fit(train, spk, lda_dim=150 if dim > 150 else None)
    emb = rng.standard_normal((n_emb, dim))
    pairs = rng.integers(0, n_emb, (n_trials, 2))
    t0 = time.perf_counter()
    be.score(emb, emb, pairs)
    dt = time.perf_counter() - t0
    print(f"PLDA scoring: {n_trials} trials (lda dim {be.lda.shape[1]}, {n_emb} embeddings, incl. LDA + "
          f"length norm) in {dt:.2f} s = {n_trials / dt:,.0f} trials/s")


def bench_extraction(cfg: dict, in_dim: int = 30, seconds: float = 10.0) -> None:
    net = XvectorNet(in_dim, 20, **cfg["embedding"]["model"]).eval()
    x = torch.randn(1, int(seconds * 100), in_dim)
    with torch.no_grad():
        dt = timed(lambda: net.embed(x), 5)
    print(f"x-vector extraction: {seconds:.0f} s of MFCC frames in {dt * 1000:.1f} ms -> RTF {dt / seconds:.4f}")


def bench_training(cfg: dict) -> None:
    e = cfg["embedding"]
    net = XvectorNet(30, 20, **e["model"])
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    seg = int(np.mean(e["segment"]))
    x, y = torch.randn(e["batch_size"], seg, 30), torch.randint(0, 20, (e["batch_size"],))

    def xv_step():
        loss = torch.nn.functional.cross_entropy(net(x)[1], y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    dt = timed(xv_step, 5)
    print(f"x-vector training: batch {e['batch_size']} x {seg} frames: {1 / dt:.2f} steps/s")
    d = cfg["bnf"]["dnn1"]
    dnn = BottleneckDNN(40, 50, **d["model"])
    opt = torch.optim.Adam(dnn.parameters(), 1e-3)
    b, t = d["batch_size"], 250
    feats, lengths = torch.randn(b, t, 40), torch.full((b,), t)
    phones, plen = torch.randint(1, 50, (b, 35)), torch.full((b,), 35)

    def bnf_step():
        loss, _ = bnf_loss(dnn(feats, lengths), phones, plen)
        opt.zero_grad()
        loss.backward()
        opt.step()
    dt = timed(bnf_step, 5)
    print(f"BNF DNN training: batch {b} x {t} frames (CTC): {1 / dt:.2f} steps/s")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--config", default=str(Path(__file__).resolve().parents[1] / "config.yaml"))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = yaml.safe_load(Path(args.config).read_text())["xvector"]
    print(f"threads: {args.threads}")
    bench_plda(args.trials)
    bench_extraction(cfg)
    bench_training(cfg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
