"""Paths and config look-ups shared by the Snakemake rules (imported by the Snakefile).

One place for every artifact path, so rules, steps and tests agree on the
layout of ``results/`` described in DESIGN.md.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

RESULTS = Path("results")
SPLITS = ("train", "val", "test")
DATA_FILES = ("wav.scp", "utt2spk", "spk2utt", "utt2dur")


def data_dir(corpus: str, split: str) -> str:
    return str(RESULTS / "01_data" / corpus / split)


def data_file(corpus: str, split: str, name: str = "wav.scp") -> str:
    return f"{data_dir(corpus, split)}/{name}"


def shard_dir(corpus: str, split: str, nj: int, n: int) -> str:
    return f"{data_dir(corpus, split)}/split{nj}/{n}"


def feats_dir(corpus: str, split: str, feat: str) -> str:
    return str(RESULTS / "02_feats" / corpus / split / feat)


def feats_scp(corpus: str, split: str, feat: str) -> str:
    return f"{feats_dir(corpus, split, feat)}/feats.scp"


def stage_dir(stage: str, *parts: str) -> str:
    """``results/<stage>/<parts...>``, e.g. stage_dir('05_train', 'stn', 'default')."""
    return str(RESULTS.joinpath(stage, *parts))


def log_path(stage: str, *parts: str) -> str:
    return str(RESULTS.joinpath("logs", stage, *parts)) + ".log"


def bench_path(stage: str, *parts: str) -> str:
    return str(RESULTS.joinpath("benchmarks", stage, *parts)) + ".tsv"


def wavs_of_shard(shard_wav_scp: str) -> list[str]:
    """Audio files listed in a shard's wav.scp that exist now (DAG inputs).

    Listing the audio makes a touched wav re-run its shard. A file that does not
    exist is left out here, so a dry run needs no audio; the feature job then
    fails with an error naming the utterance. Every preset asks for the same
    shards, so the list is cached per (file, modification time).
    """
    if not os.path.exists(shard_wav_scp):
        return []
    return list(_existing_wavs(shard_wav_scp, os.stat(shard_wav_scp).st_mtime_ns))


@functools.lru_cache(maxsize=4096)
def _existing_wavs(shard_wav_scp: str, _mtime_ns: int) -> tuple[str, ...]:
    paths = []
    with open(shard_wav_scp, encoding="utf-8") as f:
        for line in f:
            parts = line.split(maxsplit=1)
            if len(parts) == 2 and os.path.exists(parts[1].strip()):
                paths.append(parts[1].strip())
    return tuple(paths)


def corpus_config(config: dict, corpus: str) -> dict:
    try:
        return config["corpora"][corpus]
    except KeyError:
        raise KeyError(f"corpus '{corpus}' is used but config has no 'corpora: {corpus}:' section") from None


def preset(config: dict, feat: str) -> dict:
    try:
        return config["feats"]["presets"][feat]
    except KeyError:
        raise KeyError(f"feature preset '{feat}' is used but config has no 'feats: presets: {feat}:'") from None


def gpu_resources(config: dict) -> int:
    """GPUs a training / neural-extraction job asks for: 0 when the config pins the CPU, else 1.

    Rules declare ``resources: gpu=W.gpu_resources(config)``; the SLURM profile
    turns ``gpu=1`` into a GPU request, and locally the resource is unconstrained.
    """
    return 0 if str(config.get("device", "auto")).lower() == "cpu" else int(config.get("gpus_per_job", 1))
