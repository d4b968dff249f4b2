"""Helpers to run the real Snakefile on a tiny synthetic corpus in a throwaway copy of the recipe."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECIPE_PARTS = ("Snakefile", "config.yaml", "environment.yml", "schemas", "rules", "steps", "local", "pystn", "report", "configs",
                "profiles")

TINY_CORPUS = {"preparer": "synth", "n_speakers": 6, "n_sentences": 2, "emotions": ["neutral", "happy"],
               "sample_rate": 22050, "split": {"train": 4, "val": 1, "test": 1}}


def merged_config(paper_config: str) -> dict:
    """config.yaml with ``paper_config`` (a path under the recipe) deep-merged onto it, as
    ``snakemake --configfile`` does (Snakemake's own update_config)."""
    import yaml
    from snakemake.utils import update_config

    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    update_config(config, yaml.safe_load((ROOT / paper_config).read_text()))
    return config


def copy_recipe(dest: Path) -> Path:
    """Copy the recipe's source (not results/) into ``dest``; return it."""
    dest.mkdir(parents=True, exist_ok=True)
    for part in RECIPE_PARTS:
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif src.exists():
            shutil.copy2(src, dest / part)
    return dest


def write_tiny_config(workdir: Path, **overrides) -> Path:
    """A config file with the tiny corpus and ``overrides``; given to snakemake with --configfile."""
    cfg = {"tracks": [], "nj": 2, "data": {"corpora": ["synth"], "allow_piped_wav_scp": False},
           "corpora": {"synth": TINY_CORPUS}}
    cfg.update(overrides)
    path = workdir / "tiny.yaml"
    path.write_text(json.dumps(cfg))
    return path


def snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run snakemake in ``workdir`` with the tiny config; return the completed process."""
    cmd = [sys.executable, "-m", "snakemake", *args, "--cores", "2", "--configfile", "tiny.yaml"]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def planned_jobs(proc: subprocess.CompletedProcess) -> dict[str, int]:
    """Rule -> job count from the 'Job stats' table of a (dry) run; {} when nothing is to be done."""
    lines = (proc.stdout + proc.stderr).splitlines()
    if "Job stats:" not in lines:
        return {}
    counts = {}
    for line in lines[lines.index("Job stats:") + 3:]:
        parts = line.split()
        if len(parts) != 2 or parts[0] == "total":
            break
        counts[parts[0]] = int(parts[1])
    return counts


@pytest.fixture(scope="module")
def tiny_recipe(tmp_path_factory):
    """A copy of the recipe with data + features of the tiny corpus already made."""
    work = copy_recipe(tmp_path_factory.mktemp("recipe"))
    write_tiny_config(work, feats=tiny_feats())
    snakemake(work, "feats")
    return work


def tiny_feats() -> dict:
    """The default presets, extracting a light subset (keeps the test fast)."""
    import yaml

    feats = yaml.safe_load((ROOT / "config.yaml").read_text())["feats"]
    feats["extract"] = ["stn_mel", "stn_f0", "mfcc", "cmvn_mfcc"]
    return feats
