"""What the gunicorn benchmarks share: a throw-away instance, its server, and the load tools.

bench/track.py and bench/verify.py measure an endpoint against ``/healthz`` of the same app under the
same gunicorn settings; these helpers keep that setup one thing, so the two ratios stay comparable.
"""

from __future__ import annotations

import base64
import http.client
import math
import os
import re
import secrets
import signal
import socket
import string
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
WORKERS = 2


def instance_env(tmp: Path) -> dict:
    """The environment of a throw-away instance in ``tmp`` (SQLite there unless ``DATABASE_URL`` is
    set) with a fresh secret API key; ``TOLLGATE_BENCH_AUTH`` is its Basic header."""
    from cryptography.fernet import Fernet  # the venv's; imported late so --help works anywhere

    api_key = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40))
    return {
        **os.environ,
        "FLASK_APP": "app:create_app",
        "TOLLGATE_ENV": "development",
        "TOLLGATE_SECRET_KEY": secrets.token_urlsafe(48),
        "TOLLGATE_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "TOLLGATE_INSTANCE_PATH": str(tmp),
        "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{tmp / 'bench.db'}",
        "TOLLGATE_API_SECRET_KEY": api_key,
        "TOLLGATE_BENCH_AUTH": "Basic " + base64.b64encode(f"{api_key}:".encode()).decode(),
    }


def database_name(env: dict) -> str:
    return "PostgreSQL" if env["DATABASE_URL"].startswith("postgres") else "SQLite"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]



def flask(env: dict, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([str(BIN / "flask"), *args], cwd=ROOT, env=env, input=stdin, text=True,
                          capture_output=True, timeout=120)
    if done.returncode != 0:
        raise SystemExit(f"`flask {' '.join(args)}` failed:\n{done.stdout}{done.stderr}")
    return done.stdout



def start_gunicorn(env: dict, port: int, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "--bind", f"{HOST}:{port}", "--workers", str(WORKERS),
         "--backlog", "2048", "--log-level", "warning", "app:create_app()"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited early ({proc.returncode}):\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=1) as response:
                if response.status == 200:
                    return proc
        except OSError:
            time.sleep(0.1)
    raise SystemExit("gunicorn did not answer /healthz within 30 s")



def stop_gunicorn(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)  # the arbiter stops its workers gracefully
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: only gunicorn and its workers
        proc.wait(timeout=5)



def run_wrk(url: str, *, duration: float, threads: int, connections: int, env: dict,
            script: Path | None = None) -> dict:
    """Max throughput with wrk; ``p50`` (ms) from its latency distribution."""
    args = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration:g}s", "--timeout", "5s", "--latency"]
    if script is not None:
        args += ["-s", str(script)]
    done = subprocess.run([*args, url], env=env, capture_output=True, text=True, timeout=duration + 30)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed:\n{done.stdout}{done.stderr}")
    out = done.stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    median = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)$", out, re.M)
    if rate is None or total is None:
        raise SystemExit(f"could not parse wrk output:\n{out}")
    return {
        "rate": float(rate.group(1)),
        "requests": int(total.group(1)),
        "errors": (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0),
        "p50": float(median.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[median.group(2)] if median else math.nan,
        "raw": out,
    }


def request_once(conn_holder: list, port: int, method: str, path: str, body: bytes | None,
                 headers: dict) -> int:
    """One request; gunicorn's sync workers close after each response, so reconnect as needed."""
    for attempt in (0, 1):
        conn = conn_holder[0]
        if conn is None:
            conn = conn_holder[0] = http.client.HTTPConnection(HOST, port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.will_close:
                conn.close()
                conn_holder[0] = None
            return response.status
        except (http.client.HTTPException, OSError):
            conn.close()
            conn_holder[0] = None
            if attempt:
                return 0
    return 0



def percentile(ordered: list[float], pct: float) -> float:
    if not ordered:
        return math.nan
    rank = max(0, math.ceil(pct / 100 * len(ordered)) - 1)  # nearest-rank
    return ordered[rank]
