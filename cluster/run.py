"""``make cluster-test``: two Tollgate instances on one PostgreSQL, under mixed load and faults.

On 127.0.0.1 only: a throw-away PostgreSQL cluster of its own (so it can be stopped mid-run), two
gunicorn instances (two workers each), two webhook workers, the SLA job and a webhook receiver.
A fixed set of scenarios runs across both instances while a fault timeline kills a worker, then a
whole instance, stops the database for ~5 s and takes the receiver down; then the checks, printed
as a table, each PASS or FAIL. Exits 1 on any FAIL. About 90 s; never more than ~3 minutes.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from itertools import zip_longest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from the repository root

import psycopg  # noqa: E402
import pyotp  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402

from cluster.checks import Table, run_checks  # noqa: E402
from cluster.console import ConsoleAdmin, form_fields, page, sign_in_form  # noqa: E402
from cluster.pg import Postgres  # noqa: E402
from cluster.processes import BIN, Instance, Process, free_port  # noqa: E402
from cluster.receiver import Receiver  # noqa: E402
from cluster.scenarios import Load, at_once, ok, redirected, status  # noqa: E402
from cluster.traffic import Instances, Recorder  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "tg_sk_cluster_" + secrets.token_hex(16)
ADMIN, VICTIM, PASSWORD = "admin@example.com", "victim@example.com", "cluster test password 1"
SIGN_IN_LIMIT = 14  # TOLLGATE_SIGN_IN_FAILURES_PER_ADDRESS for the run
LOAD_SECONDS = 60  # the scenarios are spread over this long
AUDIT_BURST = 12  # console changes at once, half on each instance, into one tenant's audit chain
TRACK_PAIRS, TOTP_FLOWS, RACES, SLA_CASES = 160, 24, 16, 6
ALLOWED_ORIGIN = "https://shop.example.com"
BLOCKED_PAYEE_RULE = '{"name": "Blocked payee", "priority": 2, "outcome": "BLOCK", ' \
                     '"conditions": {"==": [{"var": "custom.payee"}, "mallory"]}}'


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def environment(database_url: str, instance_path: Path) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not (k.startswith("TOLLGATE_") or k == "DATABASE_URL")}
    return {**inherited, "FLASK_APP": "app:create_app", "DATABASE_URL": database_url, "TOLLGATE_ENV": "development",
            # Every instance and worker shares the secrets, as any deployment behind a load balancer must.
            "TOLLGATE_SECRET_KEY": secrets.token_urlsafe(48), "TOLLGATE_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "TOLLGATE_INSTANCE_PATH": str(instance_path), "TOLLGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
            "TOLLGATE_SIGN_IN_FAILURES_PER_ADDRESS": str(SIGN_IN_LIMIT), "TOLLGATE_API_SECRET_KEY": API_KEY,
            "TOLLGATE_ADMIN_EMAIL": ADMIN, "TOLLGATE_ADMIN_PASSWORD": PASSWORD, "PATH": f"{BIN}:{os.environ['PATH']}"}


def provision(env: dict[str, str]) -> None:
    """The demo tenant, key, admin and withdraw-funds action (10,000+ REVIEW, 1,000+ CHALLENGE), a second
    console user for the sign-in limits, a review deadline for the SLA job, and a draft rule published mid-run."""
    commands = [["db", "upgrade"], ["tollgate", "seed-demo"],
                ["tollgate", "create-admin", "--email", VICTIM, "--password", PASSWORD],
                ["reviews", "set-sla", "withdraw-funds", "--deadline", "1", "--policy", "AUTO_REJECT"],
                {"args": ["rules", "create", "withdraw-funds"], "stdin": BLOCKED_PAYEE_RULE}]
    done = subprocess.run([sys.executable, str(ROOT / "cluster" / "provision.py"), *map(json.dumps, commands)], env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"cluster-test: provisioning failed:\n{done.stdout}{done.stderr}")


class Run:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.started = time.monotonic()
        self.recorder = Recorder()
        self.table = Table()
        self.facts: dict[str, object] = {"sign_in_limit": SIGN_IN_LIMIT, "audit_burst_size": AUDIT_BURST}

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def main(self) -> int:
        self.pg = Postgres(free_port())
        try:
            return self._main()
        finally:
            for process in getattr(self, "processes", []):
                process.stop()
            if getattr(self, "receiver", None):
                self.receiver.stop()
            self.pg.destroy()

    def _main(self) -> int:
        log(f"PostgreSQL ({self.pg.bin}) on 127.0.0.1:{self.pg.port}")
        self.pg.create()
        env = environment(self.pg.url, self.tmp / "instance")
        provision(env)
        logs = self.tmp / "logs"
        logs.mkdir()
        self.a, self.b = Instance("A", env, logs), Instance("B", env, logs)
        workers = [Process(f"webhooks-{n}", [str(BIN / "flask"), "webhooks", "work", "--interval", "1"], env, logs)
                   for n in (1, 2)]
        self.sla = Process("sla", [str(BIN / "flask"), "reviews", "apply-sla", "--every", "3"], env, logs)
        self.workers = workers
        self.processes = [self.a, self.b, *workers, self.sla]
        for process in self.processes:
            process.start()
        self.receiver = Receiver(free_port(), API_KEY)
        self.receiver.start()
        for instance in (self.a, self.b):
            instance.wait_ready()
        log(f"instances A {self.a.url}, B {self.b.url}; logs in {logs}")
        self.instances = Instances({"A": self.a.url, "B": self.b.url}, API_KEY, self.recorder)
        self.admin = ConsoleAdmin(self.instances, "A", ADMIN, PASSWORD)
        for path in ("/hooks/one", "/hooks/two"):
            created = self.admin.post("B", "/console/webhooks", {
                "url": self.receiver.url(path), "description": f"cluster {path}", "is_active": "y",
                "event_types": ["action.created", "action.state_changed", "action.review_decided",
                                "authenticator.created"]})
            if not redirected(created):
                problem = created is not None and " ".join(page(created).get_text().split())[:600]
                raise SystemExit(f"cluster-test: registering a webhook endpoint: {status(created)} {problem}")
        totp = self._enrol_totp_users()
        self.load = Load(self.instances, self.admin, self.pg.dsn, totp)

        log(f"load: {TRACK_PAIRS} track pairs, {TOTP_FLOWS} TOTP challenges, {RACES} review races, "
            f"{SLA_CASES} cases for the SLA job, over {LOAD_SECONDS} s, with faults")
        faults = threading.Thread(target=self._fault_timeline, name="faults")
        load_started = time.monotonic()
        self.facts["load_started"] = time.time()
        faults.start()
        self._run_load(load_started)
        faults.join()
        log(f"load done after {time.monotonic() - load_started:.0f} s; waiting for webhooks and the SLA job")
        self._drain()
        run_checks(self)
        self.table.print()
        log(f"cluster test took {self.elapsed():.0f} s")
        passed = self.table.passed()
        if not passed or os.environ.get("CLUSTER_KEEP_LOGS"):
            kept = Path(tempfile.mkdtemp(prefix="tollgate-cluster-logs."))
            shutil.copytree(logs, kept, dirs_exist_ok=True)
            shutil.copy(self.pg.log, kept / "postgresql.log")
            log(f"{'' if passed else 'FAILED; '}the processes' logs are kept in {kept}")
        return 0 if passed else 1

    def _enrol_totp_users(self) -> dict[str, str]:
        users = [f"totp-{n}" for n in range(TOTP_FLOWS)] + ["totp-limit"]
        secrets_by_user = {}
        for n, user in enumerate(users):
            secret = pyotp.random_base32()
            uri = pyotp.TOTP(secret).provisioning_uri(name=user, issuer_name="Cluster")
            enrolled = self.instances.request("AB"[n % 2], "POST", f"/v1/users/{user}/authenticators",
                                              json={"verificationMethod": "AUTHENTICATOR_APP", "otpUri": uri})
            if not ok(enrolled):
                raise SystemExit(f"cluster-test: enrolling {user}'s authenticator app failed")
            secrets_by_user[user] = secret
        return secrets_by_user

    # -- the load ------------------------------------------------------------------------------------

    def _run_load(self, started: float) -> None:
        load = self.load
        jobs = [lambda n=n: load.review_case(n, race=False) for n in range(SLA_CASES)]  # first: their deadline runs
        tracks = [lambda n=n: load.track_pair(n) for n in range(TRACK_PAIRS)]
        totps = [lambda n=n: load.totp_flow(n) for n in range(TOTP_FLOWS)]
        races = [lambda n=n: load.review_case(SLA_CASES + n, race=True) for n in range(RACES)]
        # The kinds interleaved evenly, so every fault finds each kind of request under way.
        specials = [job for pair in zip_longest(totps, races) for job in pair if job is not None]
        every = max(1, TRACK_PAIRS // len(specials))
        spread = []
        for i, job in enumerate(tracks):
            spread.append(job)
            if i % every == every - 1 and specials:
                spread.append(specials.pop(0))
        spread += specials
        jobs += spread
        pace = LOAD_SECONDS / len(jobs)

        def paced(i_job):
            i, job = i_job
            delay = started + i * pace - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            job()

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(paced, enumerate(jobs)))

    # -- the faults ----------------------------------------------------------------------------------

    def _at(self, second: float) -> None:
        delay = self.facts["load_started"] + second - time.time()
        if delay > 0:
            time.sleep(delay)

    def _fault_timeline(self) -> None:
        try:
            self._faults()
        except BaseException as exc:  # a broken timeline is a FAIL, not a hung run
            self.facts["timeline_error"] = repr(exc)
            log(f"fault timeline stopped: {exc!r}")

    def _faults(self) -> None:
        recorder = self.recorder
        self._at(2)
        log("fault: webhook receiver down")
        self.facts["receiver_down"] = time.time()
        self.receiver.stop()

        self._at(6)
        victim = self.a.worker_pids()[0]
        log(f"fault: kill -9 worker {victim} of instance A")
        window = recorder.open_window("kill -9 one worker of A", "A")
        os.kill(victim, 9)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (victim in self.a.worker_pids() or len(self.a.worker_pids()) < 2):
            time.sleep(0.1)
        time.sleep(1)  # the new worker loads the app
        window.end = time.time()
        self.facts["worker_respawned"] = len(self.a.worker_pids()) == 2 and victim not in self.a.worker_pids()

        self._at(10)
        log("webhook receiver up again")
        self.receiver.start()

        self._at(13)
        self._publish_setting_and_rule()
        self._audit_burst()

        self._at(20)
        log("fault: kill -9 the whole of instance A (master and workers), then restart it")
        window = recorder.open_window("kill -9 instance A, restart", "A")
        self.a.kill_all()
        time.sleep(2)
        self.a.start()
        self.facts["restart_seconds"] = self.a.wait_ready()
        window.end = time.time()

        self._at(34)
        self._database_outage()

        self._at(48)
        self._totp_limit()
        self._sign_in_limits()

    def _publish_setting_and_rule(self) -> None:
        """A tenant setting saved on A decides B's very next track; a rule published on B, A's."""
        admin, instances = self.admin, self.instances
        redirect = {"redirectUrl": f"{ALLOWED_ORIGIN}/paid", "custom": {"amount": 5}}
        before = instances.track("B", "setting-user", **redirect)
        settings = admin.get("A", "/console/settings")
        fields = form_fields(settings, "/console/settings")
        fields["redirect_allowlist"] = "\n".join(filter(None, [str(fields.get("redirect_allowlist", "")).strip(),
                                                                ALLOWED_ORIGIN]))
        saved = admin.post("A", "/console/settings", fields)
        after = instances.track("B", "setting-user", **redirect)
        self.facts["setting"] = (status(before), before is not None and before.json().get("errorCode"),
                                 redirected(saved), status(after))
        log(f"setting saved on A: B's track before {self.facts['setting'][0]}, after {self.facts['setting'][3]}")

        payee = {"custom": {"amount": 5, "payee": "mallory"}}
        before = instances.track("A", "payee-user", **payee)
        draft = admin.get("B", "/console/actions/withdraw-funds/draft")
        fields = form_fields(draft, "/console/actions/withdraw-funds/publish")
        fields["note"] = "Block payments to mallory (cluster test)"
        published = admin.post("B", "/console/actions/withdraw-funds/publish", fields)
        after = instances.track("A", "payee-user", **payee)
        self.facts["rule"] = (before is not None and ok(before) and before.json()["state"],
                              redirected(published), after is not None and ok(after) and after.json()["state"])
        log(f"rule published on B: A's track before {self.facts['rule'][0]}, after {self.facts['rule'][2]}")

    def _audit_burst(self) -> None:
        """Audited console changes at once on both instances: the tenant's chain must not fork."""
        answers = at_once(*[lambda n=n: self.admin.post("AB"[n % 2], "/console/settings/review-reasons",
                                                        {"reasons": f"Confirmed by customer\nFraud\nBurst {n}"})
                            for n in range(AUDIT_BURST)])
        self.facts["audit_burst"] = sum(1 for answer in answers if redirected(answer))
        log(f"audit burst: {self.facts['audit_burst']} of {AUDIT_BURST} review-reason changes saved at once")

    def _database_outage(self) -> None:
        log("fault: PostgreSQL stopped")
        window = self.recorder.open_window("PostgreSQL stopped ~5 s, then back", "*")
        self.pg.stop()
        stopped = time.monotonic()
        self.facts["outage_start"] = time.time()
        time.sleep(0.5)
        probes = {}
        for name in ("A", "B"):
            track = self.instances.track(name, "outage-user", custom={"amount": 5})
            ready = self.instances.request(name, "GET", "/readyz", api=False)
            probes[name] = {
                "track": (status(track), track is not None and track.headers.get("Retry-After"),
                          track is not None and track.headers.get("Content-Type", "").startswith("application/json")
                          and set(track.json()) >= {"error", "errorCode", "errorDescription"}
                          and track.json()["errorCode"]),
                "ready": (status(ready), ready is not None and ready.json().get("status")),
            }
        self.facts["outage_probes"] = probes
        time.sleep(max(0.0, 5 - (time.monotonic() - stopped)))
        self.pg.start()
        back = time.monotonic()
        self.facts["outage_end"] = time.time()
        log(f"PostgreSQL started again after {back - stopped:.1f} s")
        recovered = {}
        for name in ("A", "B"):
            while time.monotonic() - back < 30:
                answer = self.instances.track(name, "outage-user", custom={"amount": 5})
                if ok(answer):
                    recovered[name] = time.monotonic() - back
                    break
                time.sleep(0.2)
        self.facts["recovered"] = recovered
        window.end = time.time()
        log(f"both instances serve again: {', '.join(f'{k} {v:.1f} s' for k, v in recovered.items())}")

    def _totp_limit(self) -> None:
        """14 wrong codes at once, 7 to each instance, on one challenge: the budget of 10 holds."""
        tracked = self.instances.track("A", "totp-limit", custom={"amount": 2500})
        token = tracked.json()["token"]
        right = {pyotp.TOTP(self.load.totp_secrets["totp-limit"]).at(time.time() + d) for d in (-60, -30, 0, 30, 60)}
        wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in right)
        answers = at_once(*[lambda n=n: self.instances.request(
            "AB"[n % 2], "POST", "/v1/client/verify/totp", api=False, headers={"Authorization": f"Bearer {token}"},
            json={"verificationCode": wrong}) for n in range(14)])
        self.facts["totp_limit"] = Counter(r.json().get("failureReason") if ok(r) else f"HTTP {status(r)}"
                                           for r in answers)
        self.facts["totp_limit_key"] = tracked.json()["idempotencyKey"]

    def _sign_in_limits(self) -> None:
        """Wrong passwords at once on both instances: the account's 5 tries, then the address's budget."""
        def attempt(instance: str, email: str):
            response = sign_in_form(self.instances, instance, email, "not the password")
            if response is None:
                return "no answer"
            if response.status_code == 429:
                return "429"
            text = " ".join(page(response).get_text().split())
            return "locked" if "Too many failed sign-ins" in text else "not right" if "not right" in text else "other"

        account = at_once(*[lambda n=n: attempt("AB"[n % 2], VICTIM) for n in range(8)])
        address = at_once(*[lambda n=n: attempt("AB"[n % 2], f"nobody-{n}@example.com") for n in range(16)])
        self.facts["sign_in_account"] = Counter(account)
        self.facts["sign_in_address"] = Counter(address)

    # -- after the load --------------------------------------------------------------------------------

    def _drain(self) -> None:
        """Until every delivery is done and every case left for the SLA job is decided (bounded)."""
        deadline = time.monotonic() + 60  # the receiver's misses are retried a minute later
        while time.monotonic() < deadline:
            with psycopg.connect(self.pg.dsn) as connection:
                pending = connection.execute("SELECT count(*) FROM webhook_delivery WHERE status = 'pending'").fetchone()[0]
                waiting = connection.execute("SELECT count(*) FROM user_action WHERE id = ANY(%s) AND state = "
                                             "'REVIEW_REQUIRED'", (self.load.seen.sla_cases,)).fetchone()[0]
            if not pending and not waiting:
                break
            time.sleep(1)
        self.facts["drained_after"] = self.elapsed()


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="tollgate-cluster.") as tmp:
        return Run(Path(tmp)).main()


if __name__ == "__main__":
    sys.exit(main())
