"""Unit tests of profiles/local and profiles/slurm (no cluster, no CUDA needed).

Snakemake itself evaluates each profile's resources for a tiny workflow (the
jobs run locally and dump their evaluated resources); the SLURM executor
plugin's own command builders then turn them into the sbatch / srun calls.
"""
import os
import subprocess
import sys
from pathlib import Path

import yaml

from snakemake_executor_plugin_slurm import Executor
from snakemake_executor_plugin_slurm.submit_string import get_submit_command
from snakemake_executor_plugin_slurm.utils import set_gres_string
from snakemake_executor_plugin_slurm_jobstep import get_gpu_setting

ROOT = Path(__file__).resolve().parents[1]
PROFILES = ROOT / "profiles"
SNAKEMAKE = [sys.executable, "-m", "snakemake"]

# Two rules, one declaring a GPU as the 05_train rules do; each job's shell
# command writes the resources Snakemake formatted into it (profile defaults
# and global limits applied), as the recipe's shell rules see them.
SNAKEFILE = '''
KEYS = config.get("keys", "gpu mem_mb").split()
DUMP = "echo " + " ".join(f"{k}={{resources.{k}}}" for k in KEYS) + " > {output}"
rule all:
    input: "train.txt", "feats.txt"
rule train:
    output: "train.txt"
    threads: 2
    resources: gpu=1, mem_mb=8000
    shell: DUMP
rule feats:
    output: "feats.txt"
    shell: DUMP
'''
SLURM_KEYS = ["--config", "keys=gpu mem_mb runtime slurm_partition"]


def _parse(text):
    pairs = (item.split("=", 1) for item in text.split())
    return {k: int(v) if v.isdigit() else v for k, v in pairs}


class _Resources(dict):
    """dict with attribute access, the interface the plugin reads resources by."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError as err:
            raise AttributeError(name) from err


class _Job:
    def __init__(self, resources, threads):
        self.resources = _Resources(resources)
        self.threads = threads


class _ExecutorState:
    """The attributes Executor.get_partition_arg reads (no partition file)."""

    _partitions = None
    _fallback_partition = None


def _evaluated_resources(tmp_path, profile, extra_env=None, extra_args=()):
    """Run the tiny workflow with `profile`, executed locally; {rule: resources}."""
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    env = {k: v for k, v in os.environ.items() if k != "PYSTN_SLURM_PARTITION"}
    env.update(extra_env or {}, CUDA_VISIBLE_DEVICES="")
    cmd = SNAKEMAKE + ["--profile", str(PROFILES / profile), *extra_args]
    out = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return {rule: _parse((tmp_path / f"{rule}.txt").read_text())
            for rule in ("train", "feats") if (tmp_path / f"{rule}.txt").exists()}


def _sbatch(resources, threads):
    job = _Job(resources, threads)
    params = {"run_uuid": "RUN", "slurm_logfile": "log/%j.log", "comment_str": "rule_x",
              "account": "", "partition": Executor.get_partition_arg(_ExecutorState(), job),
              "workdir": "/work"}
    return get_submit_command(job, params) + set_gres_string(job), job


def test_slurm_profile_keys():
    prof = yaml.safe_load((PROFILES / "slurm" / "config.yaml").read_text())
    assert prof["executor"] == "slurm"
    assert prof["rerun-incomplete"] is True and prof["printshellcmds"] is True
    assert prof["jobs"] >= 1 and prof["latency-wait"] >= 5 and prof["retries"] >= 1
    assert {"slurm_partition", "runtime", "mem_mb", "gpu"} <= set(prof["default-resources"])


def test_slurm_gpu_rule_asks_for_gpu_cpu_rule_does_not(tmp_path):
    res = _evaluated_resources(tmp_path, "slurm", {"PYSTN_SLURM_PARTITION": "gpuq"},
                               ["--executor", "local", "--cores", "2", *SLURM_KEYS])
    assert res["train"]["gpu"] == 1 and res["feats"]["gpu"] == 0
    assert res["train"]["slurm_partition"] == "gpuq"
    assert res["feats"]["runtime"] == 120 and res["feats"]["mem_mb"] == 4000
    assert res["train"]["mem_mb"] == 8000  # a rule's own value beats the default

    gpu_call, gpu_job = _sbatch(res["train"], threads=2)
    assert gpu_call.endswith(" --gpus=1") and "--gres" not in gpu_call
    assert " -p gpuq" in gpu_call and " --mem 8000" in gpu_call and " -t 120" in gpu_call
    assert "--ntasks=" not in gpu_call and "--cpus-per-task=2" in gpu_call
    assert get_gpu_setting(gpu_job) == "--gpus=1"

    cpu_call, cpu_job = _sbatch(res["feats"], threads=1)
    assert "--gpus" not in cpu_call and "gpu" not in cpu_call.replace("gpuq", "")
    assert "--ntasks=1" in cpu_call and " --mem 4000" in cpu_call
    assert get_gpu_setting(cpu_job) == ""


def test_slurm_resources_grow_with_attempt_and_partition_defaults_to_cluster(tmp_path):
    res = _evaluated_resources(tmp_path, "slurm", None,
                               ["--executor", "local", "--cores", "1", "--attempt", "2",
                                *SLURM_KEYS, "--", "feats.txt"])
    assert set(res) == {"feats"}
    assert res["feats"]["runtime"] == 240 and res["feats"]["mem_mb"] == 8000
    # empty partition: the plugin falls back to the partition sinfo marks '*'
    assert res["feats"]["slurm_partition"] == ""


def test_local_profile_runs_gpu_rules_on_cpu(tmp_path):
    prof = yaml.safe_load((PROFILES / "local" / "config.yaml").read_text())
    assert prof["resources"]["gpu"] == 0 and prof["rerun-incomplete"] is True
    assert "executor" not in prof
    res = _evaluated_resources(tmp_path, "local", None, ["--cores", "2"])
    assert res["train"]["gpu"] == 0  # capped by the global limit, still run
    assert res["train"]["mem_mb"] == 8000


def test_local_profile_gpu_limit_can_be_raised(tmp_path):
    res = _evaluated_resources(tmp_path, "local", None, ["--cores", "2", "--resources", "gpu=1"])
    assert res["train"]["gpu"] == 1 and res["feats"]["gpu"] == 0
