"""Rule conditions: JsonLogic validation, evaluation semantics, trace, cache."""

from __future__ import annotations

import json
import math
import threading
from datetime import UTC, datetime

import pytest

from app.domain.errors import InvalidRuleConditions
from app.domain.rules import (
    CompiledRuleCache,
    ConditionTrace,
    compile_conditions,
    evaluate,
    validate_conditions,
)

CONTEXT = {
    "user": {"id": "u1", "email": "ann@example.com", "roles": ["admin", "ops"]},
    "custom": {"amount": 1500, "amountText": "1500", "currency": "NZD", "zero": 0, "zeroText": "0",
               "empty": "", "nothing": None, "emptyList": [], "flag": True, "ratio": 0.5,
               "items": [{"sku": "A1"}, {"sku": "B2"}]},
    "ip": {"address": "203.0.113.7", "countryCode": "NZ"},
    "device": {"id": "d1"},
    "userAgent": "Mozilla/5.0 (Macintosh)",
    "action": {"code": "withdraw"},
}


def var(path, *default):
    return {"var": [path, *default]} if default else {"var": path}


def matches(expr, context=CONTEXT) -> bool:
    return compile_conditions(expr).evaluate(context).matched


# ---------------------------------------------------------------------------------------------
# What a condition means


@pytest.mark.parametrize("expr, expected", [
    # no conditions / literal verdicts
    (None, True),
    (True, True),
    (False, False),
    # equality: numbers numerically, numeric strings converted, booleans only equal booleans
    ({"==": [var("custom.amount"), 1500]}, True),
    ({"==": [var("custom.amount"), 1500.0]}, True),
    ({"==": [var("custom.amountText"), 1500]}, True),
    ({"==": [var("custom.amount"), "1500.0"]}, True),
    ({"==": [var("custom.amount"), "abc"]}, False),
    ({"==": [var("custom.currency"), "NZD"]}, True),
    ({"==": [var("custom.flag"), 1]}, False),
    ({"==": [var("custom.zero"), False]}, False),
    ({"==": [var("custom.zero"), ""]}, False),
    ({"==": [var("custom.missing"), None]}, True),
    ({"==": [var("custom.zero"), None]}, False),
    ({"==": [var("user.roles"), ["admin", "ops"]]}, True),
    ({"!=": [var("ip.countryCode"), "AU"]}, True),
    ({"!=": [var("custom.amountText"), 1500]}, False),
    # strict equality: type and value, bool is not a number
    ({"===": [var("custom.amount"), 1500.0]}, True),
    ({"===": [var("custom.amountText"), 1500]}, False),
    ({"===": [var("custom.flag"), 1]}, False),
    ({"===": [var("custom.flag"), True]}, True),
    ({"!==": [var("custom.amountText"), 1500]}, True),
    ({"!==": [var("custom.amount"), 1500]}, False),
    # ordering: numbers, numeric strings, strings lexicographically
    ({">": [var("custom.amount"), 1000]}, True),
    ({">": [var("custom.amountText"), 1000]}, True),
    ({">=": [var("custom.amount"), 1500]}, True),
    ({"<": [var("custom.ratio"), 1]}, True),
    ({"<=": [var("custom.amount"), 1499.99]}, False),
    ({"<": ["2024-01-01", "2024-06-30"]}, True),
    # ordering incomparable values is False, never an error
    ({">": [var("custom.missing"), 3]}, False),
    ({"<": [var("custom.missing"), 3]}, False),
    ({">": ["abc", 3]}, False),
    ({"<": ["abc", 3]}, False),
    ({">": [var("custom.flag"), 0]}, False),
    ({">": [var("user.roles"), 0]}, False),
    ({"<": [var("user"), var("ip")]}, False),
    ({">": ["1e999", 3]}, True),
    ({">": ["9" * 5000, 3]}, False),
    # between: three-argument < and <=
    ({"<": [1000, var("custom.amount"), 2000]}, True),
    ({"<": [1500, var("custom.amount"), 2000]}, False),
    ({"<=": [1500, var("custom.amount"), 2000]}, True),
    ({"<=": [0, var("custom.missing"), 2000]}, False),
    # in: list membership (strict) or substring
    ({"in": [var("ip.countryCode"), ["NZ", "AU"]]}, True),
    ({"in": [var("ip.countryCode"), ["US", "GB"]]}, False),
    ({"in": [var("custom.amount"), [1500.0, 2000]]}, True),
    ({"in": [var("custom.amountText"), [1500]]}, False),
    ({"in": [var("custom.flag"), [1]]}, False),
    ({"in": [var("custom.missing"), ["NZ"]]}, False),
    ({"in": [var("user.roles"), ["admin"]]}, False),
    ({"in": ["admin", var("user.roles")]}, True),
    ({"in": ["root", var("user.roles")]}, False),
    ({"in": ["Macintosh", var("userAgent")]}, True),
    ({"in": ["Windows", var("userAgent")]}, False),
    ({"in": [5, "a5b"]}, False),
    ({"in": ["x", var("custom.missing")]}, False),
    ({"in": [var("ip.countryCode"), ["NZ", var("custom.currency")]]}, True),
    # truthiness per JsonLogic
    ({"!!": var("custom.zeroText")}, True),
    ({"!!": var("custom.zero")}, False),
    ({"!!": var("custom.empty")}, False),
    ({"!!": var("custom.emptyList")}, False),
    ({"!!": var("custom.nothing")}, False),
    ({"!!": [var("device")]}, True),
    ({"!": var("custom.zero")}, True),
    ({"!": [var("custom.flag")]}, False),
    (var("custom.flag"), True),
    (var("custom.empty"), False),
    # and / or / not, nested
    ({"and": [{">": [var("custom.amount"), 1000]}, {"==": [var("ip.countryCode"), "NZ"]}]}, True),
    ({"and": [{">": [var("custom.amount"), 1000]}, {"==": [var("ip.countryCode"), "AU"]}]}, False),
    ({"or": [{"==": [var("ip.countryCode"), "AU"]}, {"in": ["admin", var("user.roles")]}]}, True),
    ({"or": [False, {"and": [True, {"!": {"==": [var("action.code"), "login"]}}]}]}, True),
    ({"and": [True]}, True),
    ({"or": [0, ""]}, False),
    # var: dotted paths, list indexes, defaults, whole data
    ({"==": [var("custom.items.1.sku"), "B2"]}, True),
    ({"==": [var("custom.items.9.sku"), None]}, True),
    ({"==": [var("custom.amount.deeper"), None]}, True),
    ({"==": [var("custom.missing", 42), 42]}, True),
    ({"==": [var("custom.nothing", "fallback"), "fallback"]}, True),
    ({"==": [var("custom.missing", var("custom.currency")), "NZD"]}, True),
    ({"==": [var("custom.currency", "other"), "NZD"]}, True),
    ({"in": ["custom", {"var": ""}]}, False),  # whole data is an object: not searchable
    ({"!!": {"var": []}}, True),
    # missing / missing_some
    ({"!": {"missing": ["user.email", "device.id"]}}, True),
    ({"!": {"missing": ["user.email", "custom.empty"]}}, False),
    ({"missing": "custom.nothing"}, True),
    ({"missing_some": [1, ["custom.missing", "user.email"]]}, False),
    ({"missing_some": [2, ["custom.missing", "user.email"]]}, True),
    # if / ?: chains of any length
    ({"if": [True]}, True),
    ({"if": [False, True]}, False),
    ({"if": [{">": [var("custom.amount"), 1000]}, True, False]}, True),
    ({"if": [{">": [var("custom.amount"), 5000]}, False, {"==": [var("ip.countryCode"), "NZ"]},
             True, False]}, True),
    ({"if": [{">": [var("custom.amount"), 5000]}, False, {"==": [var("ip.countryCode"), "AU"]},
             True]}, False),
    ({"?:": [{"in": ["admin", var("user.roles")]}, False, True]}, False),
])
def test_conditions_evaluate_per_jsonlogic(expr, expected):
    assert matches(expr) is expected


@pytest.mark.parametrize("context", [
    {},
    {"custom": None},
    {"custom": "not an object"},
    {"custom": {"amount": None}},
    {"custom": {"amount": [1, 2]}},
    {"custom": {"amount": {"nested": 1}}},
    {"custom": {"amount": object()}},
    {"custom": {"amount": float("nan")}},
    {"custom": {"amount": b"bytes"}},
    {"custom": {"amount": datetime(2024, 1, 1, tzinfo=UTC)}},
])
def test_odd_contexts_never_raise_and_trace_stays_json_safe(context):
    expr = {"or": [{">": [var("custom.amount"), 1000]}, {"<": [0, var("custom.amount"), 9]},
                   {"==": [var("custom.amount"), "x"]}, {"in": [var("custom.amount"), ["x", 1]]},
                   {"in": ["x", var("custom.amount")]}, {"!!": var("custom.amount.a.0")}]}
    result = compile_conditions(expr).evaluate(context)
    assert result.matched is False
    json.dumps([entry.as_dict() for entry in result.trace], allow_nan=False)


# ---------------------------------------------------------------------------------------------
# What is refused, and where


@pytest.mark.parametrize("expr, path, reason", [
    ({"foo": [1, 2]}, "$", "unknown operator 'foo'"),
    ({"and": [True, {"foo": 1}]}, "and[1]", "unknown operator 'foo'"),
    ({"==": [1]}, "$", "'==' takes 2 arguments, got 1"),
    ({"==": 1}, "$", "'==' takes 2 arguments, got 1"),
    ({"and": [True, {"==": [1, 2, 3]}]}, "and[1]", "'==' takes 2 arguments, got 3"),
    ({"!": [True, False]}, "$", "'!' takes 1 argument, got 2"),
    ({"!!": []}, "$", "'!!' takes 1 argument, got 0"),
    ({">": [1, 2, 3]}, "$", "'>' takes 2 arguments, got 3"),
    ({"<": [1, 2, 3, 4]}, "$", "'<' takes 2 to 3 arguments, got 4"),
    ({"if": []}, "$", "'if' takes at least 1 argument, got 0"),
    ({"and": []}, "$", "'and' takes at least 1 argument, got 0"),
    ({"var": ["a", 1, 2]}, "$", "'var' takes at most 2 arguments, got 3"),
    ({"==": [{"var": {"var": "a"}}, 1]}, "==[0].var[0]", "'var' path must be a string or an integer, got object"),
    ({"==": [{"var": [None]}, 1]}, "==[0].var[0]", "'var' path must be a string or an integer, got null"),
    ({"==": [{"var": True}, 1]}, "==[0].var[0]", "'var' path must be a string or an integer, got boolean"),
    ({"missing": [1]}, "missing[0]", "'missing' takes variable paths as strings, got number"),
    ({"missing_some": ["1", ["a"]]}, "missing_some[0]", "'missing_some' needs a count of at least 0 first"),
    ({"missing_some": [1, "a"]}, "missing_some[1]", "'missing_some' needs a list of variable paths second"),
    ({"in": ["a", 5]}, "in[1]", "'in' needs a list or a string to search, got number"),
    ({"in": ["a", None]}, "in[1]", "'in' needs a list or a string to search, got null"),
    ({"and": [True, {}]}, "and[1]", "an operation must have exactly one operator, got 0"),
    ({"==": [1, 1], "!=": [1, 2]}, "$", "an operation must have exactly one operator, got 2"),
    ({1: [1, 1]}, "$", "operator must be a string, got int"),
    ({"in": [var("a"), {1, 2}]}, "in[1]", "'in' needs a list or a string to search, got set"),
    ({"==": [var("a"), {1, 2}]}, "==[1]", "set is not a JSON value"),
    ({"==": [var("a"), b"x"]}, "==[1]", "bytes is not a JSON value"),
    ({"==": [var("a"), (1, 2)]}, "==[1]", "tuple is not a JSON value"),
    ({"==": [var("a"), float("nan")]}, "==[1]", "nan is not a JSON number"),
    ({"and": [True, {"<": [1, float("inf")]}]}, "and[1].<[1]", "inf is not a JSON number"),
    ({"in": [var("a"), ["x", {"oops": 1}]]}, "in[1][1]", "unknown operator 'oops'"),
    ("custom.amount > 5", "$", "conditions must be an operation, true, false or null, got string"),
    ([True], "$", "conditions must be an operation, true, false or null, got array"),
    (1, "$", "conditions must be an operation, true, false or null, got number"),
])
def test_invalid_conditions_are_refused_with_a_pointer(expr, path, reason):
    with pytest.raises(InvalidRuleConditions) as caught:
        validate_conditions(expr)
    assert (caught.value.path, caught.value.reason) == (path, reason)
    assert caught.value.code == "invalid_rule_conditions"
    assert caught.value.message == f"{reason} (at {path})"


def nest(depth: int):
    expr: object = True
    for _ in range(depth):
        expr = {"!": expr}
    return expr


@pytest.mark.parametrize("expr, error", [
    (nest(32), None),
    (nest(33), "conditions nest deeper than 32 levels"),
    # and + 100 x (== + var + path + number) + 99 x true = 500 nodes
    ({"and": [{"==": [var(f"custom.f{i}"), i]} for i in range(100)] + [True] * 99}, None),
    ({"and": [{"==": [var(f"custom.f{i}"), i]} for i in range(100)] + [True] * 100},
     "conditions have more than 500 nodes"),
])
def test_size_limits(expr, error):
    if error is None:
        validate_conditions(expr)
    else:
        with pytest.raises(InvalidRuleConditions) as caught:
            validate_conditions(expr)
        assert caught.value.reason == error


def test_compile_validates_first():
    with pytest.raises(InvalidRuleConditions):
        compile_conditions({"==": [1]})


# ---------------------------------------------------------------------------------------------
# The trace: every comparison reached, none that short-circuiting skipped


def T(path, operator, field, observed, expected, result):  # noqa: N802 - reads like a table row
    return ConditionTrace(path, operator, field, observed, expected, result)


@pytest.mark.parametrize("expr, trace", [
    ({"and": [{">": [var("custom.amount"), 1000]}, {"==": [var("ip.countryCode"), "NZ"]}]},
     [T("and[0]", ">", "custom.amount", 1500, 1000, True),
      T("and[1]", "==", "ip.countryCode", "NZ", "NZ", True)]),
    # and stops at the first false operand; the second comparison is absent
    ({"and": [{">": [var("custom.amount"), 5000]}, {"==": [var("ip.countryCode"), "NZ"]}]},
     [T("and[0]", ">", "custom.amount", 1500, 5000, False)]),
    # or stops at the first true operand
    ({"or": [{"==": [var("ip.countryCode"), "NZ"]}, {">": [var("custom.amount"), 1]}]},
     [T("or[0]", "==", "ip.countryCode", "NZ", "NZ", True)]),
    # var on the right: observed is still the variable's value
    ({"in": ["admin", var("user.roles")]},
     [T("$", "in", "user.roles", ["admin", "ops"], "admin", True)]),
    ({"in": [var("ip.countryCode"), ["US", "NZ"]]},
     [T("$", "in", "ip.countryCode", "NZ", ["US", "NZ"], True)]),
    # no var: observed is the first operand
    ({"==": [1, 2]}, [T("$", "==", None, 1, 2, False)]),
    # between: expected holds the bounds
    ({"<": [1000, var("custom.amount"), 2000]},
     [T("$", "<", "custom.amount", 1500, [1000, 2000], True)]),
    ({"!": {"!!": var("custom.zero")}}, [T("![0]", "!!", "custom.zero", 0, None, False)]),
    ({"and": [var("custom.flag"), {"!": var("custom.empty")}]},
     [T("and[0]", "var", "custom.flag", True, None, True),
      T("and[1].![0]", "var", "custom.empty", "", None, False)]),
    ({"!": {"missing": ["user.email", "device.fingerprint"]}},
     [T("![0]", "missing", None, ["device.fingerprint"], ["user.email", "device.fingerprint"], True)]),
    ({"missing_some": [1, ["custom.a", "user.id"]]},
     [T("$", "missing_some", None, [], [1, ["custom.a", "user.id"]], False)]),
    # if: conditions are traced, only the branch taken is evaluated
    ({"if": [{">": [var("custom.amount"), 5000]}, {"==": [var("ip.countryCode"), "AU"]},
             {"==": [var("ip.countryCode"), "NZ"]}]},
     [T("if[0]", ">", "custom.amount", 1500, 5000, False),
      T("if[2]", "==", "ip.countryCode", "NZ", "NZ", True)]),
    # var defaults are evaluated only when needed; a var inside a comparison is not traced itself
    ({"==": [var("custom.missing", 7), 7]}, [T("$", "==", "custom.missing", 7, 7, True)]),
    (None, []),
    (True, []),
])
def test_trace_records_each_comparison_reached(expr, trace):
    assert list(compile_conditions(expr).evaluate(CONTEXT).trace) == trace


def test_a_named_list_is_traced_by_its_reference_not_its_items():
    context = {**CONTEXT, "custom": {"country": "KP"}, "lists": {"high-risk": ["KP", "IR"], "sanctioned": ["KP", "IR"]}}
    expr = {"or": [{"in": [var("custom.country"), var("lists.sanctioned")]}, {"in": [var("custom.country"), ["NZ"]]}]}

    trace = list(compile_conditions(expr).evaluate(context).trace)

    assert trace == [T("or[0]", "in", "custom.country", "KP", {"var": "lists.sanctioned"}, True)]


def test_trace_can_be_skipped_for_a_bare_verdict():
    result = compile_conditions({">": [var("custom.amount"), 1000]}).evaluate(CONTEXT, trace=False)
    assert (result.matched, result.trace) == (True, ())


@pytest.mark.parametrize("entry, as_dict", [
    (T("and[0]", ">", "custom.amount", 1500, 1000, True),
     {"path": "and[0]", "operator": ">", "field": "custom.amount", "observed": 1500,
      "expected": 1000, "result": True}),
    (T("$", "==", "custom.when", datetime(2024, 5, 1, tzinfo=UTC), "x", False),
     {"path": "$", "operator": "==", "field": "custom.when",
      "observed": "2024-05-01T00:00:00+00:00", "expected": "x", "result": False}),
    (T("$", "in", "custom.tags", {"b", "a"}, "a", True),
     {"path": "$", "operator": "in", "field": "custom.tags", "observed": ["a", "b"],
      "expected": "a", "result": True}),
    (T("$", "==", "custom.x", {1: (float("nan"), b"z")}, math.inf, False),
     {"path": "$", "operator": "==", "field": "custom.x", "observed": {"1": ["nan", "b'z'"]},
      "expected": "inf", "result": False}),
])
def test_trace_entries_serialise_as_camel_case_json(entry, as_dict):
    assert entry.as_dict() == as_dict
    json.dumps(entry.as_dict(), allow_nan=False)


# ---------------------------------------------------------------------------------------------
# Compiled conditions


@pytest.mark.parametrize("expr, fields", [
    (None, set()),
    (True, set()),
    ({"and": [{">": [var("custom.amount"), 1000]}, {"in": ["admin", var("user.roles")]}]},
     {"custom.amount", "user.roles"}),
    ({"==": [var("custom.a", var("custom.b")), 1]}, {"custom.a", "custom.b"}),
    ({"!": {"missing": ["ip.address", "device.id"]}}, {"ip.address", "device.id"}),
    ({"==": [{"var": 0}, 1]}, {"0"}),
    ({"!!": {"var": ""}}, {""}),
])
def test_fields_list_every_variable_read(expr, fields):
    assert compile_conditions(expr).fields == frozenset(fields)


@pytest.mark.parametrize("expr, prefix, reads", [
    ({"==": [var("ip.countryCode"), "NZ"]}, "ip", True),
    ({"==": [var("ip.countryCode"), "NZ"]}, "ip.countryCode", True),
    ({"==": [var("ip"), None]}, "ip.countryCode", True),
    ({"==": [var("ipv6.x"), "NZ"]}, "ip", False),
    ({"==": [var("device.id"), "d"]}, "ip", False),
    ({"!!": {"var": ""}}, "ip", True),
    (None, "ip", False),
])
def test_reads_tells_whether_a_signal_is_needed(expr, prefix, reads):
    assert compile_conditions(expr).reads(prefix) is reads


def test_compiled_conditions_keep_the_original_expression():
    expr = {"==": [var("user.id"), "u1"]}
    assert compile_conditions(expr).expression == expr


def test_evaluate_is_a_one_off_shortcut():
    assert evaluate({"==": [var("user.id"), "u1"]}, CONTEXT).matched is True


# ---------------------------------------------------------------------------------------------
# Cache


def test_cache_compiles_once_per_rule_version():
    cache = CompiledRuleCache()
    first = cache.get_or_compile("rule-1", 1, {"==": [var("user.id"), "u1"]})
    assert cache.get_or_compile("rule-1", 1, {"==": [var("user.id"), "u1"]}) is first
    second = cache.get_or_compile("rule-1", 2, {"==": [var("user.id"), "u2"]})
    assert second is not first
    assert second.evaluate(CONTEXT).matched is False


def test_cache_evicts_the_least_recently_used():
    cache = CompiledRuleCache(maxsize=2)
    a = cache.get_or_compile("a", 1, True)
    cache.get_or_compile("b", 1, True)
    cache.get_or_compile("a", 1, True)  # a is now the most recent
    cache.get_or_compile("c", 1, True)  # evicts b
    assert len(cache) == 2
    assert cache.get_or_compile("a", 1, True) is a
    assert cache.get_or_compile("b", 1, False).evaluate({}).matched is False  # recompiled


def test_cache_does_not_keep_invalid_conditions():
    cache = CompiledRuleCache()
    with pytest.raises(InvalidRuleConditions):
        cache.get_or_compile("bad", 1, {"nope": 1})
    assert len(cache) == 0


def test_cache_is_safe_across_threads():
    cache = CompiledRuleCache(maxsize=50)
    seen: list[object] = []
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for i in range(300):
                key = (i + offset) % 80
                compiled = cache.get_or_compile(f"r{key}", 1, {"==": [var("custom.k"), key]})
                assert compiled.evaluate({"custom": {"k": key}}).matched
                seen.append(compiled)
        except BaseException as error:  # surfaced below: a thread's exception is otherwise lost
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n * 7,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(seen) == 2400
    assert len(cache) <= 50


def test_results_and_traces_are_immutable_values():
    result = compile_conditions({"==": [var("user.id"), "u1"]}).evaluate(CONTEXT)
    assert result == compile_conditions({"==": [var("user.id"), "u1"]}).evaluate(CONTEXT)
    with pytest.raises(AttributeError):
        result.matched = False  # type: ignore[misc]
    with pytest.raises(AttributeError):
        result.trace[0].result = False  # type: ignore[misc]
