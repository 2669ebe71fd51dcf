"""A throw-away PostgreSQL cluster of the cluster test's own, so the test can stop and start it.

Like ``.ci/run``: the newest Debian binaries under /usr/lib/postgresql/*/bin, a temp data and socket
dir, 127.0.0.1 and a free port only, run as ``postgres`` (with runuser) when we are root, since
PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

USER, PASSWORD, DATABASE = "tollgate", "tollgate", "tollgate_cluster"


def _newest_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: [int(x) for x in Path(p).parent.name.split(".")])
    if not found or not Path(found[-1], "initdb").exists():
        raise SystemExit("cluster-test: no PostgreSQL under /usr/lib/postgresql/*/bin (apt-get install postgresql)")
    return Path(found[-1])


class Postgres:
    def __init__(self, port: int):
        self.bin = _newest_bin()
        self.port = port
        self.tmp = Path(tempfile.mkdtemp(prefix="tollgate-cluster-pg."))
        self.data, self.sock, self.log = self.tmp / "data", self.tmp / "sock", self.tmp / "server.log"
        self.sock.mkdir()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.tmp, "postgres", "postgres")
            shutil.chown(self.sock, "postgres", "postgres")
        self.tmp.chmod(0o700)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def dsn(self) -> str:  # for psycopg itself
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        # From a directory postgres can read (the worktree may be root-only).
        return subprocess.run(command, cwd=self.tmp, capture_output=True, text=True, check=False)

    def _check(self, *args: str) -> None:
        done = self._run(*args)
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise SystemExit(f"cluster-test: {' '.join(args[:1])} failed:\n{done.stdout}{done.stderr}{log}")

    def create(self) -> None:
        self._check("initdb", "-D", str(self.data), "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
                    "--auth-local=trust", "--auth-host=scram-sha-256")
        self.start()
        psql = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.sock), "-p", str(self.port),
                "-U", "postgres", "-d", "postgres", "-c"]
        self._check(*psql, f"CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'")
        self._check(*psql, f"CREATE DATABASE {DATABASE} OWNER {USER}")

    def start(self) -> None:
        self._check("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start", "-o",
                    f"-k {self.sock} -p {self.port} -c listen_addresses=127.0.0.1 -c max_connections=200")

    def stop(self) -> None:
        # fast: connections are cut as in a real restart; the clients must notice and reconnect.
        self._check("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.tmp, ignore_errors=True)
