"""``flask`` commands: provisioning, keys, actions and rules (JSON in, JSON out).

One module past our usual size because each command is a few lines of argument parsing around one
service call, and the command groups read best side by side, as ``flask --help`` lists them.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from app.config import current_settings
from app.domain.api_keys import ManagementAccess
from app.domain.config_code import SECTIONS
from app.domain.documents import parse_document
from app.domain.errors import DomainError, InvalidJson
from app.domain.json_documents import decode_json
from app.services.decisions import replay
from app.services.operations import provisioning
from app.services.rulesets import rules, versions
from app.services.tenancy import management_keys
from app.services.tenancy.api_keys import create_api_key
from app.services.tenancy.audit import Agent

tollgate_cli = AppGroup("tollgate", help="Provision a Tollgate instance.")
keys_cli = AppGroup("api-keys", help="Manage API secret keys.")
management_keys_cli = AppGroup("management-keys", help="Manage Management API keys (/v1/management).")
actions_cli = AppGroup("actions", help="Manage action configurations.")
rules_cli = AppGroup("rules", help="Manage an action's rules.")
reviews_cli = AppGroup("reviews", help="The manual-review queue: review deadlines (SLA).")
users_cli = AppGroup("users", help="A tenant's end users.")
backtests_cli = AppGroup("backtests", help="Run queued back-tests of rule sets (asked for in the console).")


def register(app: Flask) -> None:
    for group in (tollgate_cli, keys_cli, management_keys_cli, actions_cli, rules_cli, reviews_cli, users_cli,
                  webhooks_cli, ip_lists_cli, lists_cli, backtests_cli):
        app.cli.add_command(group)


TENANT_ENVVAR = "TOLLGATE_TENANT"


def tenant_option(*, every_tenant: bool = False, first_run: Callable[[], str] | None = None):
    """``--tenant ID|NAME`` (default ``TOLLGATE_TENANT``) for a command that acts on a tenant; the
    command gets ``tenant_id``. Left out, it is the only tenant; with several, the command is refused
    with their list, since acting on whichever came first would quietly change the wrong tenant.

    ``every_tenant``: left out means every tenant (``tenant_id`` None), and ``TOLLGATE_TENANT`` is not
    read, so a default exported for day-to-day commands never narrows an instance-wide check.
    ``first_run``: called for the tenant id when there is no tenant yet (else that is an error)."""
    def decorate(command):
        @click.option("--tenant", "tenant_ref", metavar="ID|NAME", envvar=None if every_tenant else TENANT_ENVVAR,
                      show_envvar=not every_tenant,
                      help="The tenant, by id or exact name" + (" (else every tenant)." if every_tenant else
                                                                 "; may be left out when there is only one."))
        @functools.wraps(command)
        def with_tenant(*args, tenant_ref: str | None, **kwargs):
            if tenant_ref is None and every_tenant:
                return command(*args, tenant_id=None, **kwargs)
            return command(*args, tenant_id=_resolve_tenant(tenant_ref, first_run=first_run), **kwargs)

        return with_tenant

    return decorate


def _resolve_tenant(ref: str | None, *, first_run: Callable[[], str] | None) -> str:
    tenants = provisioning.list_tenants()
    if not tenants and ref is None:
        if first_run is not None:
            return first_run()
        raise click.ClickException("No tenant yet: run `flask tollgate seed-demo` or `flask tollgate init` first.")
    if ref is None:
        if len(tenants) == 1:
            return tenants[0].id
        raise click.UsageError(f"There are {len(tenants)} tenants; name one with --tenant ID|NAME "
                               f"(or {TENANT_ENVVAR}):{_tenant_lines(tenants)}")
    by_id = [t for t in tenants if t.id == ref]
    matches = by_id or [t for t in tenants if t.name == ref]
    if len(matches) == 1:
        return matches[0].id
    if matches:
        raise click.UsageError(f"{len(matches)} tenants are named {ref!r}; give the id:{_tenant_lines(matches)}")
    known = f"the tenants are:{_tenant_lines(tenants)}" if tenants else "there is no tenant yet."
    raise click.UsageError(f"No tenant has the id or name {ref!r}; {known}")


def _tenant_lines(tenants) -> str:
    return "".join(f"\n  {t.id}  {t.name}" for t in tenants)


def _read_json(source) -> object:
    try:
        return decode_json(source.read())
    except InvalidJson as exc:
        raise click.ClickException(exc.message) from exc


def _echo_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2))


def _repeat(one_round, *, every: int | None) -> None:
    """Run a housekeeping round once (cron) or every ``every`` seconds until Ctrl-C, logging each.

    Looping, a round the database fails (PostgreSQL restarting) is logged and the next round tries
    again: the loop runs beside the web servers, which ride out the same outage without a restart.
    Once (cron), the error ends the command with its status, for cron to report."""
    from sqlalchemy.exc import SQLAlchemyError

    from app.extensions import db
    from app.models.base import utcnow

    try:
        while True:
            try:
                summary = one_round()
            except SQLAlchemyError as exc:
                if every is None:
                    raise
                summary = f"database error, trying again in {every}s: {type(exc).__name__}: {getattr(exc, 'orig', exc)}"
            db.session.remove()  # a fresh session (and connection) per round
            click.echo(f"{utcnow().isoformat(timespec='seconds')} {summary}")
            if every is None:
                return
            time.sleep(every)
    except KeyboardInterrupt:  # Ctrl-C on `make run`: stop quietly
        return


def _run(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc


@tollgate_cli.command("init")
@click.option("--tenant-name", default="Default", show_default=True)
@click.option("--api-key", envvar="TOLLGATE_API_SECRET_KEY", help="Use this secret key (else one is generated).")
def tollgate_init(tenant_name: str, api_key: str | None) -> None:
    """Create the tenant and make sure it has an API key."""
    tenant = provisioning.ensure_tenant(tenant_name)
    raw, source = provisioning.ensure_api_key(tenant, settings=current_settings(), raw_key=api_key)
    _report_key(raw, source)


@tollgate_cli.command("seed-demo")
@click.option("--api-key", envvar="TOLLGATE_API_SECRET_KEY", help="Use this secret key (else one is generated).")
def tollgate_seed_demo(api_key: str | None) -> None:
    """Create the demo tenant, an API key and the withdraw-funds action with rules (idempotent)."""
    report = _run(provisioning.seed_demo, settings=current_settings(), raw_key=api_key)
    _report_key(report.new_api_key, report.api_key_source)
    if report.new_admin_password:
        click.echo(f"Console admin (shown once): {report.admin_email} / {report.new_admin_password}")
    else:
        click.echo(f"Console admin: {report.admin_email} (password unchanged, or from TOLLGATE_ADMIN_PASSWORD)")
    settings = current_settings()
    base = settings.public_url
    email = (f"development outbox, {base}/console/messages (no TOLLGATE_SMTP_URL: nothing is sent)"
             if settings.development_outbox else f"SMTP, {settings.smtp.host if settings.smtp else 'not configured'}")
    texts = (f"development outbox, {base}/console/messages (no TOLLGATE_TWILIO_*: nothing is sent)"
             if settings.development_sms_outbox
             else f"Twilio, {settings.twilio.base_url if settings.twilio else 'not configured'}")
    click.echo(
        f"\nTollgate demo tenant '{report.tenant.name}' (id {report.tenant.id}) is ready.\n"
        f"  Console:                             {base}/console/\n"
        f"  Email codes go to:                   {email}\n"
        f"  SMS and WhatsApp codes go to:        {texts}\n"
        f"  Server API (Authsignal SDK api_url): {base}/v1\n"
        f"  Health / readiness:                  {base}/healthz, {base}/readyz\n"
        f"  Try it (a large withdrawal: the answer is CHALLENGE_REQUIRED and a url to open):\n"
        f"    {_demo_curl(base, report.new_api_key)}\n"
    )


def _demo_curl(base: str, new_key: str | None) -> str:
    """Pasteable as printed: with the key itself when this run made it, else the variable to set."""
    key = new_key or "$TOLLGATE_API_SECRET_KEY"
    command = (f"curl -u \"{key}:\" -X POST {base}/v1/users/alice/actions/{provisioning.DEMO_ACTION} "
               f"-H 'Content-Type: application/json' -d '{{\"custom\": {{\"amount\": 2500}}}}'")
    return command if new_key else f"{command}\n    (with TOLLGATE_API_SECRET_KEY exported as your secret key)"


def _report_key(raw: str | None, source: str) -> None:
    if source == "generated":
        click.echo(
            "API secret key (shown once, store it now; set TOLLGATE_API_SECRET_KEY to choose your own):\n"
            f"  {raw}"
        )
    elif source == "provided":
        click.echo("Using the API secret key from TOLLGATE_API_SECRET_KEY / --api-key.")
    else:
        click.echo("An API secret key already exists (keys are stored hashed and cannot be shown again); "
                   "create another with `flask api-keys create`.")


@tollgate_cli.command("create-admin")
@click.option("--email", envvar="TOLLGATE_ADMIN_EMAIL", required=True)
@click.option("--password", envvar="TOLLGATE_ADMIN_PASSWORD", help="At least 12 characters (else one is generated).")
@click.option("--temporary", is_flag=True,
              help="The user must choose their own password at next sign-in (you are handing this one over).")
@tenant_option(first_run=lambda: provisioning.ensure_tenant("Default").id)
def tollgate_create_admin(email: str, password: str | None, temporary: bool, tenant_id: str) -> None:
    """Create a console admin, or reset the password of an existing one (whatever their role)."""
    generated = _run(provisioning.ensure_admin, tenant_id, email=email, password=password, settings=current_settings(),
                     temporary=temporary)
    if generated:
        click.echo(f"Console admin (shown once): {email} / {generated}")
    else:
        click.echo(f"Console admin {email} is ready.")


@tollgate_cli.command("purge")
@click.option("--every", type=click.IntRange(min=1), default=None, metavar="SECONDS",
              help="Keep running, purging every SECONDS (else run once, e.g. from cron).")
def tollgate_purge(every: int | None) -> None:
    """Delete tracked actions past TOLLGATE_ACTION_RETENTION_DAYS, audit events past
    TOLLGATE_AUDIT_RETENTION_DAYS (behind a checkpoint of the chain) and verification attempts no signal reads."""
    from app.models.base import utcnow
    from app.services.operations.retention import purge_expired

    settings = current_settings()
    kept = (f"older than {settings.action_retention_days} days" if settings.action_retention_days
            else "none: TOLLGATE_ACTION_RETENTION_DAYS is not set")

    def one_round() -> str:
        report = purge_expired(settings=settings, now=utcnow())
        return (f"purge: {report.actions} actions ({kept}), {report.verification_attempts} old verification "
                f"attempts, {report.sign_in_failures} old failed sign-ins, {report.api_key_failures} old invalid "
                f"API keys, {report.audit_events} old audit events deleted, and {report.code_sends} code sends "
                "past their hour's limit")

    _repeat(one_round, every=every)


@tollgate_cli.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
def tollgate_backup(path: Path, force: bool) -> None:
    """Copy the SQLite database to PATH while Tollgate keeps serving (PostgreSQL: use pg_dump)."""
    from app.services.operations.backup import back_up_sqlite

    report = _run(back_up_sqlite, current_settings().database_url, path, force=force)
    click.echo(f"Backed up the database to {report.path} ({report.size / 1_048_576:.1f} MiB in {report.seconds:.1f} s).")


@tollgate_cli.command("export")
@click.option("--only", "sections", multiple=True, metavar="SECTION",
              type=click.Choice(SECTIONS),
              help="Write only this section (repeat for more): a file without the others leaves them alone.")
@tenant_option()
def tollgate_export(sections: tuple[str, ...], tenant_id: str) -> None:
    """Write the tenant's published configuration as YAML on stdout (config as code)."""
    from app.services.operations import config_code

    click.echo(_run(config_code.export_config, tenant_id, sections=sections or None), nl=False)


class _ExitOneOnMisuse(click.Command):
    """For `plan`, whose exit code 2 means "there are changes": a usage mistake (a wrong --tenant, no
    FILE) exits 1 like any other error, so a script never reads a typo as pending changes."""

    def make_context(self, *args, **kwargs):
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as exc:
            exc.exit_code = 1
            raise

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            exc.exit_code = 1
            raise


@tollgate_cli.command("plan", cls=_ExitOneOnMisuse)
@click.argument("source", metavar="FILE", type=click.File("r", encoding="utf-8"))
@tenant_option()
def tollgate_plan(source, tenant_id: str) -> None:
    """Print what applying FILE would change and the fingerprint apply checks; exit 2 when it would
    change something, 0 when not, 1 when FILE cannot be applied."""
    from app.services.operations import config_code

    plan = _run(config_code.plan_config, tenant_id, source.read(), settings=current_settings())
    for line in config_code.describe_plan(plan):
        click.echo(line)
    if plan.has_changes:
        click.echo(f"\nApply them with: flask tollgate apply {source.name} --tenant {tenant_id} "
                   f"--fingerprint {plan.fingerprint} [--publish -m NOTE]")
        raise SystemExit(2)


@tollgate_cli.command("apply")
@click.argument("source", metavar="FILE", type=click.File("r", encoding="utf-8"))
@click.option("--fingerprint", "expected", metavar="FINGERPRINT",
              help="The fingerprint `plan` printed: refused if the configuration changed since.")
@click.option("--force", is_flag=True, help="Apply without a plan's fingerprint, whatever changed since.")
@click.option("--publish", is_flag=True, help="Publish each action whose rules changed (needs -m).")
@click.option("-m", "--note", help="The change note of the published versions.")
@tenant_option()
def tollgate_apply(source, expected: str | None, force: bool, publish: bool, note: str | None, tenant_id: str) -> None:
    """Make the tenant's configuration FILE's, in one transaction: rule changes go to each action's
    draft (and live with --publish -m NOTE), the rest applies at once."""
    from app.models.base import utcnow
    from app.services.operations import config_code

    if expected is None and not force:
        raise click.UsageError(f"Run `flask tollgate plan {source.name}` first and pass its --fingerprint "
                               "(or --force to apply whatever changed since).")
    if publish != (note is not None):
        raise click.UsageError("--publish and -m NOTE go together.")
    report = _run(config_code.apply_config, tenant_id, source.read(), settings=current_settings(),
                  expected_fingerprint=None if force else expected, publish_note=note, now=utcnow())
    for line in config_code.describe_apply(report):
        click.echo(line)


@tollgate_cli.group("audit")
def audit_cli() -> None:
    """The audit log's hash chain: verify it, export it (e.g. to a SIEM)."""


@audit_cli.command("verify")
@tenant_option(every_tenant=True)
def audit_verify(tenant_id: str | None) -> None:
    """Walk each tenant's audit chain; name the first entry edited, deleted, inserted or reordered (exit 1)."""
    from app.services.tenancy import audit_chain

    broken = False
    for tenant in [tenant_id] if tenant_id else audit_chain.tenant_ids():
        status = audit_chain.verify_tenant(tenant)
        until = status.verified_until.isoformat(timespec="seconds") if status.verified_until else "the start"
        if status.ok:
            click.echo(f"{tenant}: verified {status.report.verified} events up to {until}")
            continue
        broken = True
        problem = status.report.problem
        click.echo(f"{tenant}: {problem.kind} at audit event {problem.entry.id} (number {problem.entry.seq}): "
                   f"{problem.detail}; {status.report.verified} events verified before it, up to {until}", err=True)
    if broken:
        raise SystemExit(1)


@audit_cli.command("export")
@click.option("--since", required=True, type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]),
              help="Events written at or after this time (UTC unless it says otherwise).")
@tenant_option(every_tenant=True)
def audit_export(since, tenant_id: str | None) -> None:
    """Write audit events as JSON Lines on stdout, one a line with its chain hashes, for a SIEM."""
    from datetime import UTC

    from app.services.tenancy import audit_chain

    since = since.replace(tzinfo=UTC) if since.tzinfo is None else since
    for event in audit_chain.export_events(since=since, tenant_id=tenant_id):
        click.echo(json.dumps(event, ensure_ascii=False, separators=(",", ":")))


@keys_cli.command("create")
@click.option("--name", default="CLI", show_default=True)
@click.option("--key", "raw_key", help="Use this value instead of generating one.")
@tenant_option()
def api_keys_create(name: str, raw_key: str | None, tenant_id: str) -> None:
    """Create an API secret key and print it once."""
    _, raw = create_api_key(tenant_id, name=name, settings=current_settings(), raw_key=raw_key)
    click.echo(raw)


@management_keys_cli.command("create")
@click.option("--name", default="CLI", show_default=True)
@click.option("--access", type=click.Choice([a.value for a in ManagementAccess]), default=ManagementAccess.DRAFT.value,
              show_default=True, help="read: read only; draft: writes edit drafts; publish: writes go live at once.")
@tenant_option()
def management_keys_create(name: str, access: str, tenant_id: str) -> None:
    """Create a Management API key and print it once."""
    _, raw = _run(management_keys.create_management_key, _cli_agent(tenant_id), name=name, access=access)
    click.echo(raw)


@management_keys_cli.command("list")
@tenant_option()
def management_keys_list(tenant_id: str) -> None:
    _echo_json([{"id": key.id, "name": key.name, "hint": key.hint, "access": key.access,
                 "revoked": key.revoked_at is not None} for key in management_keys.list_management_keys(tenant_id)])


@management_keys_cli.command("revoke")
@click.argument("key_id")
@tenant_option()
def management_keys_revoke(key_id: str, tenant_id: str) -> None:
    """Revoke a Management API key at once (by the id `list` shows)."""
    from app.models.base import utcnow

    key = _run(management_keys.revoke_management_key, _cli_agent(tenant_id), key_id, now=utcnow())
    click.echo(f"Revoked management key “{key.name}” ({key.hint}).")


def _cli_agent(tenant_id: str) -> Agent:
    return Agent(name="cli", tenant_id=tenant_id)


@actions_cli.command("create")
@click.argument("source", type=click.File("r"), default="-")
@tenant_option()
def actions_create(source, tenant_id: str) -> None:
    """Create an action from JSON: {"code", "name", "defaultOutcome", "verificationMethods", ...}."""
    document = _run(parse_document, rules.ActionDocument, _read_json(source))
    config = _run(rules.create_action_configuration, tenant_id, document)
    _echo_json(rules.action_document(config))


@actions_cli.command("list")
@tenant_option()
def actions_list(tenant_id: str) -> None:
    _echo_json([rules.action_document(c) for c in rules.list_action_configurations(tenant_id)])


@actions_cli.command("publish")
@click.argument("action_code")
@click.option("--note", required=True, help="What this version changes (kept in the history).")
@tenant_option()
def actions_publish(action_code: str, note: str, tenant_id: str) -> None:
    """Publish ACTION_CODE's draft (what `rules create/delete` changed) as its next version."""
    version = _run(versions.publish, "cli", tenant_id, action_code, note=note)
    click.echo(f"Version {version.number} of {action_code} is live.")


@actions_cli.command("discard")
@click.argument("action_code")
@tenant_option()
def actions_discard(action_code: str, tenant_id: str) -> None:
    """Put ACTION_CODE's draft back to its live version."""
    live = _run(versions.discard, "cli", tenant_id, action_code)
    click.echo(f"Draft discarded: the rules of version {live.number} again.")


@actions_cli.command("rollback")
@click.argument("action_code")
@click.argument("number", type=int)
@click.option("--note", default=None, help="Defaults to “Rolled back to version N.”")
@tenant_option()
def actions_rollback(action_code: str, number: int, note: str | None, tenant_id: str) -> None:
    """Republish version NUMBER of ACTION_CODE as its next version."""
    version = _run(versions.rollback, "cli", tenant_id, action_code, number, note=note)
    click.echo(f"Version {version.number} (the rules of version {number}) of {action_code} is live.")


@actions_cli.command("versions")
@click.argument("action_code")
@tenant_option()
def actions_versions(action_code: str, tenant_id: str) -> None:
    """ACTION_CODE's published versions, newest (live) first, and whether the draft differs."""
    draft = _run(versions.draft_of, tenant_id, action_code)
    _echo_json({
        "draftChanges": draft.diff.count,
        "versions": [{"number": v.number, "note": v.note, "publishedBy": v.published_by,
                      "publishedAt": v.published_at.isoformat(), "restoredFrom": v.restored_from}
                     for v in versions.list_versions(draft.config)],
    })


@actions_cli.command("replay")
@click.argument("action_id", type=int)
@tenant_option()
def actions_replay(action_id: int, tenant_id: str) -> None:
    """Decide a stored action again from its version and input snapshot, beside the live version
    (and the draft); exits 1 when its own version does not reproduce it."""
    result = _run(replay.replay_action, tenant_id, action_id)
    _echo_json({
        "actionId": result.action_id,
        "reproduces": result.reproduces,
        **{name: None if decided is None else {
            "version": decided.version_number, "state": decided.state, "matchedRuleIds": decided.matched_rule_ids,
            "decidingRuleId": decided.deciding_rule_id} for name, decided in (
            ("stored", result.stored), ("reproduced", result.reproduced), ("live", result.live),
            ("draft", result.draft))},
    })
    if not result.reproduces:
        raise SystemExit(1)


@rules_cli.command("create")
@click.argument("action_code")
@click.argument("source", type=click.File("r"), default="-")
@tenant_option()
def rules_create(action_code: str, source, tenant_id: str) -> None:
    """Add a rule to ACTION_CODE's draft from JSON (file or stdin); conditions are JsonLogic."""
    document = _run(parse_document, rules.RuleDocument, _read_json(source))
    rule = _run(rules.create_rule, tenant_id, action_code, document)
    _echo_json(rules.rule_document(rule))


@rules_cli.command("list")
@click.argument("action_code")
@tenant_option()
def rules_list(action_code: str, tenant_id: str) -> None:
    _echo_json([rules.rule_document(r) for r in _run(rules.list_rules, tenant_id, action_code)])


@rules_cli.command("delete")
@click.argument("rule_id")
@tenant_option()
def rules_delete(rule_id: str, tenant_id: str) -> None:
    _run(rules.delete_rule, tenant_id, rule_id)
    click.echo(f"Deleted rule {rule_id}.")


@rules_cli.command("backtest")
@click.argument("action_code")
@click.option("--window", default="7d", show_default=True, help="24h, 7d or 30d ending now (or --since/--until).")
@click.option("--since", help="First day of the window (YYYY-MM-DD), instead of --window.")
@click.option("--until", help="Last day of the window (YYYY-MM-DD, included); today when omitted.")
@click.option("--version", "number", type=int, help="Back-test this version instead of the draft.")
@click.option("--draft", is_flag=True, help="Back-test the draft (the default).")
@tenant_option()
def rules_backtest(action_code: str, window: str, since: str | None, until: str | None, number: int | None,
                   draft: bool, tenant_id: str) -> None:
    """Replay the window's stored actions against the draft (or a version) and print what would change."""
    from app.models.base import utcnow
    from app.services.decisions import backtest_runner, backtests

    if draft and number is not None:
        raise click.UsageError("Give --draft or --version, not both.")
    form = {"candidate": "draft" if number is None else str(number), "window": "dates" if since or until else window,
            "since": since or "", "until": until or ""}
    run = _run(backtests.request_from_form, "cli", tenant_id, action_code, form, purpose="cli", now=utcnow())
    claimed = backtest_runner.claim_backtest(now=utcnow(), run_id=run.id)
    backtest_runner.run_claimed(*claimed, settings=current_settings())
    view = backtests.backtest_view(run.tenant_id, action_code, run.id)
    for line in backtests.describe_backtest(view):
        click.echo(line)
    if view.run.status != backtests.DONE or not view.tally.self_check_passed:
        raise SystemExit(1)


@rules_cli.command("shadow")
@click.argument("action_code")
@click.option("--rule", "rule_id", help="Run only this rule of the draft (on top of the live rules), not the whole draft.")
@click.option("--stop", is_flag=True, help="Stop the shadow running on the action.")
@click.option("--show", is_flag=True, help="Print what the running (or last) shadow would have changed.")
@tenant_option()
def rules_shadow(action_code: str, rule_id: str | None, stop: bool, show: bool, tenant_id: str) -> None:
    """Run the draft (or one of its rules) in shadow on live tracks; --show, --stop."""
    from app.services.decisions import shadows

    if show or stop:
        run = _run(shadows.active_shadow, tenant_id, action_code)
        if run is None:
            raise click.ClickException(f"No shadow runs on '{action_code}'.")
        if stop:
            run = _run(shadows.stop_shadow, "cli", tenant_id, action_code, run.id)
        view = shadows.shadow_view(tenant_id, action_code, run.id)
        _echo_json({"label": view.label, "status": run.status, **shadows.impact_summary(view)})
        return
    run = _run(shadows.start_shadow, "cli", tenant_id, action_code, rule_id or shadows.WHOLE_DRAFT)
    _echo_json({"shadowId": run.id, "label": shadows.describe_candidate(run), "status": run.status})


@backtests_cli.command("work")
@click.option("--jobs", default=2, show_default=True, help="Back-tests run at once.")
@click.option("--interval", default=2.0, show_default=True, help="Seconds to wait when nothing is queued.")
def backtests_work(jobs: int, interval: float) -> None:
    """Run queued back-tests until stopped (SIGTERM/Ctrl-C); run one or several, anywhere."""
    from flask import current_app

    from app.backtest_worker import run_backtest_worker

    click.echo(f"Back-test worker started ({jobs} at a time).")
    run_backtest_worker(current_app._get_current_object(), settings=current_settings(), jobs=jobs, interval=interval,
                        echo=click.echo)
    click.echo("Back-test worker stopped.")


@reviews_cli.command("apply-sla")
@click.option("--every", type=click.IntRange(min=1), default=None, metavar="SECONDS",
              help="Keep running, applying the deadlines every SECONDS (else run once, e.g. from cron).")
def reviews_apply_sla(every: int | None) -> None:
    """Auto-approve, auto-reject or flag the review cases whose action's deadline has passed."""
    from app.models.base import utcnow
    from app.services.reviews import sla

    def one_round() -> str:
        report = sla.apply_sla(now=utcnow())
        return (f"review SLA: {len(report.approved)} approved, {len(report.rejected)} rejected, "
                f"{len(report.flagged)} flagged overdue")

    _repeat(one_round, every=every)


@reviews_cli.command("set-sla")
@click.argument("action_code")
@click.option("--deadline", "deadline_minutes", type=click.IntRange(min=1), default=None, metavar="MINUTES",
              help="Minutes a case may wait for review; leave out to remove the deadline.")
@click.option("--policy", type=click.Choice(["FLAG", "AUTO_APPROVE", "AUTO_REJECT"]), default="FLAG", show_default=True,
              help="What happens when the deadline passes.")
@tenant_option()
def reviews_set_sla(action_code: str, deadline_minutes: int | None, policy: str, tenant_id: str) -> None:
    """Set ACTION_CODE's review deadline and what happens when it passes."""
    from app.models.review import OverduePolicy
    from app.services.reviews import sla

    config = _run(sla.set_review_sla, tenant_id, action_code, deadline_minutes=deadline_minutes,
                  policy=OverduePolicy(policy))
    if config.review_deadline_minutes:
        click.echo(f"{action_code}: review within {config.review_deadline_minutes} minutes, then {policy}.")
    else:
        click.echo(f"{action_code}: no review deadline.")


@users_cli.command("erase")
@click.argument("user_id")
@click.option("--yes", is_flag=True, help="Do not ask for the user id again (scripts).")
@tenant_option()
def users_erase(user_id: str, yes: bool, tenant_id: str) -> None:
    """Erase everything held about USER_ID: their actions and review decisions are anonymised, the
    user, authenticators, review notes and webhook events deleted, audit entries naming them
    redacted. Cannot be undone. (DELETE /v1/users/{userId} keeps their actions.)"""
    from app.models.base import utcnow
    from app.services.operations import erasure

    if not yes:
        held = _run(erasure.held_about, tenant_id, user_id)
        click.echo("Held about this user id, to be deleted or anonymised:")
        for kind, count in held.as_dict().items():
            click.echo(f"  {kind}: {count}")
        # Typing the id, not y/N: the same deliberate step the console asks for.
        if click.prompt("Type the user id to erase it", default="", show_default=False) != user_id:
            raise click.ClickException("That is not the user id; nothing was erased.")
    erased = _run(erasure.erase_user, tenant_id, user_id, by="cli", now=utcnow())
    _echo_json({"erased": erased.counts.as_dict()})


# -- webhooks ---------------------------------------------------------------------------------------

webhooks_cli = AppGroup("webhooks", help="Deliver queued webhook events and outbound messages (email codes).")


@webhooks_cli.command("work")
@click.option("--interval", default=2.0, show_default=True, help="Seconds to wait when nothing is due.")
@click.option("--batch", default=10, show_default=True, help="Deliveries claimed at a time.")
@click.option("--keep-days", default=30, show_default=True, help="Finished events are pruned after this many days.")
def webhooks_work(interval: float, batch: int, keep_days: int) -> None:
    """Deliver webhooks and retry queued emails until stopped (SIGTERM/Ctrl-C); run one or several, anywhere."""
    from app.webhook_worker import run_worker

    click.echo(f"Webhook worker started (polling every {interval}s).")
    run_worker(settings=current_settings(), interval=interval, batch=batch, keep_days=keep_days, echo=click.echo)
    click.echo("Webhook worker stopped.")


@webhooks_cli.command("deliver-once")
@click.option("--batch", default=100, show_default=True, help="At most this many deliveries.")
def webhooks_deliver_once(batch: int) -> None:
    """Attempt every delivery and message that is due now, once (for cron or a quick check), then exit."""
    from app.services.delivery.messages import send_due
    from app.services.delivery.worker import deliver_due

    report = deliver_due(settings=current_settings(), limit=batch)
    click.echo(f"{report.sent} delivered, {report.retrying} to retry, {report.failed} failed.")
    sent = send_due(settings=current_settings(), limit=batch)
    click.echo(f"Messages: {sent.sent} sent, {sent.retrying} to retry, {sent.failed} failed.")


ip_lists_cli = AppGroup("ip-lists", help="Instance-wide network lists (CIDRs, shared by every tenant) for ip.isAnonymous "
                        "and ip.cidrLists; also under Data → Network lists in the console.")


@ip_lists_cli.command("import")
@click.argument("name")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--description", default=None, help="What the list holds (shown by `flask ip-lists list`).")
@click.option("--not-anonymous", is_flag=True,
              help="Match it in ip.cidrLists only, not in ip.isAnonymous (e.g. an office range).")
def ip_lists_import(name: str, file, description: str | None, not_anonymous: bool) -> None:
    """Replace list NAME with the CIDRs in FILE (one IPv4/IPv6 address or CIDR a line, # comments; - for stdin).

    Takes effect at the next track in every process."""
    from app.domain.errors import DomainError
    from app.models.base import utcnow
    from app.services.rulesets.network_lists import import_network_list

    try:
        report = import_network_list(name, file, description=description, is_anonymous=not not_anonymous, now=utcnow())
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Imported {report.count} CIDRs into {report.name!r} (version {report.version}).")


@ip_lists_cli.command("list")
def ip_lists_list() -> None:
    """The network lists, their sizes and whether they count as anonymous."""
    from app.services.rulesets.network_lists import list_network_lists

    for row, count in list_network_lists():
        kind = "anonymous" if row.is_anonymous else "listed only"
        click.echo(f"{row.name}\t{count} CIDRs\t{kind}\tv{row.version}\t{row.description or ''}")


@ip_lists_cli.command("delete")
@click.argument("name")
def ip_lists_delete(name: str) -> None:
    """Delete list NAME (rules on it stop matching at the next track)."""
    from app.domain.errors import DomainError
    from app.services.rulesets.network_lists import delete_network_list

    try:
        delete_network_list(name)
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Deleted network list {name!r}.")


# -- custom lists -----------------------------------------------------------------------------------

lists_cli = AppGroup("lists", help="Custom lists that rules read as lists.<name>.")


@lists_cli.command("import")
@click.argument("name")
@click.argument("source", metavar="FILE", type=click.File("r", encoding="utf-8-sig"))
@click.option("--kind", type=click.Choice(["strings", "numbers", "cidrs"]), default="strings", show_default=True,
              help="What a new list holds (an existing list keeps its kind).")
@click.option("--append", is_flag=True, help="Add the file's items to the list instead of replacing them.")
@tenant_option()
def lists_import(name: str, source, kind: str, append: bool, tenant_id: str) -> None:
    """Set the items of custom list NAME from FILE (one item per line; '-' reads stdin), creating it if needed."""
    from app.models.base import utcnow
    from app.services.rulesets import custom_lists

    try:
        row, created = custom_lists.import_list_cli(tenant_id, name, source.read(), kind=kind, replace=not append,
                                                   now=utcnow())
    except custom_lists.InvalidCustomData as exc:
        raise click.ClickException("; ".join(m for ms in exc.fields.values() for m in ms)) from exc
    click.echo(f"{'Created' if created else 'Updated'} list {row.name} ({row.kind}): {row.item_count} items. "
               f"Rules read it as lists.{row.name}; the next track uses it.")
