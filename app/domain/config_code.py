"""Config as code: a tenant's configuration as one YAML document, read back with line numbers, and
what applying one would change.

The document is plain data (camelCase, the CLI's rule format) in one canonical form: what
:func:`render_config` writes and what :func:`diff_configs` compares, so the same configuration is
always the same bytes. Rules carry no ids: within an action a rule is known by its name (unique in
a file), so a file applies to another tenant, where the ids differ. A section left out of a file
(``settings`` say, when staging and production have their own origins) is not managed by it.

Past our usual size because reading a file, its canonical form and the diff are one format: each
section's spec, how it is rendered and how it is compared change together when a section does.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, ValidationError
from pydantic.alias_generators import to_camel

from app.domain.actions import DEFAULT_VERIFICATION_METHODS, MAX_REVIEW_DEADLINE_MINUTES, is_action_code
from app.domain.builder import SUMMARY_CATALOGUE, describe_conditions
from app.domain.catalogue import DATA_POINT_NAME, LIST_NAME
from app.domain.decision import Outcome, UnenrolledPolicy, VerificationMethod
from app.domain.errors import DomainError, InvalidRuleConditions
from app.domain.review_reasons import parse_labels
from app.domain.rules import validate_conditions
from app.domain.theme import ThemeDocument

FORMAT = 1
SECTIONS = ("actions", "dataPoints", "lists", "settings", "webhooks")
Path = tuple[str | int, ...]


@dataclass(frozen=True)
class ConfigProblem:
    line: int | None
    path: str  # the key path, e.g. actions.payout.rules[1].priority
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.path or 'the file'}: {self.message}"


class InvalidConfigFile(DomainError, code="invalid_config_file"):
    """A configuration file that cannot be applied: every problem, each with its line and key path."""

    def __init__(self, problems: list[ConfigProblem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


# -- the document ---------------------------------------------------------------------------------


class _Spec(BaseModel):
    # camelCase only, as export writes it: one spelling a key, so a typo is an unknown key.
    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", frozen=True)


Name = Annotated[StrictStr, Field(min_length=1, max_length=120)]


class RuleSpec(_Spec):
    name: Name
    description: Annotated[StrictStr, Field(max_length=2000)] = ""
    is_active: StrictBool = True
    priority: Annotated[StrictInt, Field(ge=0, le=99)]
    outcome: Outcome
    verification_methods: list[VerificationMethod] | None = None
    default_verification_method: VerificationMethod | None = None
    conditions: Any = None


class ActionSpec(_Spec):
    name: Name | None = None  # the code when left out
    default_outcome: Outcome = Outcome.ALLOW
    verification_methods: Annotated[list[VerificationMethod], Field(min_length=1)] = [
        VerificationMethod(m) for m in DEFAULT_VERIFICATION_METHODS]
    default_verification_method: VerificationMethod | None = None
    unenrolled_policy: UnenrolledPolicy = UnenrolledPolicy.ALLOW
    review_deadline_minutes: Annotated[StrictInt, Field(ge=1, le=MAX_REVIEW_DEADLINE_MINUTES)] | None = None
    # models.review.OverduePolicy's values (the domain does not import models).
    review_overdue_policy: Literal["FLAG", "AUTO_APPROVE", "AUTO_REJECT"] = "FLAG"
    # A passkey that may sync is refused (models.action: require_device_bound_passkey); "credential",
    # not "passkey", in the name: no exported key may read like a secret's ("key", "token").
    require_device_bound_credential: StrictBool = False
    rules: list[RuleSpec] = []


class DataPointSpec(_Spec):
    type: Literal["text", "number", "boolean", "multiselect"]
    description: Annotated[StrictStr, Field(max_length=500)] = ""


class ListSpec(_Spec):
    kind: Literal["strings", "numbers", "cidrs"]
    description: Annotated[StrictStr, Field(max_length=500)] = ""
    items: list[StrictStr | StrictInt | StrictFloat] = []


class SettingsSpec(_Spec):
    """The tenant's overrides of the environment's defaults (null: the default). Its name is not one:
    staging and production keep their own. A setting left out is left alone."""

    logo_url: StrictStr | None = None
    webauthn_rp_id: StrictStr | None = None
    webauthn_rp_name: StrictStr | None = None
    webauthn_origins: list[StrictStr] | None = None
    redirect_allowlist: list[StrictStr] | None = None
    client_token_ttl: StrictInt | None = None
    remember_device_days: StrictInt = 0  # 0: the hosted pages do not offer to remember a device
    publish_needs_second_admin: StrictBool = False
    # The labels reviewers pick a decision's reason from, in the order shown (null: the defaults).
    review_reasons: list[StrictStr] | None = None
    theme: ThemeDocument | None = None  # null or {}: the pages' own look


class WebhookSpec(_Spec):
    description: Annotated[StrictStr, Field(max_length=500)] = ""
    event_types: Annotated[list[StrictStr], Field(min_length=1)]
    is_active: StrictBool = True


class ConfigSpec(_Spec):
    tollgate: Literal[1]
    actions: dict[str, ActionSpec] | None = None
    data_points: dict[str, DataPointSpec] | None = None
    lists: dict[str, ListSpec] | None = None
    settings: SettingsSpec | None = None
    webhooks: dict[str, WebhookSpec] | None = None


# -- reading a file -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedConfig:
    """A checked file: its canonical document and where each key path was written."""

    document: dict[str, Any]
    lines: Mapping[Path, int]

    def line_of(self, *path: str | int) -> int | None:
        """The line of ``path``, or of its nearest written parent (a default is written nowhere)."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None

    def problem(self, path: Path, message: str) -> ConfigProblem:
        return ConfigProblem(self.line_of(*path), key_path(path), message)

    def item_problems(self, path: Path, errors: list[str]) -> list[ConfigProblem]:
        """A line parser's errors (``Line 3: ...``, the items joined one a line) at the items' own lines."""
        problems = []
        for error in errors:
            found = re.match(r"Line (\d+): (.*)", error)
            problems.append(self.problem((*path, int(found.group(1)) - 1), found.group(2)) if found
                            else self.problem(path, error))
        return problems


def key_path(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def load_config(text: str) -> LoadedConfig:
    """Parse and check a configuration file; :class:`InvalidConfigFile` names every problem found."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InvalidConfigFile([ConfigProblem(mark.line + 1 if mark else None, "",
                                               f"not valid YAML: {getattr(exc, 'problem', None) or exc}")]) from exc
    lines: dict[Path, int] = {}
    problems: list[ConfigProblem] = []
    data = _plain(node, (), lines, problems) if node is not None else None
    if problems:
        raise InvalidConfigFile(problems)
    loaded = LoadedConfig({}, lines)
    if not isinstance(data, dict):
        raise InvalidConfigFile([loaded.problem((), "must be a mapping that starts with `tollgate: 1`")])
    try:
        spec = ConfigSpec.model_validate(data)
    except ValidationError as exc:
        raise InvalidConfigFile([_validation_problem(loaded, error) for error in exc.errors(include_url=False)]) from exc
    problems = _check(spec, loaded)
    if problems:
        raise InvalidConfigFile(problems)
    return LoadedConfig(canonical(spec), lines)


_SCALARS = yaml.constructor.SafeConstructor()


def _plain(node: yaml.Node, path: Path, lines: dict[Path, int], problems: list[ConfigProblem]) -> Any:
    """The node as plain data, recording each key path's line; a key written twice is a problem
    (PyYAML would keep the last one silently)."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _SCALARS.construct_object(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                problems.append(ConfigProblem(key_node.start_mark.line + 1, key_path(path), "keys must be text"))
                continue
            if key in result:
                problems.append(ConfigProblem(key_node.start_mark.line + 1, key_path((*path, key)),
                                              "written twice in the same mapping"))
                continue
            result[key] = _plain(value_node, (*path, key), lines, problems)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, (*path, n), lines, problems) for n, item in enumerate(node.value)]
    return _SCALARS.construct_object(node)


def _validation_problem(loaded: LoadedConfig, error: Mapping[str, Any]) -> ConfigProblem:
    # pydantic adds the union member it tried (``list[...]``, ``function-after[...]``) to the location:
    # a part is kept when the file has it, or when it is the key the error is about (a missing one).
    path: Path = ()
    about_a_key = error["type"] in ("missing", "extra_forbidden")
    for n, part in enumerate(error["loc"]):
        if (*path, part) in loaded.lines or (about_a_key and n == len(error["loc"]) - 1):
            path = (*path, part)
    if error["type"] == "extra_forbidden":
        return loaded.problem(path, f"unknown key {path[-1]!r}" + _known_keys(path[:-1]))
    if error["type"] == "missing":
        return loaded.problem(path, "is required")
    return loaded.problem(path, error["msg"])


def _known_keys(parent: Path) -> str:
    spec = _spec_at(parent)
    if spec is None:
        return ""
    return " (known: " + ", ".join(sorted(f.alias or name for name, f in spec.model_fields.items())) + ")"


def _spec_at(parent: Path) -> type[_Spec] | None:
    """The mapping a key path names, for the keys it knows."""
    if not parent:
        return ConfigSpec
    if parent == ("settings",):
        return SettingsSpec
    if len(parent) == 2:
        return _NESTED.get(parent[0])
    if len(parent) == 4 and parent[0] == "actions" and parent[2] == "rules":
        return RuleSpec
    return None


_NESTED: dict[str | int, type[_Spec]] = {"actions": ActionSpec, "dataPoints": DataPointSpec, "lists": ListSpec,
                                         "webhooks": WebhookSpec}


def _check(spec: ConfigSpec, loaded: LoadedConfig) -> list[ConfigProblem]:
    """What the types cannot say: names, unique priorities and rule names, JsonLogic, defaults offered."""
    problems: list[ConfigProblem] = []
    for code, action in (spec.actions or {}).items():
        at: Path = ("actions", code)
        if not is_action_code(code):
            problems.append(loaded.problem(at, "an action code is 1-64 letters, digits, '_' or '-'"))
        if action.default_verification_method and action.default_verification_method not in action.verification_methods:
            problems.append(loaded.problem((*at, "defaultVerificationMethod"), "must be one of verificationMethods"))
        priorities: dict[int, int] = {}
        names: dict[str, int] = {}
        for n, rule in enumerate(action.rules):
            rule_at: Path = (*at, "rules", n)
            if rule.priority in priorities:
                problems.append(loaded.problem((*rule_at, "priority"), f"priority {rule.priority} is taken by "
                                               f"rules[{priorities[rule.priority]}]: priorities are unique per action"))
            priorities.setdefault(rule.priority, n)
            if rule.name in names:
                problems.append(loaded.problem((*rule_at, "name"), f"rules[{names[rule.name]}] has this name too: a "
                                               "rule is known by its name, so names are unique per action"))
            names.setdefault(rule.name, n)
            if (rule.default_verification_method and rule.verification_methods is not None
                    and rule.default_verification_method not in rule.verification_methods):
                problems.append(loaded.problem((*rule_at, "defaultVerificationMethod"),
                                               "must be one of the rule's verificationMethods"))
            try:
                validate_conditions(rule.conditions)
            except InvalidRuleConditions as exc:
                problems.append(loaded.problem((*rule_at, "conditions"), f"not valid JsonLogic: {exc.message}"))
    for path in spec.data_points or {}:
        name = path.removeprefix("user.custom.") if path.startswith("user.custom.") else path.removeprefix("custom.")
        if not path.startswith(("custom.", "user.custom.")) or not DATA_POINT_NAME.fullmatch(name):
            problems.append(loaded.problem(("dataPoints", path), "a data point is custom.NAME (sent with a track) or "
                                           "user.custom.NAME (set on the user), NAME 1-64 letters, digits or '_'"))
    for name, custom_list in (spec.lists or {}).items():
        if not LIST_NAME.fullmatch(name):
            problems.append(loaded.problem(("lists", name), "a list name is 1-64 letters, digits, '_' or '-'"))
        problems += [loaded.problem(("lists", name, "items", n), "an item is one line") for n, item in
                     enumerate(custom_list.items) if isinstance(item, str) and len(item.splitlines()) > 1]
    reasons = spec.settings.review_reasons if spec.settings is not None else None
    if reasons is not None:
        problems += [loaded.problem(("settings", "reviewReasons", n), "a reason is one line")
                     for n, label in enumerate(reasons) if len(label.splitlines()) > 1]
        problems += loaded.item_problems(("settings", "reviewReasons"), parse_labels("\n".join(reasons))[1])
    return problems


def canonical(spec: ConfigSpec) -> dict[str, Any]:
    """The one form of a document: defaults filled in, rules in priority order, list items and event
    types sorted, settings only as far as written."""
    document: dict[str, Any] = {"tollgate": FORMAT}
    if spec.actions is not None:
        document["actions"] = {code: _action(code, action) for code, action in spec.actions.items()}
    if spec.data_points is not None:
        document["dataPoints"] = {path: point.model_dump(mode="json", by_alias=True)
                                  for path, point in spec.data_points.items()}
    if spec.lists is not None:
        document["lists"] = {name: {**item.model_dump(mode="json", by_alias=True), "items": sorted_items(item.items)}
                             for name, item in spec.lists.items()}
    if spec.settings is not None:
        document["settings"] = spec.settings.model_dump(mode="json", by_alias=True, exclude_unset=True)
        if spec.settings.review_reasons is not None:  # spaces as reviewers will read them
            document["settings"]["reviewReasons"] = parse_labels("\n".join(spec.settings.review_reasons))[0]
    if spec.webhooks is not None:
        document["webhooks"] = {url: {**hook.model_dump(mode="json", by_alias=True),
                                      "eventTypes": sorted(set(hook.event_types))}
                                for url, hook in spec.webhooks.items()}
    return document


def _action(code: str, action: ActionSpec) -> dict[str, Any]:
    document = action.model_dump(mode="json", by_alias=True)
    document["name"] = action.name or code
    document["rules"] = sorted(document["rules"], key=lambda rule: rule["priority"])
    return document


def sorted_items(items: list[Any]) -> list[Any]:
    """A list's items as a set, in one order (numbers and text are never in one list)."""
    return sorted(items, key=lambda item: (isinstance(item, str), item))


def fingerprint(state: Mapping[str, Any]) -> str:
    """A short digest of what apply would overwrite: plan prints it, apply compares it (drift)."""
    canonical_json = json.dumps(state, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical_json.encode()).hexdigest()[:16]


# -- writing a file -------------------------------------------------------------------------------

HEADER = """\
# Tollgate configuration as code (flask tollgate export).
# Each action as its live (published) version decides, not its draft. No secrets: API keys, passwords,
# TOTP secrets and webhook signing keys are never written here.
# `flask tollgate plan FILE` shows what applying this file would change; `flask tollgate apply FILE`
# makes it so. A section left out of a file is left alone.
"""
COMMENTS = {
    "tollgate": "The file format's version.",
    "actions": "Actions by code: the policy its live version decides with (outcome when no rule matches,\n"
               "# verification methods, unenrolled policy), its review deadline, and its rules in priority\n"
               "# order (the first active rule whose JsonLogic conditions match decides).",
    "dataPoints": "Custom data points: the type of custom.NAME (sent with a track) or user.custom.NAME (on the user).",
    "lists": "Custom lists that rules read as lists.NAME: what they hold and their items.",
    "settings": "Tenant settings that override the environment's defaults (null: the default).",
    "webhooks": "Webhook endpoints by URL: the events sent to each (signed with the tenant's API secret key).",
}


def render_config(document: Mapping[str, Any]) -> str:
    """The document as YAML: a comment before each section, keys sorted, block style: byte for byte
    the same for the same configuration."""
    parts = [HEADER]
    for section in ("tollgate", *SECTIONS):
        if section in document:
            body = yaml.safe_dump({section: document[section]}, sort_keys=True, allow_unicode=True,
                                  default_flow_style=False, width=100, indent=2)
            if section == "actions":
                body = _with_rule_sentences(body, document["actions"])
            parts.append(f"\n# {COMMENTS[section]}\n{body}")
    return "".join(parts)


# A rule's first key, sorted, at the indentation of an action's rules: nothing nested sits there.
RULE_START = "    - conditions:"


def _with_rule_sentences(body: str, actions: Mapping[str, Any]) -> str:
    """Each rule preceded by a comment that reads it as the rule builder does."""
    sentences = iter([f"    # {rule['name']}{'' if rule['isActive'] else ' (inactive)'}: {rule['outcome']} "
                      f"{_sentence(rule)}".replace("\n", " ")
                      for _, action in sorted(actions.items()) for rule in action["rules"]])
    return "".join(f"{next(sentences)}\n{line}" if line.startswith(RULE_START) else line
                   for line in body.splitlines(keepends=True))


# -- what would change ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleDiff:
    kind: str  # added | removed | changed
    name: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any] | None
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Change:
    """One record of one section added, removed or changed (``fields``: its own fields that differ;
    ``rules``: an action's rule changes, rules matched by name)."""

    kind: str  # added | removed | changed
    section: str
    key: str
    before: Any
    after: Any
    fields: tuple[str, ...] = ()
    rules: tuple[RuleDiff, ...] = ()


def diff_configs(live: Mapping[str, Any], wanted: Mapping[str, Any]) -> tuple[Change, ...]:
    """What applying ``wanted`` to ``live`` changes, section by section, in key order; a section
    ``wanted`` leaves out changes nothing."""
    changes: list[Change] = []
    for section in SECTIONS:
        if section not in wanted:
            continue
        before, after = live.get(section) or {}, wanted[section]
        if section == "settings":
            changes.extend(Change("changed", section, name, before.get(name), value)
                           for name, value in sorted(after.items()) if before.get(name) != value)
            continue
        for key in sorted(before.keys() | after.keys()):
            if key not in after:
                changes.append(Change("removed", section, key, before[key], None))
            elif key not in before:
                changes.append(Change("added", section, key, None, after[key],
                                      rules=diff_rules([], after[key]["rules"]) if section == "actions" else ()))
            elif before[key] != after[key]:
                fields = tuple(name for name in sorted(before[key].keys() | after[key].keys())
                               if name != "rules" and before[key].get(name) != after[key].get(name))
                rules = diff_rules(before[key]["rules"], after[key]["rules"]) if section == "actions" else ()
                changes.append(Change("changed", section, key, before[key], after[key], fields, rules))
    return tuple(changes)


def diff_rules(before: list[Mapping[str, Any]], after: list[Mapping[str, Any]]) -> tuple[RuleDiff, ...]:
    """One action's rules, matched by name: the file's order, then the rules it drops."""
    old = {rule["name"]: rule for rule in reversed(before)}  # the first of a repeated name, as matching takes it
    new = {rule["name"]: rule for rule in after}
    diffs = []
    for rule in after:
        was = old.get(rule["name"])
        if was is None:
            diffs.append(RuleDiff("added", rule["name"], None, rule))
        elif was != rule:
            diffs.append(RuleDiff("changed", rule["name"], was, rule,
                                  tuple(name for name in sorted(rule) if was.get(name) != rule.get(name))))
    diffs.extend(RuleDiff("removed", rule["name"], rule, None) for rule in before if rule["name"] not in new)
    return tuple(diffs)


def describe_change(change: Change) -> list[str]:
    """Lines for a person: ``+`` added, ``-`` removed, ``~`` changed; rules read as the builder's sentences."""
    mark = {"added": "+", "removed": "-", "changed": "~"}[change.kind]
    noun = {"actions": "action", "dataPoints": "data point", "lists": "list", "settings": "setting",
            "webhooks": "webhook"}[change.section]
    if change.section == "settings":
        return [f"~ setting {change.key}: {_shown(change.before)} → {_shown(change.after)}"]
    lines = [f"{mark} {noun} {change.key}" + _summary(change)]
    if change.kind == "changed":
        lines += [f"    ~ {name}: {_shown(change.before.get(name))} → {_shown(change.after.get(name))}"
                  for name in change.fields if not (change.section == "lists" and name == "items")]
        if change.section == "lists" and "items" in change.fields:
            added = [i for i in change.after["items"] if i not in change.before["items"]]
            removed = [i for i in change.before["items"] if i not in change.after["items"]]
            lines.append(f"    ~ items: {len(added)} added {_sample(added)}, {len(removed)} removed {_sample(removed)}")
    for rule in change.rules:
        lines += _describe_rule(rule)
    return lines


def _summary(change: Change) -> str:
    if change.kind != "added":
        return ""
    value = change.after
    if change.section == "actions":
        return f" ({value['name']}): {value['defaultOutcome']} when no rule matches, {len(value['rules'])} rules"
    if change.section == "dataPoints":
        return f" ({value['type']})"
    if change.section == "lists":
        return f" ({value['kind']}, {len(value['items'])} items)"
    return f" ({', '.join(value['eventTypes'])})"


def _describe_rule(rule: RuleDiff) -> list[str]:
    if rule.kind == "changed":
        lines = [f"    ~ rule “{rule.name}”"]
        for name in rule.fields:
            if name == "conditions":
                lines.append(f"        ~ conditions: {_sentence(rule.before)} → {_sentence(rule.after)}")
            else:
                lines.append(f"        ~ {name}: {_shown(rule.before.get(name))} → {_shown(rule.after.get(name))}")
        return lines
    shown = rule.after if rule.kind == "added" else rule.before
    mark = "+" if rule.kind == "added" else "-"
    inactive = "" if shown["isActive"] else " (inactive)"
    return [f"    {mark} rule “{rule.name}” (priority {shown['priority']}){inactive}: "
            f"{shown['outcome']} {_sentence(shown)}"]


def _sentence(rule: Mapping[str, Any]) -> str:
    if rule["conditions"] is None or rule["conditions"] is True:
        return "always"
    return "when " + describe_conditions(rule["conditions"], catalogue=SUMMARY_CATALOGUE)


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _sample(items: list[Any]) -> str:
    return "(" + ", ".join(str(i) for i in items[:5]) + (", …" if len(items) > 5 else "") + ")" if items else ""
