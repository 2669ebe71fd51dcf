"""Real servers on 127.0.0.1 for tests that need more than the test client: a free port, and
Tollgate itself under gunicorn in processes of its own (so nothing is shared but the database)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager

import requests

STARTUP_SECONDS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def tollgate_processes(env: Mapping[str, str], count: int) -> Iterator[list[str]]:
    """``count`` Tollgate instances (gunicorn, one worker each) on the database ``env`` names; yields
    their base URLs once each answers ``/healthz``."""
    ports = [free_port() for _ in range(count)]
    with ExitStack() as stack:
        # A log file, not a pipe: a pipe nobody reads fills up and stops the server.
        logs = [stack.enter_context(tempfile.TemporaryFile("w+")) for _ in ports]
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                 "app:create_app()"],
                env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=log,
            )
            for port, log in zip(ports, logs, strict=True)
        ]
        try:
            urls = [f"http://127.0.0.1:{port}" for port in ports]
            for url, process, log in zip(urls, processes, logs, strict=True):
                _wait_until_up(url, process, log)
            yield urls
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@contextmanager
def tollgate_to_kill(env: Mapping[str, str]) -> Iterator[tuple[str, Callable[[], None]]]:
    """One Tollgate instance (gunicorn, one worker) in a process group of its own; yields its base URL
    and a function that ends the whole group with SIGKILL (no worker finishes anything, no clean
    shutdown: what ``kill -9`` or a crash does)."""
    port = free_port()
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1", "app:create_app()"],
            env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True,
        )

        def kill() -> None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until_up(url, process, log)
            yield url, kill
        finally:
            if process.poll() is None:
                kill()


def _wait_until_up(url: str, process: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"Tollgate at {url} exited: {log.read()}")
        try:
            if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or still loading the app
            pass
        time.sleep(0.1)
    raise RuntimeError(f"Tollgate at {url} did not answer within {STARTUP_SECONDS} s")
