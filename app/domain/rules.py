"""Rule conditions as JsonLogic: validate, compile once, evaluate with a per-condition trace.

A rule version is immutable and is evaluated on every tracked action, so the JSON is walked once
(validate, then compile to closures) and evaluation is only closure calls. Each comparison records
what it saw, because a decision has to explain itself (activity view, get-action ``output``).

Semantics follow JsonLogic where it is sane and deliberately differ where JavaScript is not:
comparing incomparable values (``None > 3``, ``"abc" > 3``, lists) is ``False`` and never raises;
booleans are never equal to or ordered against numbers or strings (JS says ``true == 1``);
``None`` is only equal to ``None`` and is never ordered (JS says ``null >= 0``).

Past our usual size because the validator and the compiler walk the same operator table and must
agree on every operator's arity and meaning; a split would let one learn an operator the other
does not.
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.domain._jsonlogic import COMPARATORS, kind_of, scalar_key, to_json_safe, truthy
from app.domain.errors import InvalidRuleConditions

# Where the tenant's custom lists sit in a rule's context (``{"var": "lists.high-risk"}``).
LISTS_PREFIX = "lists."

__all__ = [
    "MAX_DEPTH", "MAX_NODES", "OPERATORS", "CompiledConditions", "CompiledRuleCache",
    "ConditionTrace", "ConditionsResult", "compile_conditions", "evaluate", "to_json_safe",
    "truthy", "validate_conditions",
]

MAX_DEPTH = 32
MAX_NODES = 500

Trace = list["ConditionTrace"] | None
Evaluator = Callable[[Any, Trace], Any]

# name -> (min args, max args or None for unbounded)
_ARITY: dict[str, tuple[int, int | None]] = {
    "and": (1, None), "or": (1, None), "!": (1, 1), "!!": (1, 1), "if": (1, None), "?:": (3, 3),
    "==": (2, 2), "!=": (2, 2), "===": (2, 2), "!==": (2, 2),
    ">": (2, 2), ">=": (2, 2), "<": (2, 3), "<=": (2, 3), "in": (2, 2),
    "var": (0, 2), "missing": (1, None), "missing_some": (2, 2),
}
OPERATORS: frozenset[str] = frozenset(_ARITY)


_set_attribute = object.__setattr__


@dataclass(frozen=True)
class ConditionTrace:
    """One evaluated comparison. ``field`` is set when one operand is a plain ``var``; then
    ``observed`` is that variable's value and ``expected`` the other operand(s)."""

    path: str
    operator: str
    field: str | None
    observed: Any
    expected: Any
    result: bool

    # Hand-written because hundreds are built per tracked action: one __dict__ assignment costs
    # about half of the generated frozen __init__'s six object.__setattr__ calls.
    def __init__(self, path: str, operator: str, field: str | None, observed: Any,
                 expected: Any, result: bool) -> None:
        _set_attribute(self, "__dict__", {"path": path, "operator": operator, "field": field,
                                          "observed": observed, "expected": expected,
                                          "result": result})

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "operator": self.operator,
            "field": self.field,
            "observed": to_json_safe(self.observed),
            "expected": to_json_safe(self.expected),
            "result": self.result,
        }


@dataclass(frozen=True)
class ConditionsResult:
    matched: bool
    trace: tuple[ConditionTrace, ...]

    def __init__(self, matched: bool, trace: tuple[ConditionTrace, ...]) -> None:
        _set_attribute(self, "__dict__", {"matched": matched, "trace": trace})


@dataclass(frozen=True, eq=False)
class CompiledConditions:
    """Conditions ready to evaluate. Build with :func:`compile_conditions`, not directly."""

    expression: Any
    fields: frozenset[str]
    _evaluator: Evaluator = field(repr=False)
    # The expression as canonical JSON: two rules with the same key decide the same on any context,
    # so one evaluating several versions on one context (a back-test) evaluates each key once.
    key: str = ""

    def evaluate(self, context: Mapping[str, Any], *, trace: bool = True) -> ConditionsResult:
        """Never raises for any context; ``trace=False`` skips recording (hot paths that only
        need the verdict)."""
        recorded: list[ConditionTrace] | None = [] if trace else None
        value = self._evaluator(context, recorded)
        return ConditionsResult(truthy(value), tuple(recorded) if recorded else ())

    def matches(self, context: Mapping[str, Any]) -> bool:
        """``evaluate(context, trace=False).matched``, without building a result."""
        return truthy(self._evaluator(context, None))

    def reads(self, prefix: str) -> bool:
        """Whether evaluation may read ``prefix`` or anything below/above it, so callers can
        skip computing a signal (``reads("ip")``) no rule looks at."""
        for name in self.fields:
            if name == "" or name == prefix or name.startswith(prefix + ".") \
                    or prefix.startswith(name + "."):
                return True
        return False


# ---------------------------------------------------------------------------------------------
# Validation


def _args(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _child(path: str, op: str, index: int) -> str:
    return f"{op}[{index}]" if path == "$" else f"{path}.{op}[{index}]"


def _plural(n: int) -> str:
    return "argument" if n == 1 else "arguments"


def _arity_message(op: str, low: int, high: int | None, got: int) -> str | None:
    if high is None:
        return None if got >= low else f"'{op}' takes at least {low} {_plural(low)}, got {got}"
    if low <= got <= high:
        return None
    if low == high:
        return f"'{op}' takes {low} {_plural(low)}, got {got}"
    if low == 0:
        return f"'{op}' takes at most {high} {_plural(high)}, got {got}"
    return f"'{op}' takes {low} to {high} arguments, got {got}"


def validate_conditions(expr: Any) -> None:
    """Raise :class:`InvalidRuleConditions` pointing at the first offending node.

    ``None`` (no conditions: always matches), ``true`` and ``false`` are valid; any other root
    must be an operation, because a bare string or number is almost certainly a mistake.
    """
    if expr is None or isinstance(expr, bool):
        return
    if not isinstance(expr, dict):
        raise InvalidRuleConditions(
            f"conditions must be an operation, true, false or null, got {kind_of(expr)}", path="$")
    _Validator().check(expr, "$", 0)


class _Validator:
    def __init__(self) -> None:
        self.nodes = 0

    def check(self, node: Any, path: str, depth: int) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise InvalidRuleConditions(f"conditions have more than {MAX_NODES} nodes", path=path)
        if depth > MAX_DEPTH:
            raise InvalidRuleConditions(f"conditions nest deeper than {MAX_DEPTH} levels", path=path)
        if node is None or isinstance(node, (bool, int, str)):
            return
        if isinstance(node, float):
            if not math.isfinite(node):
                raise InvalidRuleConditions(f"{node!r} is not a JSON number", path=path)
            return
        if isinstance(node, list):
            for index, item in enumerate(node):
                self.check(item, f"{path}[{index}]", depth + 1)
            return
        if not isinstance(node, dict):
            raise InvalidRuleConditions(f"{type(node).__name__} is not a JSON value", path=path)
        if len(node) != 1:
            raise InvalidRuleConditions(
                f"an operation must have exactly one operator, got {len(node)}", path=path)
        ((op, value),) = node.items()
        if not isinstance(op, str):
            raise InvalidRuleConditions(
                f"operator must be a string, got {type(op).__name__}", path=path)
        if op not in _ARITY:
            raise InvalidRuleConditions(f"unknown operator '{op}'", path=path)
        args = _args(value)
        message = _arity_message(op, *_ARITY[op], len(args))
        if message:
            raise InvalidRuleConditions(message, path=path)
        self._check_operands(op, args, path)
        for index, arg in enumerate(args):
            self.check(arg, _child(path, op, index), depth + 1)

    def _check_operands(self, op: str, args: list[Any], path: str) -> None:
        # Paths must be literal so `fields` is known at compile time.
        if op == "var" and args and (isinstance(args[0], bool) or not isinstance(args[0], (str, int))):
            raise InvalidRuleConditions(
                f"'var' path must be a string or an integer, got {kind_of(args[0])}",
                path=_child(path, op, 0))
        if op == "missing":
            for index, arg in enumerate(args):
                if not isinstance(arg, str):
                    raise InvalidRuleConditions(
                        f"'missing' takes variable paths as strings, got {kind_of(arg)}",
                        path=_child(path, op, index))
        if op == "missing_some":
            need, paths = args
            if isinstance(need, bool) or not isinstance(need, int) or need < 0:
                raise InvalidRuleConditions("'missing_some' needs a count of at least 0 first",
                                            path=_child(path, op, 0))
            if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
                raise InvalidRuleConditions("'missing_some' needs a list of variable paths second",
                                            path=_child(path, op, 1))
        if op == "in" and not isinstance(args[1], (dict, list, str)):
            raise InvalidRuleConditions(
                f"'in' needs a list or a string to search, got {kind_of(args[1])}",
                path=_child(path, op, 1))


# ---------------------------------------------------------------------------------------------
# Compilation


def compile_conditions(expr: Any) -> CompiledConditions:
    """Validate, then compile to closures. ``None`` compiles to "always matches"."""
    validate_conditions(expr)
    key = json.dumps(expr, sort_keys=True, separators=(",", ":"), default=repr)
    if expr is None:
        return CompiledConditions(None, frozenset(), lambda data, trace: True, key)
    fields: set[str] = set()
    evaluator = _Compiler(fields).compile(expr, "$", boolean=True)
    return CompiledConditions(expr, frozenset(fields), evaluator, key)


def evaluate(expr: Any, context: Mapping[str, Any], *, trace: bool = True) -> ConditionsResult:
    """One-off evaluation; anything evaluated repeatedly should go through a compiled rule."""
    return compile_conditions(expr).evaluate(context, trace=trace)


_ABSENT = object()


def _make_getter(path: str | int) -> Callable[[Any], Any]:
    """A lookup for a dotted path: walks mappings, and sequences for numeric segments."""
    if path == "":
        return lambda data: data
    steps = tuple((s, int(s) if s.isascii() and s.isdigit() else None) for s in str(path).split("."))

    def get(data: Any) -> Any:
        current = data
        for key, index in steps:
            if type(current) is dict or isinstance(current, Mapping):
                current = current.get(key)
            elif index is not None and isinstance(current, (list, tuple)):
                current = current[index] if index < len(current) else None
            else:
                return None
            if current is None:
                return None
        return current

    if len(steps) == 2 and steps[0][1] is None and steps[1][1] is None:
        # Most paths are `custom.x` / `ip.countryCode`: skip the loop for plain dicts.
        first, second = steps[0][0], steps[1][0]

        def get_two(data: Any) -> Any:
            if type(data) is dict:
                inner = data.get(first)
                if type(inner) is dict:
                    return inner.get(second)
            return get(data)

        return get_two
    return get


def _var_path(node: Any) -> str | None:
    if isinstance(node, dict) and len(node) == 1 and "var" in node:
        args = _args(node["var"])
        return str(args[0]) if args else ""
    return None


def _is_literal(node: Any) -> bool:
    if isinstance(node, dict):
        return False
    if isinstance(node, list):
        return all(_is_literal(item) for item in node)
    return True


class _Compiler:
    def __init__(self, fields: set[str]) -> None:
        self.fields = fields

    def compile(self, node: Any, path: str, *, boolean: bool = False) -> Evaluator:
        """``boolean`` marks positions whose truthiness decides something; a bare ``var`` there
        is traced, so `{"and": [{"var": "custom.vip"}, ...]}` still explains itself."""
        if _is_literal(node):
            return lambda data, trace: node
        if isinstance(node, list):
            items = [self.compile(item, f"{path}[{i}]") for i, item in enumerate(node)]
            return lambda data, trace: [item(data, trace) for item in items]
        ((op, value),) = node.items()
        args = _args(value)
        if op == "var":
            return self._var(args, path, boolean)
        if op in ("missing", "missing_some"):
            return self._missing(op, args, path)
        if op in ("and", "or"):
            # Their value is one of the operands, so operands decide whatever the parent decides.
            operands = [self.compile(arg, _child(path, op, i), boolean=boolean)
                        for i, arg in enumerate(args)]
            return _junction(operands, stop_when=op == "or")
        if op in ("!", "!!"):
            operand = self.compile(args[0], _child(path, op, 0), boolean=op == "!")
            if op == "!":
                return lambda data, trace: not truthy(operand(data, trace))
            return _traced_unary(operand, path, "!!", _var_path(args[0]))
        if op in ("if", "?:"):
            branches = [self.compile(arg, _child(path, op, i),
                                     boolean=boolean or (i % 2 == 0 and i + 1 < len(args)))
                        for i, arg in enumerate(args)]
            return _if(branches)
        children = [self.compile(arg, _child(path, op, i)) for i, arg in enumerate(args)]
        return self._comparison(op, args, children, path)

    def _var(self, args: list[Any], path: str, boolean: bool) -> Evaluator:
        name = str(args[0]) if args else ""
        self.fields.add(name)
        get = _make_getter(args[0] if args else "")
        if len(args) == 2:
            default = self.compile(args[1], _child(path, "var", 1))

            def lookup(data: Any, trace: Trace) -> Any:
                found = get(data)
                return found if found is not None else default(data, trace)
        else:
            def lookup(data: Any, trace: Trace) -> Any:
                return get(data)
        return _traced_unary(lookup, path, "var", name) if boolean else lookup

    def _missing(self, op: str, args: list[Any], path: str) -> Evaluator:
        need, names = (0, args) if op == "missing" else (args[0], args[1])
        self.fields.update(names)
        getters = [(name, _make_getter(name)) for name in names]
        expected = list(names) if op == "missing" else [need, list(names)]
        field_name = names[0] if len(names) == 1 else None

        def missing(data: Any, trace: Trace) -> list[str]:
            absent = [name for name, get in getters if get(data) in (None, "")]
            if op == "missing_some" and len(names) - len(absent) >= need:
                absent = []
            if trace is not None:
                trace.append(ConditionTrace(path, op, field_name, absent, expected, bool(absent)))
            return absent
        return missing

    def _comparison(self, op: str, args: list[Any], children: list[Evaluator],
                    path: str) -> Evaluator:
        var_paths = [_var_path(arg) for arg in args]
        side = next((i for i, p in enumerate(var_paths) if p is not None), 0)
        field_name = var_paths[side]
        if len(children) == 3:
            return _between(COMPARATORS[op], children, side, path, op, field_name)
        compare = COMPARATORS[op]
        if op == "in" and isinstance(args[1], list) and _is_literal(args[1]):
            compare = _literal_membership(args[1]) or compare
        swap = side == 1
        variable, literal = (args[1], args[0]) if swap else (args[0], args[1])
        if field_name is not None and len(_args(variable["var"])) < 2 and _is_literal(literal):
            # The usual shape (`custom.amount > 1000`): no closure calls for the operands.
            return _var_against_literal(compare, _make_getter(field_name), literal, swap, path,
                                        op, field_name)
        left, right = children
        # A named list is traced by its reference, {"var": "lists.<name>"}, not its items: the trace
        # stays small, and says which list decided even when two lists hold the same items.
        expected_arg = args[0] if swap else args[1]
        reference = expected_arg if (_var_path(expected_arg) or "").startswith(LISTS_PREFIX) else None

        def comparison(data: Any, trace: Trace) -> bool:
            a = left(data, trace)
            b = right(data, trace)
            result = compare(a, b)
            if trace is not None:
                expected = a if swap else b
                trace.append(ConditionTrace(path, op, field_name, b if swap else a,
                                            expected if reference is None else reference, result))
            return result
        return comparison


def _literal_membership(items: list[Any]) -> Callable[[Any, Any], bool] | None:
    """Large literal lists (countries, ASNs) become one hash lookup instead of a scan."""
    keys = [scalar_key(item) for item in items]
    if any(key is None for key in keys):
        return None
    keyset = frozenset(keys)
    strings = frozenset(item for item in items if type(item) is str)

    def member(needle: Any, haystack: Any) -> bool:
        if type(needle) is str:
            return needle in strings
        key = scalar_key(needle)
        return key is not None and key in keyset
    return member


def _var_against_literal(compare: Callable[[Any, Any], bool], get: Callable[[Any], Any],
                         literal: Any, swap: bool, path: str, op: str,
                         field_name: str | None) -> Evaluator:
    # ``swap``: the literal is the left operand, as in {"in": ["tor", {"var": "ip.cidrLists"}]}.
    ordered = (lambda observed, value: compare(value, observed)) if swap else compare

    def var_against_literal(data: Any, trace: Trace) -> bool:
        observed = get(data)
        result = ordered(observed, literal)
        if trace is not None:
            trace.append(ConditionTrace(path, op, field_name, observed, literal, result))
        return result
    return var_against_literal


def _junction(children: list[Evaluator], *, stop_when: bool) -> Evaluator:
    """JsonLogic's and (``stop_when=False``) and or (``True``): the first operand whose truth is
    ``stop_when``, else the last; the rest are not evaluated (nor traced)."""
    def junction(data: Any, trace: Trace) -> Any:
        value: Any = not stop_when
        for child in children:
            value = child(data, trace)
            if truthy(value) is stop_when:
                return value
        return value
    return junction


def _if(branches: list[Evaluator]) -> Evaluator:
    """JsonLogic's if/elif/else: pairs of (condition, value), an optional trailing else."""
    pairs = [(branches[i], branches[i + 1]) for i in range(0, len(branches) - 1, 2)]
    otherwise = branches[-1] if len(branches) % 2 else None

    def if_(data: Any, trace: Trace) -> Any:
        for condition, then in pairs:
            if truthy(condition(data, trace)):
                return then(data, trace)
        return otherwise(data, trace) if otherwise is not None else None
    return if_


def _traced_unary(operand: Evaluator, path: str, op: str, field_name: str | None) -> Evaluator:
    """Truthiness checks (`!!`, a bare `var` deciding something) trace as observed → result."""
    def unary(data: Any, trace: Trace) -> Any:
        value = operand(data, trace)
        result = truthy(value)
        if trace is not None:
            trace.append(ConditionTrace(path, op, field_name, value, None, result))
        return result if op == "!!" else value
    return unary


def _between(compare: Callable[[Any, Any], bool], children: list[Evaluator], side: int,
             path: str, op: str, field_name: str | None) -> Evaluator:
    def between(data: Any, trace: Trace) -> bool:
        values = [child(data, trace) for child in children]
        result = compare(values[0], values[1]) and compare(values[1], values[2])
        if trace is not None:
            others = [v for i, v in enumerate(values) if i != side]
            trace.append(ConditionTrace(path, op, field_name, values[side], others, result))
        return result
    return between


# ---------------------------------------------------------------------------------------------
# Cache


class CompiledRuleCache:
    """Per-process LRU of compiled rules keyed by (rule id, version), the version being what pins
    the conditions (tracking passes the published rule-set version's id).

    Safe only because what a key names never changes: a key is never re-checked against ``expr``.
    """

    def __init__(self, maxsize: int = 4096) -> None:
        self._maxsize = maxsize
        self._entries: OrderedDict[tuple[Hashable, Hashable], CompiledConditions] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_compile(self, rule_id: Hashable, version: Hashable, expr: Any) -> CompiledConditions:
        key = (rule_id, version)
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
                return hit
        # Compile outside the lock: a duplicate compile in a race is cheaper than serialising.
        compiled = compile_conditions(expr)
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
                return hit
            self._entries[key] = compiled
            while len(self._entries) > self._maxsize:
                self._entries.popitem(last=False)
        return compiled

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
