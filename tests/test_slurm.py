"""The `feats` DAG through profiles/slurm on a real (throwaway) SLURM cluster.

Brings up a one-node cluster with accounting (scripts/slurm_cluster.py), runs
`snakemake --profile profiles/slurm feats` on a tiny synthetic corpus in one
copy of the workflow and plain `snakemake --cores 2 feats` in another, then
checks that SLURM really ran the jobs (ids in the log, per-job SLURM logs,
sacct says COMPLETED) and that both runs produced identical outputs.
Needs root and the slurm-wlm, munge, slurmdbd and mariadb-server binaries.
"""
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import yaml

from scripts.slurm_cluster import (
    SlurmCluster,
    missing_requirements,
    slurm_cluster,
    slurm_conf,
    slurmdbd_conf,
)
from tests.workflow.conftest import copy_recipe

ROOT = Path(__file__).resolve().parents[1]
TINY = {
    "tracks": [],  # only the feats target; later stages are not under test
    "nj": 1,       # one shard per (split, feature): 16 jobs, each a SLURM job
    "data": {"corpora": ["synth"]},
    "corpora": {"synth": {"preparer": "synth", "n_speakers": 6, "n_sentences": 2,
                          "emotions": ["neutral", "happy"], "sample_rate": 22050,
                          "split": {"train": 4, "val": 1, "test": 1}}},
    "feats": {"extract": ["stn_mel", "mfcc"]},
}
COMPARED = ("01_data", "02_feats")  # logs/ and benchmarks/ hold timings
SUBMITTED = re.compile(r"submitted with SLURM jobid (\d+)")

needs_cluster = pytest.mark.skipif(missing_requirements() is not None,
                                   reason=str(missing_requirements()))


def _copy_workflow(dest: Path) -> Path:
    copy_recipe(dest)
    (dest / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    return dest


def _snakemake(workdir: Path, *args: str, env=None) -> subprocess.Popen:
    """Start `snakemake ... feats` in workdir; its output goes to workdir/run.log."""
    cmd = [sys.executable, "-m", "snakemake", "feats", "--configfile", "tiny.yaml", *args]
    with open(workdir / "run.log", "w") as log:
        return subprocess.Popen(cmd, cwd=workdir, env=env, text=True,
                                stdout=log, stderr=subprocess.STDOUT)


def _finish(proc: subprocess.Popen, workdir: Path, what: str, timeout=900) -> str:
    """Wait for a _snakemake run; fail with the tail of its log unless it succeeded."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    out = (workdir / "run.log").read_text()
    assert proc.returncode == 0, f"{what} failed ({proc.returncode}):\n{out[-6000:]}"
    return out


def _files(root: Path) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for stage in COMPARED
            for p in sorted((root / "results" / stage).rglob("*")) if p.is_file()}


def _same_file(a: Path, root_a: Path, b: Path, root_b: Path) -> bool:
    """Byte equality, after replacing each run's own root in text files."""
    da, db = a.read_bytes(), b.read_bytes()
    if da == db:
        return True
    try:
        ta, tb = da.decode(), db.decode()
    except UnicodeDecodeError:
        return False
    return ta.replace(str(root_a), "<ROOT>") == tb.replace(str(root_b), "<ROOT>")


def _assert_same_feats(scp_a: Path, scp_b: Path) -> None:
    fa, fb = kaldiio.load_scp(str(scp_a)), kaldiio.load_scp(str(scp_b))
    assert list(fa.keys()) == list(fb.keys()) and len(fa) > 0, scp_a
    for key in fa:
        assert np.array_equal(fa[key], fb[key]), f"{scp_a}: {key} differs"


def _assert_same_outputs(local: Path, slurm: Path) -> None:
    files_l, files_s = _files(local), _files(slurm)
    assert files_l and set(files_l) == set(files_s), set(files_l) ^ set(files_s)
    assert any(name.endswith("feats.scp") for name in files_l)
    for name in files_l:
        if name.endswith(".scp") and "02_feats" in name:
            _assert_same_feats(files_l[name], files_s[name])
        else:
            assert _same_file(files_l[name], local, files_s[name], slurm), name


def _conf_map(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def test_cluster_config_is_private_gres_free_single_node(tmp_path):
    c = SlurmCluster(root=tmp_path, name="pystnunit", cpus=2, memory_mb=1000,
                     ports={"ctld": 7001, "slurmd": 7002, "dbd": 7003, "mysql": 7004})
    conf = slurm_conf(c)
    lines = conf.splitlines()
    node = next(line for line in lines if line.startswith("NodeName="))
    part = next(line for line in lines if line.startswith("PartitionName="))
    assert "CPUs=2" in node and "RealMemory=1000" in node and "Gres" not in conf
    assert part.startswith("PartitionName=debug ") and "Default=YES" in part
    kv = _conf_map(conf)
    assert kv["ClusterName"] == "pystnunit" and kv["SlurmctldPort"] == "7001"
    assert kv["AccountingStorageType"] == "accounting_storage/slurmdbd"
    assert kv["ProctrackType"] == "proctrack/linuxproc" and kv["TaskPlugin"] == "task/none"
    for key in ("StateSaveLocation", "SlurmdSpoolDir", "SlurmctldLogFile", "SlurmdLogFile"):
        assert kv[key].startswith(str(tmp_path)), key
    dbd = _conf_map(slurmdbd_conf(c))
    assert dbd["StoragePort"] == "7004" and dbd["DbdPort"] == "7003"
    assert dbd["StorageHost"] == "127.0.0.1"


@pytest.mark.slow
@needs_cluster
def test_cluster_runs_a_job_with_accounting_and_tears_down(tmp_path):
    t0 = time.monotonic()
    with slurm_cluster(tmp_path / "c") as cluster:
        t_up = time.monotonic() - t0
        assert t_up < 60
        out = tmp_path / "job.out"
        job = cluster.run("sbatch", "--parsable", "-o", str(out),
                          "--wrap", "echo $SLURM_JOB_PARTITION $((6 * 7))").strip()
        deadline = time.monotonic() + 60
        while cluster.sacct_states([job]).get(job) != "COMPLETED":
            assert time.monotonic() < deadline, cluster.sacct_states([job])
            time.sleep(0.5)
        assert out.read_text().split() == ["debug", "42"]
        pids = [p.pid for _, p in cluster.procs]
    assert not cluster.procs
    for pid in pids:  # every daemon is gone (reaped, so no /proc entry)
        assert not Path(f"/proc/{pid}").exists(), pid


@pytest.mark.slow
@needs_cluster
def test_feats_dag_on_slurm_matches_local_run(tmp_path):
    t0 = time.monotonic()
    local = _copy_workflow(tmp_path / "local")
    slurm = _copy_workflow(tmp_path / "slurm")
    local_env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    local_run = _snakemake(local, "--cores", "2", env=local_env)
    with slurm_cluster(tmp_path / "cluster") as cluster:
        t_up = time.monotonic() - t0
        out = _finish(_snakemake(
            slurm, "--profile", str(ROOT / "profiles" / "slurm"), "--cores", "2",
            "--slurm-init-seconds-before-status-checks", "2",
            "--slurm-keep-successful-logs", env=cluster.env), slurm, "SLURM run")
        job_ids = SUBMITTED.findall(out)
        assert job_ids, f"no SLURM job ids in the snakemake log:\n{out[-3000:]}"
        states = cluster.sacct_states(job_ids)
    assert states == {j: "COMPLETED" for j in job_ids}, states
    logs = {p.stem for p in (slurm / ".snakemake" / "slurm_logs").rglob("*.log")}
    assert set(job_ids) <= logs, set(job_ids) - logs
    _finish(local_run, local, "local run")
    _assert_same_outputs(local, slurm)
    print(f"cluster up in {t_up:.1f} s; {len(job_ids)} SLURM jobs; "
          f"whole test {time.monotonic() - t0:.1f} s", file=sys.stderr)
