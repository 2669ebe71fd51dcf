"""The cluster test's verdict: what the run saw against what Tollgate promises, one table row each.

The database is read directly (psycopg), after the load: which tracked actions exist, which review
decisions were made, which webhook deliveries were queued, so the checks count what was stored, not
what the clients believe.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import psycopg

from cluster.processes import BIN

if TYPE_CHECKING:
    from cluster.run import Run


@dataclass
class Table:
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)

    def check(self, name: str, expected: object, seen: object, passed: bool) -> None:
        self.rows.append((name, str(expected), str(seen), "PASS" if passed else "FAIL"))

    def info(self, name: str, seen: object) -> None:
        self.rows.append((name, "-", str(seen), "INFO"))

    def passed(self) -> bool:
        return all(row[3] != "FAIL" for row in self.rows)

    def print(self) -> None:
        headers = ("check", "expected", "seen", "result")
        widths = [min((62, 56, 80, 6)[i], max(len(h), *(len(r[i]) for r in self.rows))) for i, h in enumerate(headers)]
        line = "+-" + "-+-".join("-" * w for w in widths) + "-+"
        print(line)
        print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
        print(line)
        for row in self.rows:
            print("| " + " | ".join(c[:w].ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        print(line)
        failed = sum(row[3] == "FAIL" for row in self.rows)
        print(f"{len(self.rows) - failed} of {len(self.rows)} rows without FAIL" if not failed else f"{failed} FAILED")


def run_checks(run: Run) -> None:
    table, facts, seen = run.table, run.facts, run.load.seen
    if "timeline_error" in facts:
        table.check("fault timeline ran to the end", "no error", facts["timeline_error"], False)
    with psycopg.connect(run.pg.dsn) as db:
        _tracks(table, db, seen)
        _tokens(table, seen)
        _reviews(table, db, seen)
        _webhooks(table, db, run, facts)
        _limits(table, db, facts)
        _publishing(table, facts)
    _errors(table, run, facts)
    _processes(table, run, facts)
    _logs(table, run)
    _audit(table, run)


def _tracks(table: Table, db, seen) -> None:
    counts = dict(db.execute("SELECT idempotency_key, count(*) FROM user_action WHERE idempotency_key = ANY(%s) "
                             "GROUP BY idempotency_key", (list(seen.tracks_sent),)).fetchall())
    lost = [k for k in seen.tracks_2xx if counts.get(k, 0) == 0]
    twice = [k for k, n in counts.items() if n > 1]
    table.check("tracks answered 2xx stored exactly once", f"{len(seen.tracks_2xx)} of {len(seen.tracks_2xx)}",
                f"{len(seen.tracks_2xx) - len(lost)} stored, {len(lost)} lost, {len(twice)} twice",
                not lost and not twice and len(seen.tracks_2xx) > 0)
    unanswered = len(seen.tracks_sent) - len(seen.tracks_2xx)
    table.info("tracks sent / not answered 2xx (faults)", f"{len(seen.tracks_sent)} / {unanswered}, "
               f"{sum(1 for k in seen.tracks_sent - seen.tracks_2xx if counts.get(k))} of those stored anyway")
    table.check("idempotent repeat on the other instance: same action", "all same",
                dict(seen.repeats), seen.repeats["different"] == 0 and seen.repeats["same"] > 0)


def _tokens(table: Table, seen) -> None:
    both = [v for v in seen.validations if None not in v]
    exactly_one = sum(1 for v in both if v.count(True) == 1)
    table.check("result token validated on A and B at once: one isValid", f"{len(both)} of {len(both)}",
                f"{exactly_one} of {len(both)} (+{len(seen.validations) - len(both)} with a side in a fault)",
                exactly_one == len(both) and len(both) > 0)
    never_twice = all(v.count(True) <= 1 for v in seen.validations)
    table.check("no result token isValid twice", "0", sum(1 for v in seen.validations if v.count(True) > 1), never_twice)
    table.info("TOTP challenges passed", len(seen.validations))
    refused = {reason: n for reason, n in seen.totp_failed.items() if not reason.startswith("HTTP")}
    table.check("a right TOTP code answered is verified", "no refusal", dict(seen.totp_failed) or "none", not refused)


def _reviews(table: Table, db, seen) -> None:
    cases = list(seen.races) + list(seen.sla_cases)
    decisions = dict(db.execute("SELECT user_action_id, count(*) FROM review_decision WHERE user_action_id = ANY(%s) "
                                "GROUP BY user_action_id", (cases,)).fetchall())
    once = sum(1 for case in cases if decisions.get(case) == 1)
    table.check("each review case decided exactly once", f"{len(cases)} of {len(cases)}",
                f"{once} once, {sum(1 for c in cases if decisions.get(c, 0) > 1)} twice, "
                f"{sum(1 for c in cases if c not in decisions)} never", once == len(cases) and len(seen.races) > 0)
    one_winner = sum(1 for winners in seen.races.values() if len(winners) == 1)
    by = Counter(w for winners in seen.races.values() for w in winners)
    table.check("API (one instance) vs console (other) race: one winner", f"{len(seen.races)} of {len(seen.races)}",
                f"{one_winner} ({dict(by)})", one_winner == len(seen.races))
    sla = dict(db.execute("SELECT user_action_id, source FROM review_decision WHERE user_action_id = ANY(%s)",
                          (seen.sla_cases,)).fetchall())
    table.check("cases left alone decided by the SLA job", f"{len(seen.sla_cases)} by sla",
                dict(Counter(sla.values())), list(sla.values()).count("sla") == len(seen.sla_cases))


def _webhooks(table: Table, db, run: Run, facts) -> None:
    expected = Counter((path, event) for path, event in db.execute(
        "SELECT e.url, d.event_id FROM webhook_delivery d JOIN webhook_endpoint e ON e.id = d.endpoint_id"))
    statuses = dict(db.execute("SELECT status, count(*) FROM webhook_delivery GROUP BY status").fetchall())
    receipts = run.receiver.snapshot()
    got = Counter((run.receiver.url(r.path), r.event_id) for r in receipts)
    missing = sum(1 for key in expected if key not in got)
    twice = sum(1 for n in got.values() if n > 1)
    unknown = sum(1 for key in got if key not in expected)
    table.check("every webhook event delivered exactly once per endpoint", f"{len(expected)} once",
                f"{len(expected) - missing} received, {missing} missing, {twice} twice, {unknown} unknown",
                missing == 0 and twice == 0 and unknown == 0 and len(expected) > 0)
    table.check("webhook signatures verified", "0 bad", f"{run.receiver.bad_signatures} bad",
                run.receiver.bad_signatures == 0)
    table.check("deliveries all recorded delivered", "all delivered", statuses, set(statuses) == {"delivered"})
    after_outage = sum(1 for r in receipts if r.received_at > facts.get("outage_end", float("inf")))
    after_receiver = sum(1 for r in receipts if r.received_at > facts.get("receiver_down", float("inf")) + 12)
    table.check("webhook workers deliver after the database restart", "> 0", after_outage, after_outage > 0)
    table.info("deliveries received after the receiver came back", after_receiver)
    # The contract (README, Webhooks) promises at-least-once delivery de-duplicated by id, not an order.
    table.info("order per endpoint", "not promised by the contract: receivers order by the envelope's time")


def _limits(table: Table, db, facts) -> None:
    totp = facts.get("totp_limit", Counter())
    attempts = db.execute(
        "SELECT count(*) FROM verification_attempt v JOIN end_user u ON u.id = v.end_user_id WHERE u.user_id = %s",
        ("totp-limit",)).fetchone()[0] if totp else None
    state = db.execute("SELECT state FROM user_action WHERE idempotency_key = %s",
                       (facts.get("totp_limit_key"),)).fetchone()
    expected = {"CODE_INVALID_OR_EXPIRED": 9, "MAX_ATTEMPTS_EXCEEDED": 5}
    table.check("TOTP: 14 wrong codes at once over A+B", f"{expected}, 10 attempts stored, CHALLENGE_FAILED",
                f"{dict(totp)}, {attempts} stored, {state and state[0]}",
                dict(totp) == expected and attempts == 10 and state is not None and state[0] == "CHALLENGE_FAILED")
    account, address = facts.get("sign_in_account", Counter()), facts.get("sign_in_address", Counter())
    table.check("sign-in: 8 wrong passwords at once for one account", "{'not right': 5, 'locked': 3}", dict(account),
                dict(account) == {"not right": 5, "locked": 3})
    SIGN_IN_LIMIT = facts["sign_in_limit"]  # noqa: N806  (the run's setting)
    left = SIGN_IN_LIMIT - 5
    failures = db.execute("SELECT count(*) FROM address_failure WHERE kind = 'sign_in'").fetchone()[0]
    table.check(f"sign-in: 16 more from the address (limit {SIGN_IN_LIMIT})", f"{{'not right': {left}, '429': {16 - left}}},"
                f" {SIGN_IN_LIMIT} failures stored", f"{dict(address)}, {failures} stored",
                dict(address) == {"not right": left, "429": 16 - left} and failures == SIGN_IN_LIMIT)


def _publishing(table: Table, facts) -> None:
    before, code, saved, after = facts.get("setting", (None,) * 4)
    table.check("setting saved on A decides B's next track", "400 redirect_url_not_allowed, saved, then 200",
                f"{before} {code}, saved {saved}, then {after}",
                (before, code, saved, after) == (400, "redirect_url_not_allowed", True, 200))
    before, published, after = facts.get("rule", (None,) * 3)
    table.check("rule published on B decides A's next track", "ALLOW, published, then BLOCK",
                f"{before}, published {published}, then {after}", (before, published, after) == ("ALLOW", True, "BLOCK"))


def _errors(table: Table, run: Run, facts) -> None:
    calls = run.recorder.calls
    bad = [c for c in calls if c.status is None or c.status >= 500]
    outside = [c for c in bad if not run.recorder.in_a_window(c)]
    table.check("responses >= 500 or no answer outside the fault windows", 0,
                f"{len(outside)} of {len(calls)} calls" + (f": {_sample(outside)}" if outside else ""), not outside)
    database = next((w for w in run.recorder.windows if w.affects == "*"), None)
    in_db = [c for c in bad if database and database.covers(c)
             and not any(w.covers(c) for w in run.recorder.windows if w is not database)]
    shapes = Counter((c.status, c.error_code, bool(c.retry_after)) for c in in_db if c.path.startswith("/v1"))
    proper = shapes.get((503, "database_unavailable", True), 0)
    table.check("API during the outage: 503 + Retry-After + JSON error", "all of them",
                f"{proper} of {sum(shapes.values())}" + (f": {dict(shapes)}" if proper != sum(shapes.values()) else ""),
                database is not None and proper == sum(shapes.values()))
    no_answer = [c for c in bad if c.status is None and not any(w.covers(c) for w in run.recorder.windows
                                                                if w.affects == c.instance)]
    table.check("connection errors only from the killed instance", 0, len(no_answer), not no_answer)
    probes = facts.get("outage_probes", {})
    expected = {"track": (503, "5", "database_unavailable"), "ready": (503, "unavailable")}
    table.check("probe in the outage: track 503/Retry-After/JSON, /readyz not ready", expected,
                {k: v for k, v in probes.items()}, probes and all(p == expected for p in probes.values()))
    recovered = facts.get("recovered", {})
    table.check("both instances serve within 10 s of the database's return", "A, B <= 10 s",
                {k: f"{v:.1f} s" for k, v in recovered.items()}, set(recovered) == {"A", "B"}
                and max(recovered.values()) <= 10)
    for window in run.recorder.windows:
        start = dt.datetime.fromtimestamp(window.start).strftime("%H:%M:%S.%f")[:-3]
        end = dt.datetime.fromtimestamp(window.end).strftime("%H:%M:%S.%f")[:-3] if window.end else "open"
        hit = sum(1 for c in bad if window.covers(c))
        table.info(f"fault window: {window.name}", f"{start}-{end}, {hit} calls failed in it")


def _sample(calls) -> str:
    return ", ".join(f"{c.instance} {c.method} {c.path[:40]} {c.status or c.error}" for c in calls[:3])


def _logs(table: Table, run: Run) -> None:
    """Tracebacks the processes logged, by the exception's last line: none, outage or not. An outage
    is logged one line per refused request or probe; a traceback is a path nobody handled (the logs
    are kept on FAIL)."""
    kinds: Counter = Counter()
    for process in run.processes:
        lines = process.log_path.read_text(errors="replace").splitlines()
        for i, line in enumerate(lines):
            if line.startswith("Traceback (most recent call last)"):
                end = next((j for j in range(i + 1, len(lines)) if not lines[j].startswith((" ", "Traceback", "The above",
                                                                                             "During handling"))
                            and lines[j].strip()), i)
                kinds[f"{process.name}: {lines[end].split(':')[0]}"] += 1
    table.check("tracebacks in the processes' logs", "none", dict(kinds) or "none", not kinds)


def _processes(table: Table, run: Run, facts) -> None:
    table.check("killed worker replaced by gunicorn", True, facts.get("worker_respawned"), facts.get("worker_respawned"))
    restart = facts.get("restart_seconds")
    table.info("instance A ready after its restart", f"{restart:.1f} s" if restart is not None else "-")
    alive = {p.name: p.alive() for p in (run.b, *run.workers, run.sla)}
    table.check("webhook workers, SLA job and B kept running (no restart)", "all alive", alive, all(alive.values()))


def _audit(table: Table, run: Run) -> None:
    done = subprocess.run([str(BIN / "flask"), "tollgate", "audit", "verify"], env=run.a.env, capture_output=True,
                          text=True, check=False)
    with psycopg.connect(run.pg.dsn) as db:
        events = dict(db.execute("SELECT event, count(*) FROM audit_event GROUP BY event").fetchall())
    burst, size = run.facts.get("audit_burst"), run.facts["audit_burst_size"]
    table.check("audited console changes at once on A and B", f"{size} saved, {size} events",
                f"{burst} saved, {events.get('review.reasons_changed')} events",
                burst == size and events.get("review.reasons_changed") == size)
    table.check("flask tollgate audit verify after writes from both", "exit 0",
                f"exit {done.returncode}: {(done.stdout + done.stderr).strip()[:120]}", done.returncode == 0)
    table.info("audit events written", events)
