"""The load: each scenario is a few requests across both instances, and keeps what it saw for the
checks (which keys were answered 2xx, which validate said true, who won each review race)."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import psycopg
import pyotp

from cluster.console import ConsoleAdmin
from cluster.traffic import Instances


def at_once(*calls):
    """Run the calls in threads released together (a barrier), as two clients racing; their results."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def ok(response) -> bool:
    return response is not None and 200 <= response.status_code < 300


def redirected(response) -> bool:
    """A console form's success: a redirect to the page that shows the change (302 or 303)."""
    return status(response) in (302, 303)


def status(response) -> int | None:
    """The status code, None for no answer (a Response of 4xx or 5xx is falsy: never test it with ``and``)."""
    return None if response is None else response.status_code


@dataclass
class Seen:
    lock: threading.Lock = field(default_factory=threading.Lock)
    tracks_2xx: set[str] = field(default_factory=set)  # idempotency keys answered 2xx
    tracks_sent: set[str] = field(default_factory=set)
    repeats: Counter = field(default_factory=Counter)  # same | different | failed
    validations: list[list[bool | None]] = field(default_factory=list)  # per result token: [A, B] isValid (None: no answer)
    totp_failed: Counter = field(default_factory=Counter)  # why a right code was not verified
    races: dict[int, list[str]] = field(default_factory=dict)  # action id -> winners ("api", "console", "api-retry")
    sla_cases: list[int] = field(default_factory=list)

    def add(self, name: str, value) -> None:
        with self.lock:
            target = getattr(self, name)
            if isinstance(target, set):
                target.add(value)
            else:
                target.append(value)


class Load:
    def __init__(self, instances: Instances, admin: ConsoleAdmin, dsn: str, totp_secrets: dict[str, str]):
        self.instances, self.admin, self.dsn, self.totp_secrets = instances, admin, dsn, totp_secrets
        self.seen = Seen()

    # -- tracks: a first try on one instance, its idempotent repeat on the other ----------------------

    def track_pair(self, n: int) -> None:
        first = "A" if n % 2 else "B"
        key = f"cluster-{uuid.uuid4()}"
        attributes = {"idempotencyKey": key, "custom": {"amount": 10 + n % 900}, "ipAddress": f"203.0.113.{n % 200}"}
        self.seen.add("tracks_sent", key)
        response = self.instances.track(first, f"user-{n % 40}", **attributes)
        if not ok(response):
            return
        self.seen.add("tracks_2xx", key)
        repeat = self.instances.track(self.instances.other(first), f"user-{n % 40}", **attributes)
        if not ok(repeat):
            with self.seen.lock:
                self.seen.repeats["failed"] += 1
            return
        same = (repeat.json()["idempotencyKey"], repeat.json()["state"]) == (key, response.json()["state"])
        with self.seen.lock:
            self.seen.repeats["same" if same else "different"] += 1

    # -- a TOTP challenge through the client API, its result token validated on both at once ----------

    def totp_flow(self, n: int) -> None:
        user = f"totp-{n}"
        first = "A" if n % 2 else "B"
        tracked = self.instances.track(first, user, custom={"amount": 2500})
        if not ok(tracked) or tracked.json()["state"] != "CHALLENGE_REQUIRED":
            return
        verified = self.instances.request(
            self.instances.other(first), "POST", "/v1/client/verify/totp", api=False,
            headers={"Authorization": f"Bearer {tracked.json()['token']}"},
            json={"verificationCode": pyotp.TOTP(self.totp_secrets[user]).now()})
        if not ok(verified) or not verified.json().get("isVerified"):
            reason = verified.json().get("failureReason") if ok(verified) else f"HTTP {status(verified)}"
            with self.seen.lock:
                self.seen.totp_failed[reason] += 1
            return
        token = verified.json()["accessToken"]
        answers = at_once(*[lambda name=name: self.instances.request(name, "POST", "/v1/validate", json={"token": token})
                            for name in ("A", "B")])
        self.seen.add("validations", [r.json()["isValid"] if ok(r) else None for r in answers])

    # -- review cases: the API and the console deciding the same case at once, on different instances --

    def review_case(self, n: int, *, race: bool) -> None:
        first = "A" if n % 2 else "B"
        user = f"reviewed-{n}"
        key = f"review-{uuid.uuid4()}"
        tracked = self.instances.track(first, user, idempotencyKey=key, custom={"amount": 25000})
        if not ok(tracked):
            return
        action_id = self._action_id(key)
        if not race:
            self.seen.add("sla_cases", action_id)
            return
        api_on, console_on = first, self.instances.other(first)
        path = f"/v1/users/{user}/actions/withdraw-funds/{key}"
        api, console = at_once(
            lambda: self.instances.request(api_on, "PATCH", path, json={"state": "REVIEW_SUCCEEDED"}),
            lambda: self.admin.post(console_on, f"/review/{action_id}/decision",
                                    {"decision": "reject", "reason": "Cluster test race"}),
        )
        winners = [name for name, won in (("api", ok(api)), ("console", redirected(console)))
                   if won]
        deadline = time.monotonic() + 40
        lost = [r for r in (api, console) if r is None or r.status_code >= 500]
        while not winners and lost and time.monotonic() < deadline:  # both deciders hit a fault: decide it later
            time.sleep(2)
            again = self.instances.request(api_on, "PATCH", path, json={"state": "REVIEW_SUCCEEDED"})
            if ok(again):
                winners = ["api-retry"]
            elif status(again) == 409:
                break
        with self.seen.lock:
            self.seen.races[action_id] = winners

    def _action_id(self, key: str) -> int:
        """From the database: the console addresses a case by the action's row id. Retried through an outage."""
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.dsn, connect_timeout=5) as connection:
                    return connection.execute("SELECT id FROM user_action WHERE idempotency_key = %s", (key,)).fetchone()[0]
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
