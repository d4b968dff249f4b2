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
import shutil
import subprocess
import sys
import time
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import yaml

from scripts.slurm_cluster import missing_requirements, slurm_cluster

ROOT = Path(__file__).resolve().parents[1]
NOT_COPIED = {"results", ".snakemake", ".git", "tests", "bench", ".pytest_cache",
              "__pycache__"}
TINY = {
    "tracks": [],  # only the feats target; later stages are not under test
    "data": {"corpora": ["synth"]},
    "corpora": {"synth": {"preparer": "synth", "n_speakers": 6, "n_sentences": 2,
                          "emotions": ["neutral", "happy"], "sample_rate": 22050,
                          "split": {"train": 4, "val": 1, "test": 1}}},
    "feats": {"extract": ["stn_mel", "mfcc"]},
}
COMPARED = ("01_data", "02_feats")  # logs/ and benchmarks/ hold timings
SUBMITTED = re.compile(r"submitted with SLURM jobid (\d+)")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(missing_requirements() is not None,
                       reason=str(missing_requirements())),
]


def _copy_workflow(dest: Path) -> Path:
    dest.mkdir()
    for item in ROOT.iterdir():
        if item.name in NOT_COPIED:
            continue
        if item.is_dir():
            shutil.copytree(item, dest / item.name,
                            ignore=shutil.ignore_patterns("__pycache__", ".snakemake"))
        else:
            shutil.copy2(item, dest / item.name)
    (dest / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    return dest


def _snakemake(workdir: Path, *args: str, env=None) -> subprocess.Popen:
    """Start `snakemake ... feats` in workdir; its output goes to workdir/run.log."""
    cmd = [sys.executable, "-m", "snakemake", "feats", "--configfile", "tiny.yaml", *args]
    with open(workdir / "run.log", "w") as log:
        return subprocess.Popen(cmd, cwd=workdir, env=env, text=True,
                                stdout=log, stderr=subprocess.STDOUT)


def _finish(proc: subprocess.Popen, workdir: Path, what: str, timeout=400) -> str:
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
