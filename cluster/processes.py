"""Tollgate's processes for the cluster test: gunicorn instances, webhook workers, the SLA job.

Each runs in a session (process group) of its own, so an instance can be killed whole (master and
workers) with one ``kill -9``, as a crashed machine would lose it. Logs go to files in the run's
temp dir (a pipe nobody reads would fill up and stop the server).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Process:
    def __init__(self, name: str, command: list[str], env: dict[str, str], logs: Path):
        self.name, self.command, self.env = name, command, env
        self.log_path = logs / f"{name}.log"
        self.popen: subprocess.Popen | None = None

    def start(self) -> None:
        log = self.log_path.open("a")
        self.popen = subprocess.Popen(self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill_all(self) -> None:
        """``kill -9`` the whole process group: the master and every worker at once."""
        if self.popen is not None:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait()

    def stop(self) -> None:
        if not self.alive():
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill_all()


class Instance(Process):
    """One Tollgate instance: gunicorn with two workers on its own port."""

    def __init__(self, name: str, env: dict[str, str], logs: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(name, [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", "--workers", "2",
                                "--timeout", "30", "--graceful-timeout", "5", "app:create_app()"], env, logs)

    def worker_pids(self) -> list[int]:
        """The gunicorn master's children (its workers), from /proc."""
        master = self.popen.pid
        children = Path(f"/proc/{master}/task/{master}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def wait_ready(self, timeout: float = 40) -> float:
        """Seconds until ``/readyz`` answers 200 (the database answers, the schema is current)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if not self.alive():
                raise SystemExit(f"cluster-test: {self.name} exited; see {self.log_path}")
            try:
                if requests.get(f"{self.url}/readyz", timeout=5).status_code == 200:
                    return time.monotonic() - started
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise SystemExit(f"cluster-test: {self.name} not ready within {timeout} s; see {self.log_path}")
