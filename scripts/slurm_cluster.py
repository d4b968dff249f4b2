#!/usr/bin/env python3
"""A throwaway single-node SLURM cluster (with job accounting) under a temp dir.

Brings up, as root, everything a Snakemake SLURM run needs on one machine:

* ``munged`` with a private key and socket,
* ``mariadbd`` on a private datadir / socket / 127.0.0.1 port (for slurmdbd),
* ``slurmdbd`` (so ``sacct`` answers, as the snakemake SLURM executor asks it),
* ``slurmctld`` + ``slurmd`` for one node (the local machine, no GRES), with
  one partition ``debug`` (Default=YES).

Nothing is written outside ``root``; client commands find the cluster through
``SLURM_CONF`` (see :attr:`SlurmCluster.env`). Daemons run in the foreground
as children of this process and are killed on teardown, even on failure.

Library use::

    with slurm_cluster(tmp_dir) as cluster:
        subprocess.run(["sbatch", "--wrap", "true"], env=cluster.env)

CLI (for manual experiments): ``python scripts/slurm_cluster.py up <dir>``
keeps the cluster up until Ctrl-C and prints the ``export SLURM_CONF=...``
line to use in another shell.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

BINARIES = ("munged", "munge", "unmunge", "mungekey", "mariadbd", "mariadb-install-db",
            "slurmdbd", "slurmctld", "slurmd", "sbatch", "srun", "sacct", "sacctmgr",
            "squeue", "sinfo", "scontrol", "scancel")


class ClusterError(RuntimeError):
    """A daemon did not start or did not become ready; names its log file."""


def missing_requirements() -> str | None:
    """Return why a test cluster cannot be started here, or None if it can."""
    if os.geteuid() != 0:
        return "a throwaway SLURM cluster needs root (slurmd runs jobs as any user)"
    missing = [d for d in BINARIES if shutil.which(d) is None
               and not Path("/usr/sbin", d).exists()]
    if missing:
        return ("SLURM/munge/MariaDB binaries missing: " + ", ".join(missing)
                + " (install slurm-wlm munge slurmdbd mariadb-server)")
    return None


def _which(name: str) -> str:
    found = shutil.which(name) or str(Path("/usr/sbin", name))
    if not Path(found).exists():
        raise ClusterError(f"binary not found: {name}")
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def total_memory_mb() -> int:
    """Physical memory in MiB (from /proc/meminfo), for the node's RealMemory."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise ClusterError("MemTotal missing from /proc/meminfo")


@dataclass
class SlurmCluster:
    """A running cluster: its directory, name, ports and child daemons."""

    root: Path
    name: str
    node: str = "localhost"
    partition: str = "debug"
    cpus: int = 2
    memory_mb: int = 0
    ports: dict = field(default_factory=dict)
    procs: list = field(default_factory=list)  # [(name, Popen)]

    @property
    def conf(self) -> Path:
        return self.root / "etc" / "slurm.conf"

    @property
    def env(self) -> dict:
        """os.environ plus SLURM_CONF pointing at this cluster."""
        env = dict(os.environ, SLURM_CONF=str(self.conf))
        for key in [k for k in env if k.startswith("SLURM_") and k != "SLURM_CONF"]:
            del env[key]  # never inherit an enclosing job's allocation
        return env

    def run(self, *cmd: str, check: bool = True, timeout: float = 30) -> str:
        """Run a SLURM client command against this cluster; return stdout."""
        out = subprocess.run(cmd, env=self.env, capture_output=True, text=True,
                             timeout=timeout)
        if check and out.returncode != 0:
            raise ClusterError(f"{' '.join(cmd)} failed ({out.returncode}): "
                               f"{out.stderr.strip()}")
        return out.stdout

    def sacct_states(self, job_ids=None) -> dict[str, str]:
        """{job id: State} of the main allocations as slurmdbd records them."""
        cmd = ["sacct", "-X", "--parsable2", "--noheader", "--allusers",
               "--format=JobIdRaw,State", "--starttime", "now-1days"]
        if job_ids:
            cmd += ["--jobs", ",".join(map(str, job_ids))]
        rows = [line.split("|") for line in self.run(*cmd).splitlines() if line]
        return {row[0]: row[1] for row in rows}

    def log(self, daemon: str) -> Path:
        return self.root / "log" / f"{daemon}.log"

    def _start(self, name: str, cmd: list[str], conf: bool = True) -> subprocess.Popen:
        """Start a daemon in the foreground, in its own session, logging to log/."""
        env = self.env
        if not conf:
            del env["SLURM_CONF"]
        with open(self.root / "log" / f"{name}.stdout", "ab") as out:
            proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=out,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs.append((name, proc))
        return proc

    def _wait(self, what: str, ready, log: Path, timeout: float) -> None:
        """Poll ready() until true; fail naming the daemon log on timeout/death."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [n for n, p in self.procs if p.poll() is not None]
            if dead:
                raise ClusterError(f"{dead[0]} exited while waiting for {what}; "
                                   f"see {log}:\n{_tail(log)}")
            with contextlib.suppress(Exception):
                if ready():
                    return
            time.sleep(0.3)
        raise ClusterError(f"timed out waiting for {what}; see {log}:\n{_tail(log)}")

    def stop(self) -> None:
        """Cancel remaining jobs, then kill the daemons (newest first)."""
        with contextlib.suppress(Exception):
            if any(n == "slurmctld" and p.poll() is None for n, p in self.procs):
                self.run("scancel", "--user", "root", "--full", check=False, timeout=10)
                _poll(lambda: not self.run("squeue", "-h", timeout=5).strip(), 10)
        for name, proc in reversed(self.procs):
            _terminate(proc)
        self.procs.clear()
        with contextlib.suppress(OSError):
            if os.readlink(CONFIGLESS_LINK).startswith(str(self.root)):
                os.unlink(CONFIGLESS_LINK)


def _poll(cond, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if cond():
                return True
        time.sleep(0.3)
    return False


def _terminate(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def _tail(path: Path, n: int = 15) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    return "(no log)"


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.write_text(text)
    path.chmod(mode)


CONFIGLESS_LINK = "/run/slurm/conf"
MUNGE_SOCKET = Path("/run/munge/munge.socket.2")
MUNGE_KEY = Path("/etc/munge/munge.key")


def _munge_works() -> bool:
    """True if a munged answers on the default socket (munge -n | unmunge)."""
    enc = subprocess.run(["munge", "-n"], capture_output=True, timeout=5)
    return enc.returncode == 0 and subprocess.run(
        ["unmunge"], input=enc.stdout, capture_output=True, timeout=5).returncode == 0


def _start_munge(c: SlurmCluster) -> None:
    """Reuse a running munged, else start one on the default socket.

    SLURM 22.05 client commands ignore AuthInfo=socket=..., so the default
    socket is used; a munged we start is ours to stop on teardown.
    """
    if _munge_works():
        return
    if not MUNGE_KEY.exists():
        MUNGE_KEY.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([_which("mungekey"), "--create", f"--keyfile={MUNGE_KEY}"],
                       check=True, capture_output=True)
    MUNGE_SOCKET.parent.mkdir(parents=True, exist_ok=True)
    mdir = c.root / "munge"
    mdir.mkdir(mode=0o700)
    c._start("munged", [_which("munged"), "--foreground", "--force",
                        f"--socket={MUNGE_SOCKET}", f"--key-file={MUNGE_KEY}",
                        f"--log-file={c.log('munged')}", f"--pid-file={mdir / 'pid'}",
                        f"--seed-file={mdir / 'seed'}"])
    c._wait("munged", _munge_works, c.log("munged"), 15)


def _start_mariadb(c: SlurmCluster) -> None:
    data, db = c.root / "mysql", c.root / "mysql-run"
    db.mkdir()
    init = subprocess.run(
        [_which("mariadb-install-db"), "--no-defaults", f"--datadir={data}",
         "--user=root", "--skip-test-db", "--auth-root-authentication-method=normal"],
        capture_output=True, text=True, timeout=120)
    if init.returncode != 0:
        raise ClusterError(f"mariadb-install-db failed: {init.stderr[-2000:]}")
    # Grant tables are skipped: the server only listens on 127.0.0.1 of a
    # throwaway machine-local cluster, and slurmdbd then needs no password.
    c._start("mariadbd", [
        _which("mariadbd"), "--no-defaults", f"--datadir={data}", "--user=root",
        f"--socket={db / 'mysqld.sock'}", f"--pid-file={db / 'mysqld.pid'}",
        "--bind-address=127.0.0.1", f"--port={c.ports['mysql']}",
        "--skip-grant-tables", "--skip-name-resolve", f"--log-error={c.log('mariadbd')}",
        "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=8M"])

    def listening() -> bool:
        with socket.create_connection(("127.0.0.1", c.ports["mysql"]), timeout=1):
            return True
    c._wait("mariadbd to listen", listening, c.log("mariadbd"), 30)


def _auth(c: SlurmCluster) -> str:
    return f"AuthType=auth/munge\nAuthInfo=socket={MUNGE_SOCKET}\n"


def slurmdbd_conf(c: SlurmCluster) -> str:
    return (_auth(c) + f"DbdHost=localhost\nDbdAddr=127.0.0.1\n"
            f"DbdPort={c.ports['dbd']}\nSlurmUser=root\nDebugLevel=info\n"
            f"LogFile={c.log('slurmdbd')}\nPidFile={c.root / 'run' / 'slurmdbd.pid'}\n"
            f"StorageType=accounting_storage/mysql\nStorageHost=127.0.0.1\n"
            f"StoragePort={c.ports['mysql']}\nStorageUser=root\n"
            f"StorageLoc=acct_{c.name}\n")


def slurm_conf(c: SlurmCluster) -> str:
    """slurm.conf: one node, no GRES, linuxproc tracking, slurmdbd accounting."""
    r = c.root
    return (f"ClusterName={c.name}\nSlurmctldHost={c.node}(127.0.0.1)\n" + _auth(c)
            + f"SlurmUser=root\nSlurmdUser=root\n"
            f"SlurmctldPort={c.ports['ctld']}\nSlurmdPort={c.ports['slurmd']}\n"
            f"StateSaveLocation={r / 'state'}\nSlurmdSpoolDir={r / 'spool'}\n"
            f"SlurmctldPidFile={r / 'run' / 'slurmctld.pid'}\n"
            f"SlurmdPidFile={r / 'run' / 'slurmd.pid'}\n"
            f"SlurmctldLogFile={c.log('slurmctld')}\nSlurmdLogFile={c.log('slurmd')}\n"
            "ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n"
            "SelectType=select/cons_tres\nSelectTypeParameters=CR_CPU_Memory\n"
            "JobAcctGatherType=jobacct_gather/none\nMpiDefault=none\n"
            "ReturnToService=2\nMinJobAge=300\nSlurmdParameters=config_overrides\n"
            "SlurmctldParameters=enable_configless\n"
            f"PlugStackConfig={r / 'etc' / 'plugstack.conf'}\nMailProg=/bin/true\n"
            "AccountingStorageType=accounting_storage/slurmdbd\n"
            f"AccountingStorageHost=localhost\nAccountingStoragePort={c.ports['dbd']}\n"
            "SlurmctldTimeout=30\nSlurmdTimeout=30\nInactiveLimit=0\n"
            f"NodeName={c.node} NodeAddr=127.0.0.1 CPUs={c.cpus} "
            f"RealMemory={c.memory_mb} State=UNKNOWN\n"
            f"PartitionName={c.partition} Nodes={c.node} Default=YES "
            "MaxTime=INFINITE State=UP\n")


def _write_configs(c: SlurmCluster) -> None:
    for sub in ("etc", "log", "state", "spool", "run"):
        (c.root / sub).mkdir(parents=True, exist_ok=True)
    _write(c.conf, slurm_conf(c))
    _write(c.root / "etc" / "slurmdbd.conf", slurmdbd_conf(c), 0o600)
    _write(c.root / "etc" / "plugstack.conf", "")


def _start_slurm(c: SlurmCluster, timeout: float) -> None:
    etc = c.root / "etc"
    c._start("slurmdbd", [_which("slurmdbd"), "-D"])
    c._wait("slurmdbd", lambda: c.run("sacctmgr", "-n", "list", "cluster",
                                       timeout=5) is not None,
            c.log("slurmdbd"), timeout)
    c.run("sacctmgr", "-i", "add", "cluster", c.name, check=False)
    c._start("slurmctld", [_which("slurmctld"), "-D", "-i", "-f", str(etc / "slurm.conf")])
    c._wait("slurmctld", lambda: c.run("scontrol", "ping", timeout=5).count("UP") >= 1,
            c.log("slurmctld"), timeout)
    # Configless slurmd: the snakemake jobstep strips SLURM_CONF from the
    # environment of its inner `srun`, which then finds the configuration
    # only through slurmd's cache link /run/slurm/conf (removed on stop).
    c._start("slurmd", [_which("slurmd"), "-D", "-N", c.node,
                        "--conf-server", f"127.0.0.1:{c.ports['ctld']}"], conf=False)
    c._wait("node idle", lambda: c.run("sinfo", "-h", "-o", "%T", "-n", c.node,
                                        timeout=5).strip().startswith("idle"),
            c.log("slurmd"), timeout)


def start(root: Path, cpus: int = 2, timeout: float = 60) -> SlurmCluster:
    """Bring the cluster up under root (must be empty or absent); return it.

    Raises ClusterError (naming the daemon's log) if a daemon fails; daemons
    already started are stopped before the error propagates.
    """
    reason = missing_requirements()
    if reason:
        raise ClusterError(reason)
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    c = SlurmCluster(root=root, name="pystn" + uuid.uuid4().hex[:8], cpus=cpus,
                     memory_mb=int(total_memory_mb() * 0.9),
                     ports={k: free_port() for k in ("ctld", "slurmd", "dbd", "mysql")})
    try:
        _write_configs(c)
        _start_munge(c)
        _start_mariadb(c)
        _start_slurm(c, timeout)
    except BaseException:
        c.stop()
        raise
    return c


@contextlib.contextmanager
def slurm_cluster(root: Path, cpus: int = 2, timeout: float = 60):
    """Context manager: start() on entry, stop() on exit (also on error)."""
    cluster = start(root, cpus=cpus, timeout=timeout)
    try:
        yield cluster
    finally:
        cluster.stop()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("action", choices=["up"], help="bring up and wait for Ctrl-C")
    ap.add_argument("root", type=Path, help="empty directory for all cluster state")
    ap.add_argument("--cpus", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)
    t0 = time.monotonic()

    def interrupt(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupt)  # `kill <pid>` also tears down
    with slurm_cluster(args.root, cpus=args.cpus) as cluster:
        print(f"cluster {cluster.name} up in {time.monotonic() - t0:.1f} s\n"
              f"export SLURM_CONF={cluster.conf}", file=sys.stderr, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
