"""The no-code condition builder's tree, and its two translations: to JsonLogic and back.

A tree is a root :class:`Group` of conditions and nested groups. It compiles to the JsonLogic the
engine evaluates; :func:`from_jsonlogic` reads back exactly what :func:`to_jsonlogic` writes
(``tree → JsonLogic → tree`` is the identity for every valid tree) and returns ``None`` for
anything else, which the console then shows as raw JsonLogic.

Nodes are addressed by keys of their position: the root is ``"0"``, its second child ``"0-1"``,
that child's first child ``"0-1-0"``. The console's form fields carry these keys.

Whatever reads or checks fields and lists takes the :class:`TenantCatalogue` it judges them by.

Past our usual size because the tree, its translation to JsonLogic and the translation back are
held to one identity (``tree → JsonLogic → tree``): they change together or the builder silently
shows raw JsonLogic, so they stay in one module with the describe and form-reading halves of the
same tree.
"""

from __future__ import annotations

import copy
import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.domain.catalogue import (
    CUSTOM_NAME_MAX,
    CUSTOM_PREFIX,
    FIELD_TYPES,
    LIST_KINDS_FOR_TYPE,
    LIST_NAME,
    LISTS_PREFIX,
    OPERATORS,
    OPERATORS_BY_TYPE,
    TenantCatalogue,
    is_custom,
    list_ref_name,
)

MAX_GROUP_DEPTH = 3  # root → group → subgroup
MAX_NODES = 200
CUSTOM_TYPES: tuple[str, ...] = ("text", "number", "boolean")
JOINS = ("and", "or")
ROOT = "0"
_KEY = re.compile(r"^0(?:-\d{1,3}){0,8}$")
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_MAX_INT_DIGITS = 309  # sys.float_info.max has 309
# What the API refuses as "number out of range" (app.domain.json_documents), said for a form.
NUMBER_RANGE = "a rule holds numbers from -1.8e308 to 1.8e308"
TOO_LARGE = f"This number is too large: {NUMBER_RANGE}."
# A value box holds at most this much; a longer list of values belongs in a custom list.
MAX_VALUE_LENGTH = 10_000


@dataclass
class Condition:
    field: str = ""  # a catalogue path or custom.<name>
    type: str = ""  # the field's type (fixed by the catalogue; chosen for custom fields)
    operator: str = ""
    value: Any = None  # typed: str, int/float, a list of those, or None for value-less operators


@dataclass
class Group:
    join: str = "and"
    children: list[Condition | Group] = field(default_factory=list)


Node = Condition | Group


# ---------------------------------------------------------------------------------------------
# Typed values


def parse_number(text: str) -> tuple[int | float | None, bool]:
    """Number text → the number the API's JSON would read, or ``None``; and whether it was refused
    for being out of range. Like :func:`app.domain.json_documents.decode_json`, a number must be a
    finite double: ``1e999`` or a 400-digit integer is too large, not "not a number"."""
    text = text.strip()
    if not _NUMBER.fullmatch(text):
        return None, False
    if any(c in text for c in ".eE"):
        number = float(text)  # never NaN here; infinity when the literal is beyond the double range
        return (number, False) if math.isfinite(number) else (None, True)
    # By length first: int() itself refuses beyond 4,300 digits.
    if len(text.lstrip("+-").lstrip("0")) > _MAX_INT_DIGITS or abs(whole := int(text)) > sys.float_info.max:
        return None, True
    return whole, False


def _in_range(number: int | float) -> bool:
    return abs(number) <= sys.float_info.max  # False for infinity and NaN too


def parse_value(field_type: str, operator: str, raw: str) -> tuple[Any, str | None]:
    """A form's value text → the typed value the tree holds, or the raw text and an error."""
    op = OPERATORS.get(operator)
    if op is None or not op.takes_value:
        return None, None
    raw = (raw or "").strip()
    if op.list_ref:
        return (raw, None) if raw else (raw, "Choose a list.")
    if len(raw) > MAX_VALUE_LENGTH:
        return raw, (f"A value can be at most {MAX_VALUE_LENGTH:,} characters; this one has {len(raw):,}."
                     + (" Put a longer list in a custom list, under Data." if op.list_value else ""))
    if op.list_value:
        items = [item.strip() for item in raw.split(",") if item.strip()]
        if not items:
            return raw, "Enter at least one value, separated by commas."
        if field_type == "number":
            numbers = [parse_number(item) for item in items]
            if too_large := next((item for item, (_, large) in zip(items, numbers, strict=True) if large), None):
                return raw, f"“{_clipped(too_large)}” is too large: {NUMBER_RANGE}."
            if any(n is None for n, _ in numbers):
                return raw, "Every item must be a number."
            return [n for n, _ in numbers], None
        return items, None
    if field_type == "number":
        number, too_large = parse_number(raw)
        if too_large:
            return raw, TOO_LARGE
        return (raw, "Enter a number.") if number is None else (number, None)
    if not raw:
        return raw, "Enter a value."
    return raw, None


def _clipped(text: str) -> str:
    return text if len(text) <= 24 else text[:24] + "…"


def format_value(value: Any) -> str:
    """The typed value as the form's value input shows it."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(format_value(item) for item in value)
    return str(value)


# ---------------------------------------------------------------------------------------------
# Checking a tree


def check_tree(root: Group, *, catalogue: TenantCatalogue) -> dict[str, str]:
    """Problems keyed ``<node key>-<part>`` (part: field, op, value, group); empty when valid."""
    errors: dict[str, str] = {}
    count = 0

    def walk(node: Node, key: str, depth: int) -> None:
        nonlocal count
        count += 1
        if isinstance(node, Group):
            if node.join not in JOINS:
                errors[f"{key}-group"] = "Choose AND or OR."
            if depth > MAX_GROUP_DEPTH:
                errors[f"{key}-group"] = f"Groups nest at most {MAX_GROUP_DEPTH} levels deep."
            if not node.children and key != ROOT:
                errors[f"{key}-group"] = "Add a condition to this group or remove it."
            for index, child in enumerate(node.children):
                walk(child, f"{key}-{index}", depth + 1)
            return
        errors.update(check_condition(node, key, catalogue=catalogue))

    walk(root, ROOT, 1)
    if count > MAX_NODES:
        errors[f"{ROOT}-group"] = f"A rule can have at most {MAX_NODES} conditions and groups."
    return errors


def check_condition(node: Condition, key: str, *, catalogue: TenantCatalogue) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not node.field:
        errors[f"{key}-field"] = "Choose a field."
        return errors
    entry = catalogue.find_field(node.field)
    if entry is None:
        if not node.field.startswith(CUSTOM_PREFIX):
            errors[f"{key}-field"] = "Choose a field from the list."
            return errors
        if not is_custom(node.field):
            name = node.field[len(CUSTOM_PREFIX):]
            errors[f"{key}-field"] = (
                f"A custom field name can be at most {CUSTOM_NAME_MAX} characters; this one has {len(name):,}."
                if len(name) > CUSTOM_NAME_MAX else
                f"Name the custom field with letters, digits, '_' or '-' (up to {CUSTOM_NAME_MAX}).")
            return errors
        if node.type not in CUSTOM_TYPES:
            errors[f"{key}-field"] = "Choose the custom field's type."
            return errors
    elif node.type != entry.type:
        errors[f"{key}-field"] = f"{entry.label} is a {entry.type} field."
        return errors
    if node.operator not in OPERATORS_BY_TYPE.get(node.type, ()):
        errors[f"{key}-op"] = f"Choose an operator that fits a {node.type} field."
        return errors
    op = OPERATORS[node.operator]
    if op.list_ref:
        return _check_list_ref(node, key, catalogue=catalogue)
    if not op.takes_value:
        if node.value is not None:
            errors[f"{key}-value"] = "This operator takes no value."
        return errors
    if op.list_value:
        ok = isinstance(node.value, list) and bool(node.value) and all(_fits(node.type, v) for v in node.value)
    else:
        ok = _fits(node.type, node.value) and node.value != ""
    if not ok:
        errors[f"{key}-value"] = "Enter a number." if node.type == "number" else "Enter a value."
    return errors


def _check_list_ref(node: Condition, key: str, *, catalogue: TenantCatalogue) -> dict[str, str]:
    if not isinstance(node.value, str) or not LIST_NAME.fullmatch(node.value):
        return {f"{key}-value": "Choose a list."}
    if catalogue.lists is None:  # lists not loaded (e.g. describing a rule): the name is all we can check
        return {}
    ref = catalogue.find_list(node.value)
    if ref is None:
        return {f"{key}-value": f"There is no list named “{node.value}”."}
    if ref.kind not in LIST_KINDS_FOR_TYPE.get(node.type, ()):
        return {f"{key}-value": f"“{ref.name}” is a list of {ref.kind}; choose a list that fits a {node.type} field."}
    return {}


def _fits(field_type: str, value: Any) -> bool:
    if field_type == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and _in_range(value)
    return isinstance(value, str)


# ---------------------------------------------------------------------------------------------
# Tree → JsonLogic


def to_jsonlogic(root: Group) -> Any:
    """The JsonLogic for a valid tree (check it first); an empty root means "always matches"."""
    if not root.children:
        return None
    return _group(root)


def _group(group: Group) -> dict:
    return {group.join: [_group(c) if isinstance(c, Group) else _condition(c) for c in group.children]}


def _condition(node: Condition) -> dict:
    var = {"var": node.field}
    value = node.value
    match node.operator:
        case "eq":
            return {"==": [var, value]}
        case "ne":
            return {"!=": [var, value]}
        case "gt" | "gte" | "lt" | "lte":
            return {_COMPARISONS[node.operator]: [var, value]}
        case "in":
            return {"in": [var, list(value)]}
        case "not_in":
            return {"!": {"in": [var, list(value)]}}
        case "in_list":
            return {"in": [var, {"var": LISTS_PREFIX + value}]}
        case "not_in_list":
            return {"!": {"in": [var, {"var": LISTS_PREFIX + value}]}}
        case "contains_any":
            return {"or": [{"in": [item, var]} for item in value]}
        case "contains":
            return {"in": [value, var]}
        case "not_contains":
            return {"!": {"in": [value, var]}}
        case "is_true":
            return {"==": [var, True]}
        case "is_false":
            return {"==": [var, False]}
        case "exists":
            return {"!": {"missing": [node.field]}}
        case "not_exists":
            return {"missing": [node.field]}
    raise ValueError(f"unknown operator {node.operator!r}")


_COMPARISONS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_COMPARISON_KEYS = {symbol: key for key, symbol in _COMPARISONS.items()}


# ---------------------------------------------------------------------------------------------
# JsonLogic → tree


def from_jsonlogic(expr: Any, *, catalogue: TenantCatalogue) -> Group | None:
    """The tree for JsonLogic the builder could have written; ``None`` when it cannot show it."""
    if expr is None:
        return Group()
    if _is_group(expr):
        root = _read_group(expr, 1, catalogue=catalogue)
    else:
        condition = _read_condition(expr, catalogue=catalogue)
        root = Group("and", [condition]) if condition is not None else None
    if root is None or check_tree(root, catalogue=catalogue):
        return None
    return root


def _is_group(expr: Any) -> bool:
    return isinstance(expr, dict) and len(expr) == 1 and next(iter(expr)) in JOINS \
        and isinstance(next(iter(expr.values())), list)


def _read_group(expr: dict, depth: int, *, catalogue: TenantCatalogue) -> Group | None:
    if depth > MAX_GROUP_DEPTH:
        return None
    ((join, items),) = expr.items()
    children: list[Node] = []
    for item in items:
        child = _read_contains_any(item, catalogue=catalogue)
        if child is None:
            child = (_read_group(item, depth + 1, catalogue=catalogue) if _is_group(item)
                     else _read_condition(item, catalogue=catalogue))
        if child is None:
            return None
        children.append(child)
    return Group(join, children) if children else None


def _read_contains_any(expr: Any, *, catalogue: TenantCatalogue) -> Condition | None:
    """``{"or": [{"in": ["a", {"var": F}]}, ...]}`` on one multi-select data point F: "contains any of"."""
    if not (_is_group(expr) and "or" in expr and expr["or"]):
        return None
    values, paths = [], set()
    for item in expr["or"]:
        args = item.get("in") if isinstance(item, dict) and len(item) == 1 else None
        if not (isinstance(args, list) and len(args) == 2 and isinstance(args[0], str)):
            return None
        values.append(args[0])
        paths.add(_var(args[1], catalogue=catalogue))
    path = paths.pop() if len(paths) == 1 else None
    entry = catalogue.find_field(path) if path else None
    if entry is None or entry.type != "multiselect":
        return None
    return _typed(path, "contains_any", values, "multiselect", catalogue=catalogue)


def _var(node: Any, *, catalogue: TenantCatalogue) -> str | None:
    if isinstance(node, dict) and len(node) == 1 and isinstance(node.get("var"), str):
        path = node["var"]
        if catalogue.find_field(path) is not None or is_custom(path):
            return path
    return None


def _scalar(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, (int, float)) and not isinstance(value, bool))


def _typed(path: str, operator: str, value: Any, custom_type: str, *, catalogue: TenantCatalogue) -> Condition | None:
    entry = catalogue.find_field(path)
    field_type = entry.type if entry else custom_type
    condition = Condition(path, field_type, operator, value)
    return None if check_condition(condition, ROOT, catalogue=catalogue) else condition


def _read_condition(expr: Any, *, catalogue: TenantCatalogue) -> Condition | None:
    if not isinstance(expr, dict) or len(expr) != 1:
        return None
    ((op, args),) = expr.items()
    if op == "!":
        inner = args[0] if isinstance(args, list) and len(args) == 1 else args
        negated = _read_condition(inner, catalogue=catalogue)
        if negated is None:
            return None
        flipped = {"in": "not_in", "contains": "not_contains", "not_exists": "exists",
                   "in_list": "not_in_list"}.get(negated.operator)
        if flipped is None:
            return None
        return Condition(negated.field, negated.type, flipped, negated.value)
    if op == "missing":
        if isinstance(args, list) and len(args) == 1 and isinstance(args[0], str) \
                and (catalogue.find_field(args[0]) or is_custom(args[0])):
            return _typed(args[0], "not_exists", None, "text", catalogue=catalogue)
        return None
    if not isinstance(args, list) or len(args) != 2:
        return None
    left, right = args
    path = _var(left, catalogue=catalogue)
    if op == "in" and path is None and isinstance(left, str):  # "x" in var: contains
        contained = _var(right, catalogue=catalogue)
        return _typed(contained, "contains", left, "text", catalogue=catalogue) if contained else None
    if path is None:
        return None
    if op == "in" and (list_name := list_ref_name(right)) is not None:
        ref = catalogue.find_list(list_name)
        return _typed(path, "in_list", list_name, "number" if ref and ref.kind == "numbers" else "text",
                      catalogue=catalogue)
    if op == "==" and isinstance(right, bool):
        return _typed(path, "is_true" if right else "is_false", None, "boolean", catalogue=catalogue)
    if op in ("==", "!=") and _scalar(right):
        return _typed(path, "eq" if op == "==" else "ne", right, "text" if isinstance(right, str) else "number",
                      catalogue=catalogue)
    if op in _COMPARISON_KEYS and _scalar(right) and not isinstance(right, str):
        return _typed(path, _COMPARISON_KEYS[op], right, "number", catalogue=catalogue)
    if op == "in" and isinstance(right, list) and right and all(_scalar(item) for item in right):
        kind = "text" if all(isinstance(item, str) for item in right) else "number"
        return _typed(path, "in", list(right), kind, catalogue=catalogue)
    return None


# ---------------------------------------------------------------------------------------------
# Editing and describing


def find_node(root: Group, key: str) -> Node | None:
    if not _KEY.fullmatch(key or ""):
        return None
    node: Node = root
    for part in key.split("-")[1:]:
        index = int(part)
        if not isinstance(node, Group) or index >= len(node.children):
            return None
        node = node.children[index]
    return node


def apply_edit(root: Group, edit: str) -> tuple[Group, str | None]:
    """``add-condition:<group key>``, ``add-group:<group key>`` or ``remove:<key>`` on a copy.

    Returns the new tree and the key of the node to focus (the one added), if any."""
    tree = copy.deepcopy(root)
    verb, _, key = (edit or "").partition(":")
    node = find_node(tree, key)
    depth = key.count("-") + 1
    if verb == "add-condition" and isinstance(node, Group):
        node.children.append(Condition())
        return tree, f"{key}-{len(node.children) - 1}"
    if verb == "add-group" and isinstance(node, Group) and depth < MAX_GROUP_DEPTH:
        node.children.append(Group("or" if node.join == "and" else "and", [Condition()]))
        return tree, f"{key}-{len(node.children) - 1}-0"
    if verb == "remove" and node is not None and key != ROOT:
        parent_key, _, index = key.rpartition("-")
        parent = find_node(tree, parent_key)
        if isinstance(parent, Group):
            del parent.children[int(index)]
    return tree, None


def describe(root: Group, *, catalogue: TenantCatalogue) -> str:
    """One readable line for a rule list: ``Amount is greater than 1000 AND (… OR …)``."""
    if not root.children:
        return "Always (no conditions)"
    return _describe_group(root, catalogue=catalogue, top=True)


def _describe_group(group: Group, *, catalogue: TenantCatalogue, top: bool = False) -> str:
    joiner = f" {group.join.upper()} "
    text = joiner.join(_describe_group(c, catalogue=catalogue) if isinstance(c, Group)
                       else _describe_condition(c, catalogue=catalogue) for c in group.children)
    return text if top or len(group.children) == 1 else f"({text})"


def _describe_condition(node: Condition, *, catalogue: TenantCatalogue) -> str:
    entry = catalogue.find_field(node.field)
    if entry is not None and entry.when_true:  # a yes / no field that reads as a statement
        statement = {"is_true": entry.when_true, "is_false": entry.when_false,
                     "exists": f"it is known whether {entry.when_true}",
                     "not_exists": f"it is not known whether {entry.when_true}"}
        return statement[node.operator]
    subject = entry.subject if entry is not None else node.field
    op = OPERATORS[node.operator]
    # A list field names its items in the plural ("user's enrolled methods include “PASSKEY”").
    verb = (_PLURAL_VERBS if node.type == "list" else _VERBS).get(node.operator, op.label)
    if not op.takes_value:
        return f"{subject} {verb}"
    if op.list_ref:
        return f"{subject} {verb} “{node.value}”"
    if op.list_value:
        return f"{subject} {verb} " + ", ".join(_shown(node.type, item) for item in node.value)
    shown = _shown(node.type, node.value)
    if entry is not None and entry.unit[0]:
        shown += " " + (entry.unit[0] if node.value == 1 else entry.unit[1])
    return f"{subject} {verb} {shown}"


# Where the builder's operator label would read oddly in a sentence.
_VERBS = {"in": "is one of", "not_in": "is not one of"}
_PLURAL_VERBS = {"contains": "include", "not_contains": "do not include", "exists": "exist", "not_exists": "do not exist"}


def _shown(field_type: str, value: Any) -> str:
    return format_value(value) if field_type == "number" else f"“{value}”"


# Sentences for people reading rules (the Rules tab, a review case) describe them by the built-in
# fields and take list names on trust: a sentence needs nothing of the tenant's loaded, and a rule
# naming a list not made yet still reads as one.
SUMMARY_CATALOGUE = TenantCatalogue(lists=None)


def describe_conditions(conditions: Any, *, catalogue: TenantCatalogue) -> str:
    tree = from_jsonlogic(conditions, catalogue=catalogue)
    return describe(tree, catalogue=catalogue) if tree is not None else "Advanced condition (JsonLogic)"


def tree_from_form(form: Mapping[str, str], *, catalogue: TenantCatalogue) -> tuple[Group, dict[str, str]]:
    """The builder's flat form fields → a tree, plus errors for values that did not parse.

    Groups post ``g-<key>-join``; conditions ``c-<key>-field`` (a catalogue path or ``custom``),
    ``c-<key>-custom`` and ``c-<key>-type`` for custom fields, ``c-<key>-op`` and ``c-<key>-value``.
    Keys need not be contiguous: children sort by their last index.
    """
    groups = {name[2:-5] for name in form if name.startswith("g-") and name.endswith("-join")}
    conditions = {name[2:-6] for name in form if name.startswith("c-") and name.endswith("-field")}
    groups = {k for k in groups if _KEY.fullmatch(k)}
    conditions = {k for k in conditions if _KEY.fullmatch(k) and k != ROOT} - groups
    errors: dict[str, str] = {}
    seen = 0

    def children_of(key: str) -> list[str]:
        found = [k for k in groups | conditions if k.rpartition("-")[0] == key]
        return sorted(found, key=lambda k: int(k.rpartition("-")[2]))

    def build(key: str, depth: int, new_key: str) -> Node | None:
        nonlocal seen
        seen += 1
        if seen > MAX_NODES or depth > MAX_GROUP_DEPTH + 1:
            return None
        if key in groups:
            join = form.get(f"g-{key}-join", "and")
            group = Group(join if join in JOINS else "and")
            for child_key in children_of(key):
                child = build(child_key, depth + 1, f"{new_key}-{len(group.children)}")
                if child is not None:
                    group.children.append(child)
            return group
        choice = (form.get(f"c-{key}-field") or "").strip()
        field_type = ""
        if choice == "custom":
            name = (form.get(f"c-{key}-custom") or "").strip()
            path = CUSTOM_PREFIX + name
            field_type = form.get(f"c-{key}-type", "")
            field_type = field_type if field_type in CUSTOM_TYPES else ""
        else:
            path = choice
            entry = catalogue.find_field(choice)
            field_type = entry.type if entry else ""
        operator = form.get(f"c-{key}-op", "")
        if field_type and operator not in OPERATORS_BY_TYPE.get(field_type, ()):
            operator = ""  # the field changed: its old operator may not fit
        value, error = parse_value(field_type, operator, form.get(f"c-{key}-value", "")) if operator else (
            (form.get(f"c-{key}-value") or None), None)
        if error:
            errors[f"{new_key}-value"] = error
        return Condition(path, field_type, operator, value)

    if ROOT not in groups:
        return Group(), errors
    root = build(ROOT, 1, ROOT)
    assert isinstance(root, Group)
    return root, errors


def custom_name(path: str, *, catalogue: TenantCatalogue) -> str:
    """The name typed for a free custom field; "" for anything else, a tenant's data point included."""
    return path[len(CUSTOM_PREFIX):] if path.startswith(CUSTOM_PREFIX) and not catalogue.find_field(path) else ""


__all__ = [
    "CUSTOM_TYPES", "FIELD_TYPES", "MAX_GROUP_DEPTH", "Condition", "Group", "apply_edit", "check_tree",
    "custom_name", "describe", "describe_conditions", "find_node", "format_value", "from_jsonlogic",
    "parse_value", "to_jsonlogic", "tree_from_form",
]
