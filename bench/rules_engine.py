"""Benchmark: evaluate 100 realistic compiled rules (trace on) against one tracked-action context.

Run from the repo root: ``python bench/rules_engine.py`` (or ``python -m bench.rules_engine``).
Exits 1 when the median full evaluation exceeds the 1 ms budget, so CI can run it as a guard:
track is the hot path and rules run on every call.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.domain.rules import CompiledConditions, compile_conditions  # noqa: E402

BUDGET_MICROSECONDS = 1000.0
RULES = 100
WARMUP = 200
RUNS = 3000

CONTEXT: dict[str, Any] = {
    "user": {"id": "usr_8f3a", "email": "ann@example.co.nz", "isNew": False, "roles": ["member"]},
    "custom": {"amount": 2350.75, "currency": "NZD", "payee": "acct_77", "isFirstPayee": True,
               "attempts": 2, "channel": "web", "merchantCategory": "5732", "score": 0.42},
    "ip": {"address": "203.0.113.7", "countryCode": "NZ", "isAnonymous": False, "asn": 9500},
    "device": {"id": "dev_1c2", "isNew": True, "ageDays": 3},
    "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15",
    "action": {"code": "withdraw"},
}

COUNTRIES = ["NZ", "AU", "US", "GB", "DE", "FR", "JP", "SG", "CA", "IE", "NL", "SE", "NO", "BR",
             "IN", "ZA", "MX", "KR", "CN", "RU", "NG", "UA", "IT", "ES", "PL", "AR", "CL", "PH"]


def var(path: str, *default: Any) -> dict[str, Any]:
    return {"var": [path, *default]} if default else {"var": path}


def atom(rng: random.Random) -> dict[str, Any]:
    """One comparison of the kinds admins write: thresholds, lists, flags, substrings."""
    kind = rng.randrange(9)
    if kind == 0:
        return {">": [var("custom.amount"), rng.choice([100, 1000, 2000, 5000])]}
    if kind == 1:
        return {"<=": [rng.choice([0, 1, 2]), var("custom.attempts"), rng.choice([3, 5])]}
    if kind == 2:
        return {"in": [var("ip.countryCode"), rng.sample(COUNTRIES, rng.randint(3, 20))]}
    if kind == 3:
        return {"==": [var("custom.currency"), rng.choice(["NZD", "AUD", "USD"])]}
    if kind == 4:
        return {"!=": [var("action.code"), rng.choice(["login", "withdraw", "transfer"])]}
    if kind == 5:
        return {"==": [var(rng.choice(["device.isNew", "custom.isFirstPayee", "ip.isAnonymous"])),
                       rng.choice([True, False])]}
    if kind == 6:
        return {"in": [rng.choice(["Macintosh", "Windows", "Android"]), var("userAgent")]}
    if kind == 7:
        return {">=": [var("custom.score", 0), rng.choice([0.2, 0.5, 0.8])]}
    return {"!": {"missing": ["device.id", "user.email"]}}


def build_rule(rng: random.Random) -> dict[str, Any]:
    """2-4 comparisons under and/or, sometimes with a nested group."""
    size = rng.randint(2, 4)
    atoms = [atom(rng) for _ in range(size)]
    if size >= 3 and rng.random() < 0.5:
        atoms = [*atoms[:-2], {rng.choice(["and", "or"]): atoms[-2:]}]
    return {rng.choice(["and", "and", "or"]): atoms}


def evaluate_all(rules: list[CompiledConditions]) -> int:
    matched = 0
    for rule in rules:
        matched += rule.evaluate(CONTEXT).matched
    return matched


def main() -> int:
    rng = random.Random(20240501)
    rules = [compile_conditions(build_rule(rng)) for _ in range(RULES)]
    for _ in range(WARMUP):
        evaluate_all(rules)
    timings: list[float] = []
    clock = time.perf_counter_ns
    for _ in range(RUNS):
        start = clock()
        matched = evaluate_all(rules)
        timings.append((clock() - start) / 1000)
    timings.sort()
    p50 = statistics.median(timings)
    p99 = timings[int(len(timings) * 0.99) - 1]
    mean = statistics.fmean(timings)
    traced = sum(len(rule.evaluate(CONTEXT).trace) for rule in rules)
    print(f"{RULES} rules, {matched} matching, {traced} comparisons traced per evaluation, "
          f"{RUNS} runs")
    print(f"p50 {p50:.1f} us   p99 {p99:.1f} us   mean {mean:.1f} us   "
          f"(budget {BUDGET_MICROSECONDS:.0f} us at p50)")
    if p50 > BUDGET_MICROSECONDS:
        print("FAIL: p50 over budget", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
