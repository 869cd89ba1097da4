"""A Dask cluster on this machine for the DaskRunner: a scheduler and workers as subprocesses on 127.0.0.1.

    with LocalDaskCluster(workers=2, log_dir="logs") as cluster:
        ... python -m tf_nst.beam ... --runner=DaskRunner --dask_client_address={cluster.address}

The same as running ``dask scheduler --host 127.0.0.1`` and ``dask worker tcp://127.0.0.1:PORT --host
127.0.0.1`` by hand: every port (scheduler, workers, nannies, dashboards) listens on loopback only. Each process
runs in a process group of its own, which ``stop`` ends (SIGTERM, then SIGKILL), children included. Each worker
runs one task at a time with ``tf_threads`` TensorFlow threads and logs tf_nst's set-up and writes (INFO) to
``log_dir/<name>.log``. Needs ``pip install 'tf_nst[dask]'``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

LOOPBACK = ["--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0"]


class ClusterError(RuntimeError):
    """The cluster did not come up; the message ends with the tail of its logs."""


class LocalDaskCluster:
    """``workers`` single-task Dask workers with ``tf_threads`` TensorFlow threads each, and their scheduler."""

    def __init__(
        self,
        workers: int,
        log_dir: str | os.PathLike,
        tf_threads: int = 1,
        timeout: float = 60,
        env: dict[str, str] | None = None,
    ):
        self.log_dir = Path(log_dir)
        self.workers, self.tf_threads, self.timeout = workers, tf_threads, timeout
        self.env = {"TF_CPP_MIN_LOG_LEVEL": "3", "DASK_DISTRIBUTED__LOGGING__TF_NST": "info", **(env or {})}
        self.processes: list[subprocess.Popen] = []
        self.groups: list[int] = []  # the process group of each process started, kept after stop
        self.address = ""

    @property
    def worker_logs(self) -> list[Path]:
        return [self.log_dir / f"worker-{i}.log" for i in range(1, self.workers + 1)]

    def _start(self, args: list[str], log: Path, **env: str) -> None:
        with open(log, "w") as out:
            environ = dict(os.environ, **self.env, **env)
            command = [sys.executable, "-m", *args]
            process = subprocess.Popen(command, stdout=out, stderr=out, env=environ, start_new_session=True)
        self.processes.append(process)
        self.groups.append(process.pid)

    def _wait(self, ready, what: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not ready():
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.processes):
                logs = [self.log_dir / "scheduler.log", *self.worker_logs]
                tails = "\n".join(log.read_text()[-1500:] for log in logs if log.exists())
                raise ClusterError(f"the Dask cluster did not start: {what}\n{tails}")
            time.sleep(0.3)

    def start(self) -> LocalDaskCluster:
        """Start the scheduler, then the workers; return once all workers have registered."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        scheduler_file = self.log_dir / "scheduler.json"
        scheduler_file.unlink(missing_ok=True)
        scheduler_log = self.log_dir / "scheduler.log"
        scheduler = [
            "distributed.cli.dask_scheduler",
            *LOOPBACK,
            "--port",
            "0",
            "--scheduler-file",
            str(scheduler_file),
        ]
        self._start([*scheduler, "--idle-timeout", "3600"], scheduler_log)  # ends itself if left behind
        try:
            self._wait(scheduler_file.exists, "no scheduler file")
            for i, log in enumerate(self.worker_logs, 1):
                worker = ["distributed.cli.dask_worker", "--scheduler-file", str(scheduler_file), *LOOPBACK]
                options = ["--name", f"worker-{i}", "--nthreads", "1", "--local-directory", str(self.log_dir)]
                threads = str(self.tf_threads)
                self._start([*worker, *options, "--death-timeout", "60"], log, TF_NUM_INTRAOP_THREADS=threads)
            registered = lambda: scheduler_log.read_text().count("Register worker") >= self.workers  # noqa: E731
            self._wait(registered, f"{self.workers} worker(s) did not register")
        except BaseException:
            self.stop()
            raise
        self.address = json.loads(scheduler_file.read_text())["address"]
        return self

    def worker_pids(self) -> list[int]:
        """The processes that run the tasks: the nannies' children (a nanny restarts its worker if it dies)."""
        nannies = set(self.groups[1:])
        return [pid for pid, ppid, _, command in _processes() if ppid in nannies and "spawn_main" in command]

    def alive(self) -> list[int]:
        """Every live process of the cluster's groups (none after ``stop``)."""
        return [pid for pid, _, group, _ in _processes() if group in self.groups]

    def stop(self) -> None:
        """End every process of the cluster, the workers (all at once) before the scheduler: SIGTERM to each
        group, SIGKILL to what is left after 10 s."""
        _end_groups(self.processes[1:])
        _end_groups(self.processes[:1])
        self.processes = []

    def __enter__(self) -> LocalDaskCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _processes() -> list[tuple[int, int, int, str]]:
    """(pid, parent pid, process group, command line) of every live process of this machine (not zombies)."""
    out = subprocess.run(
        ["ps", "-ww", "-e", "-o", "pid=,ppid=,pgid=,stat=,args="], capture_output=True, text=True
    ).stdout
    rows = [line.split(None, 4) for line in out.splitlines()]
    return [(int(r[0]), int(r[1]), int(r[2]), r[4] if len(r) > 4 else "") for r in rows if not r[3].startswith("Z")]


def _end_groups(processes: list[subprocess.Popen]) -> None:
    """SIGTERM to the process group each of ``processes`` leads; SIGKILL to the groups still alive after 10 s."""
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        live = [process for process in processes if _signal_group(process.pid, sig)]
        deadline = time.monotonic() + wait
        while live and time.monotonic() < deadline:
            time.sleep(0.1)
            for process in live:
                process.poll()  # reap the leader, so that only live members keep the group
            live = [process for process in live if _signal_group(process.pid, 0)]
        if not live:
            return


def _signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to process group ``pgid``; False when no process of it is left."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True
