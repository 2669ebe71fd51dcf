"""Settings, read from the environment only and validated before the app starts.

Every problem is collected and reported at once, one line per variable, so an operator fixes a
deployment in one round trip. Development and test generate throw-away secrets (kept under
``instance/`` so tokens survive a restart); production refuses to start without real ones.
Every variable is here, in one reading pass, so one module holds them all past our usual size.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.fernet import Fernet

from app.domain.phone_numbers import parse_regions
from app.domain.redirects import DEVELOPMENT_REDIRECTS, AllowedRedirect, parse_allowed_redirect
from app.domain.relying_party import parse_origin, uncovered_origins
from app.domain.signals import MAX_WINDOW as SIGNAL_HISTORY
from app.domain.smtp_url import SmtpTarget, parse_smtp_url
from app.domain.twilio_account import TwilioAccount, parse_twilio_account

ENVIRONMENTS = ("development", "test", "production")
MIN_SECRET_LENGTH = 32
MIN_API_KEY_LENGTH = 24
MIN_METRICS_TOKEN_LENGTH = 24
# An audit trail kept less than a month would not outlast the review of an incident.
MIN_AUDIT_RETENTION_DAYS = 30
MIN_PASSWORD_LENGTH = 12


class ConfigError(Exception):
    """Start-up configuration is unusable; ``problems`` holds one message per variable."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("Invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Settings:
    env: str
    secret_key: str
    encryption_keys: tuple[str, ...]
    database_url: str
    public_url: str
    webauthn_rp_id: str
    webauthn_rp_name: str
    webauthn_origins: tuple[str, ...]
    client_token_ttl: int
    result_token_ttl: int
    bootstrap_api_key: str | None
    instance_path: Path
    redirect_allowlist: tuple[AllowedRedirect, ...] = ()
    console_idle_minutes: int = 30
    # However active, a console session ends this long after sign-in.
    console_session_hours: int = 12
    review_claim_minutes: int = 30
    bootstrap_admin_email: str | None = None
    bootstrap_admin_password: str | None = None
    # Risk signals: a GeoLite2-City-format .mmdb enables the travel fields (ip.city, ip.latitude...).
    geoip_city_db: Path | None = None
    impossible_travel_kmh: int = 900
    # Behind N reverse proxies, the client's address is the Nth from the right in X-Forwarded-For.
    trusted_proxy_hops: int = 0
    # Remembered devices (a tenant setting only, off unless a tenant turns it on): days a browser stays
    # trusted after a passed challenge when the user asks for it.
    remember_device_days: int = 0
    # Challenges anyone may start without a token (usernameless passkey sign-in), per client IP.
    anonymous_challenges_per_minute: int = 30
    # Failed console sign-ins one client address may make per 15 minutes, over all accounts.
    sign_in_failures_per_address: int = 20
    # Invalid API keys (server or client API) one client address may present per rolling minute.
    api_key_failures_per_minute: int = 100
    # Webhooks to loopback, private, link-local... addresses: development only, unless the operator says so.
    webhook_allow_private_networks: bool = False
    # Tracked actions older than this are deleted by `flask tollgate purge`; None keeps them all.
    action_retention_days: int | None = None
    # Audit events older than this are purged (behind a checkpoint of the hash chain); None keeps them all.
    audit_retention_days: int | None = None
    # Bearer token Prometheus sends to /metrics; None keeps the endpoint off (404).
    metrics_token: str | None = None
    # Email transport; None: messages land in the development outbox (refused in production).
    smtp: SmtpTarget | None = None
    smtp_from: str | None = None
    # How long a code sent by email or SMS stays good.
    code_ttl: int = 600
    # Messages (codes) one address or number may be sent per rolling hour, and a tenant per minute:
    # what bounds SMS pumping and mail bombing through a leaked client flow.
    sends_per_destination_per_hour: int = 10
    sends_per_tenant_per_minute: int = 600
    # Messages one user's challenges may send per rolling hour (a user typing number after number on the
    # enrolment page), and one client address may ask for through the client API and the hosted pages.
    sends_per_user_per_hour: int = 20
    sends_per_client_address_per_hour: int = 30
    # Text messages (SMS, WhatsApp) through Twilio; None: by an sms.created webhook, or the development outbox.
    twilio: TwilioAccount | None = None
    # ISO regions SMS and WhatsApp codes may go to; empty: every country.
    sms_allowed_countries: frozenset[str] = frozenset()
    # A PostgreSQL read replica back-tests read history from (None: the database itself).
    replica_database_url: str | None = None

    @property
    def development_outbox(self) -> bool:
        """No SMTP server outside production: emails are kept for the console to show instead."""
        return self.smtp is None and self.env != "production"

    @property
    def development_sms_outbox(self) -> bool:
        """No Twilio account outside production: text messages are kept for the console likewise."""
        return self.twilio is None and self.env != "production"

    @property
    def fast_password_hashing(self) -> bool:
        """Tests hash many passwords; production keeps argon2's recommended cost."""
        return self.env == "test"
    max_body_bytes: int = 64 * 1024

    def flask_config(self) -> dict:
        return {
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(self.database_url),
            "MAX_CONTENT_LENGTH": self.max_body_bytes,
            "TESTING": self.env == "test",
            "TOLLGATE": self,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.public_url.startswith("https://"),
            "SESSION_COOKIE_NAME": "tollgate_session",
            # CSRF tokens are bound to the session, which the idle timeout already limits.
            "WTF_CSRF_TIME_LIMIT": None,
            # Flask refuses a session cookie signed longer ago than this (31 days by default). The
            # guard re-signs it on every request, so the limit counted from sign-in is the guard's,
            # on the server; this keeps an unused cookie from outliving it. (The cookie ends with
            # the browser: not "permanent", so SESSION_REFRESH_EACH_REQUEST does not apply.)
            "PERMANENT_SESSION_LIFETIME": timedelta(hours=self.console_session_hours),
        }


# Defaults (None: derived or required). README's configuration table lists the same; keep in step.
VARIABLES = {
    "TOLLGATE_ENV": "development",
    "TOLLGATE_SECRET_KEY": None,
    "TOLLGATE_ENCRYPTION_KEY": None,
    "DATABASE_URL": None,
    "TOLLGATE_REPLICA_DATABASE_URL": None,
    "TOLLGATE_PUBLIC_URL": "http://localhost:5000",
    "TOLLGATE_WEBAUTHN_RP_ID": None,
    "TOLLGATE_WEBAUTHN_RP_NAME": "Tollgate",
    "TOLLGATE_WEBAUTHN_ORIGINS": None,
    "TOLLGATE_CLIENT_TOKEN_TTL": "600",
    "TOLLGATE_RESULT_TOKEN_TTL": "300",
    "TOLLGATE_API_SECRET_KEY": None,
    "TOLLGATE_REDIRECT_ALLOWLIST": None,
    "TOLLGATE_CONSOLE_IDLE_MINUTES": "30",
    "TOLLGATE_CONSOLE_SESSION_HOURS": "12",
    "TOLLGATE_REVIEW_CLAIM_MINUTES": "30",
    "TOLLGATE_ADMIN_EMAIL": None,
    "TOLLGATE_ADMIN_PASSWORD": None,
    "TOLLGATE_GEOIP_CITY_DB": None,
    "TOLLGATE_IMPOSSIBLE_TRAVEL_KMH": "900",
    "TOLLGATE_TRUSTED_PROXY_HOPS": "0",
    "TOLLGATE_ANONYMOUS_CHALLENGES_PER_MINUTE": "30",
    "TOLLGATE_SIGN_IN_FAILURES_PER_ADDRESS": "20",
    "TOLLGATE_API_KEY_FAILURES_PER_MINUTE": "100",
    "TOLLGATE_ACTION_RETENTION_DAYS": None,
    "TOLLGATE_AUDIT_RETENTION_DAYS": None,
    "TOLLGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS": None,
    "TOLLGATE_METRICS_TOKEN": None,
    "TOLLGATE_SMTP_URL": None,
    "TOLLGATE_SMTP_FROM": None,
    "TOLLGATE_CODE_TTL": "600",
    "TOLLGATE_SENDS_PER_DESTINATION_PER_HOUR": "10",
    "TOLLGATE_SENDS_PER_TENANT_PER_MINUTE": "600",
    "TOLLGATE_SENDS_PER_USER_PER_HOUR": "20",
    "TOLLGATE_SENDS_PER_CLIENT_ADDRESS_PER_HOUR": "30",
    "TOLLGATE_TWILIO_ACCOUNT_SID": None,
    "TOLLGATE_TWILIO_AUTH_TOKEN": None,
    "TOLLGATE_TWILIO_FROM": None,
    "TOLLGATE_TWILIO_BASE_URL": None,
    "TOLLGATE_SMS_ALLOWED_COUNTRIES": None,
}


def load_settings(environ: Mapping[str, str] | None = None, *, instance_path: Path) -> Settings:
    env_vars = os.environ if environ is None else environ
    problems: list[str] = []

    def get(name: str) -> str | None:
        value = env_vars.get(name)
        if value is None or value.strip() == "":
            return VARIABLES.get(name)
        return value.strip()

    env = get("TOLLGATE_ENV") or "development"
    if env not in ENVIRONMENTS:
        problems.append(f"TOLLGATE_ENV must be one of {', '.join(ENVIRONMENTS)}, got {env!r}")
        env = "production"  # judge the rest as strictly as possible
    generated = _DevSecrets(instance_path) if env != "production" else None

    secret_key = get("TOLLGATE_SECRET_KEY")
    if secret_key is None:
        if generated is None:
            problems.append("TOLLGATE_SECRET_KEY is required in production (at least 32 random characters)")
        else:
            secret_key = generated.get("secret_key", lambda: secrets.token_urlsafe(48))
    elif len(secret_key) < MIN_SECRET_LENGTH:
        problems.append(f"TOLLGATE_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters")

    encryption_keys: tuple[str, ...] = ()
    raw_keys = get("TOLLGATE_ENCRYPTION_KEY")
    if raw_keys is None:
        if generated is None:
            problems.append(
                "TOLLGATE_ENCRYPTION_KEY is required in production (a Fernet key: "
                "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
            )
        else:
            encryption_keys = (generated.get("encryption_key", lambda: Fernet.generate_key().decode()),)
    else:
        encryption_keys = tuple(k.strip() for k in raw_keys.split(",") if k.strip())
        for key in encryption_keys:
            try:
                Fernet(key)
            except ValueError:
                problems.append(
                    "TOLLGATE_ENCRYPTION_KEY must be comma-separated Fernet keys (32 url-safe base64 bytes)"
                )
                break

    database_url = _normalise_database_url(get("DATABASE_URL"), instance_path, problems)
    replica_database_url = _replica_url(get("TOLLGATE_REPLICA_DATABASE_URL"), database_url, problems)

    public_url = (get("TOLLGATE_PUBLIC_URL") or "").rstrip("/")
    public_parts = urlsplit(public_url)
    if public_parts.scheme not in ("http", "https") or not public_parts.hostname:
        problems.append(f"TOLLGATE_PUBLIC_URL must be an absolute http(s) URL, got {public_url!r}")
    elif public_parts.query or public_parts.fragment:
        problems.append("TOLLGATE_PUBLIC_URL must not contain a query or fragment")
    elif env == "production" and public_parts.scheme != "https":
        problems.append("TOLLGATE_PUBLIC_URL must use https in production")

    origins_raw = get("TOLLGATE_WEBAUTHN_ORIGINS")
    if origins_raw is None:
        origins = (f"{public_parts.scheme}://{public_parts.netloc}",) if public_parts.hostname else ()
    else:
        origins = tuple(o.strip().rstrip("/") for o in origins_raw.split(",") if o.strip())
    for origin in origins:
        try:
            parse_origin(origin)
        except ValueError:
            problems.append(
                f"TOLLGATE_WEBAUTHN_ORIGINS entries must be origins like https://example.com, got {origin!r}"
            )

    rp_id = get("TOLLGATE_WEBAUTHN_RP_ID") or (public_parts.hostname or "")
    for origin in uncovered_origins(rp_id, [o for o in origins if urlsplit(o).hostname]):
        problems.append(f"TOLLGATE_WEBAUTHN_RP_ID {rp_id!r} must equal or be a parent domain of origin {origin!r}")

    client_ttl = _int_in_range(get, "TOLLGATE_CLIENT_TOKEN_TTL", 60, 86400, problems)
    result_ttl = _int_in_range(get, "TOLLGATE_RESULT_TOKEN_TTL", 30, 3600, problems)

    api_key = get("TOLLGATE_API_SECRET_KEY")
    if api_key is not None and (len(api_key) < MIN_API_KEY_LENGTH or not api_key.isascii() or ":" in api_key):
        problems.append(
            f"TOLLGATE_API_SECRET_KEY must be at least {MIN_API_KEY_LENGTH} ASCII characters without ':'"
        )

    redirect_allowlist = []
    for entry in (get("TOLLGATE_REDIRECT_ALLOWLIST") or "").split(","):
        if entry.strip():
            try:
                redirect_allowlist.append(parse_allowed_redirect(entry))
            except ValueError as exc:
                problems.append(f"TOLLGATE_REDIRECT_ALLOWLIST: {exc}")
    if env == "development":
        redirect_allowlist.extend(DEVELOPMENT_REDIRECTS)

    idle_minutes = _int_in_range(get, "TOLLGATE_CONSOLE_IDLE_MINUTES", 1, 24 * 60, problems, unit="minutes")
    session_hours = _int_in_range(get, "TOLLGATE_CONSOLE_SESSION_HOURS", 1, 30 * 24, problems, unit="hours")
    claim_minutes = _int_in_range(get, "TOLLGATE_REVIEW_CLAIM_MINUTES", 1, 24 * 60, problems, unit="minutes")
    admin_email, admin_password = get("TOLLGATE_ADMIN_EMAIL"), get("TOLLGATE_ADMIN_PASSWORD")
    if admin_email is not None and "@" not in admin_email:
        problems.append("TOLLGATE_ADMIN_EMAIL must be an email address")
    if admin_password is not None and len(admin_password) < MIN_PASSWORD_LENGTH:
        problems.append(f"TOLLGATE_ADMIN_PASSWORD must be at least {MIN_PASSWORD_LENGTH} characters")
    if (admin_email is None) != (admin_password is None):
        problems.append("TOLLGATE_ADMIN_EMAIL and TOLLGATE_ADMIN_PASSWORD go together: set both or neither")

    geoip_city_db = _geoip_city_db(get("TOLLGATE_GEOIP_CITY_DB"), problems)
    travel_kmh = _int_in_range(get, "TOLLGATE_IMPOSSIBLE_TRAVEL_KMH", 100, 20000, problems, unit="km/h")
    proxy_hops = _int_in_range(get, "TOLLGATE_TRUSTED_PROXY_HOPS", 0, 5, problems, unit="proxies")
    anonymous_rate = _int_in_range(get, "TOLLGATE_ANONYMOUS_CHALLENGES_PER_MINUTE", 1, 100000, problems,
                                   unit="challenges")
    sign_in_failures = _int_in_range(get, "TOLLGATE_SIGN_IN_FAILURES_PER_ADDRESS", 1, 100000, problems,
                                     unit="failures")
    api_key_failures = _int_in_range(get, "TOLLGATE_API_KEY_FAILURES_PER_MINUTE", 1, 100000, problems,
                                     unit="failures")
    retention = get("TOLLGATE_ACTION_RETENTION_DAYS")
    # Never shorter than the longest window a risk signal looks back over, so purging old actions
    # can never change a decision.
    retention_days = (None if not retention else _int_in_range(
        get, "TOLLGATE_ACTION_RETENTION_DAYS", SIGNAL_HISTORY.days, 36500, problems, unit="days"))
    audit_retention_days = (None if not get("TOLLGATE_AUDIT_RETENTION_DAYS") else _int_in_range(
        get, "TOLLGATE_AUDIT_RETENTION_DAYS", MIN_AUDIT_RETENTION_DAYS, 36500, problems, unit="days"))
    # `make run` points webhooks at a receiver on localhost; anywhere else that is the SSRF to refuse.
    allow_private = _boolean(get, "TOLLGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS", problems, default=env == "development")
    metrics_token = get("TOLLGATE_METRICS_TOKEN")
    # It travels in an HTTP header (Authorization: Bearer ...): visible ASCII, no spaces.
    if metrics_token is not None and (len(metrics_token) < MIN_METRICS_TOKEN_LENGTH or not metrics_token.isascii()
                                      or not metrics_token.isprintable() or " " in metrics_token):
        problems.append(f"TOLLGATE_METRICS_TOKEN must be at least {MIN_METRICS_TOKEN_LENGTH} ASCII characters without spaces")

    smtp, smtp_from = _smtp(get, problems)
    code_ttl = _int_in_range(get, "TOLLGATE_CODE_TTL", 60, 3600, problems)
    twilio = _twilio(get, problems)
    try:
        sms_countries = parse_regions(get("TOLLGATE_SMS_ALLOWED_COUNTRIES") or "")
    except ValueError as exc:
        problems.append(f"TOLLGATE_SMS_ALLOWED_COUNTRIES {exc}")
        sms_countries = frozenset()
    per_destination = _int_in_range(get, "TOLLGATE_SENDS_PER_DESTINATION_PER_HOUR", 1, 1000, problems, unit="messages")
    per_tenant = _int_in_range(get, "TOLLGATE_SENDS_PER_TENANT_PER_MINUTE", 1, 1_000_000, problems, unit="messages")
    per_user = _int_in_range(get, "TOLLGATE_SENDS_PER_USER_PER_HOUR", 1, 1000, problems, unit="messages")
    per_address = _int_in_range(get, "TOLLGATE_SENDS_PER_CLIENT_ADDRESS_PER_HOUR", 1, 100_000, problems,
                                unit="messages")

    if problems:
        raise ConfigError(problems)
    return Settings(
        env=env,
        secret_key=secret_key or "",
        encryption_keys=encryption_keys,
        database_url=database_url,
        replica_database_url=replica_database_url,
        public_url=public_url,
        webauthn_rp_id=rp_id,
        webauthn_rp_name=get("TOLLGATE_WEBAUTHN_RP_NAME") or "Tollgate",
        webauthn_origins=origins,
        client_token_ttl=client_ttl,
        result_token_ttl=result_ttl,
        bootstrap_api_key=api_key,
        instance_path=instance_path,
        redirect_allowlist=tuple(redirect_allowlist),
        console_idle_minutes=idle_minutes,
        console_session_hours=session_hours,
        review_claim_minutes=claim_minutes,
        bootstrap_admin_email=admin_email,
        bootstrap_admin_password=admin_password,
        geoip_city_db=geoip_city_db,
        impossible_travel_kmh=travel_kmh,
        trusted_proxy_hops=proxy_hops,
        anonymous_challenges_per_minute=anonymous_rate,
        sign_in_failures_per_address=sign_in_failures,
        api_key_failures_per_minute=api_key_failures,
        webhook_allow_private_networks=allow_private,
        action_retention_days=retention_days,
        audit_retention_days=audit_retention_days,
        metrics_token=metrics_token,
        smtp=smtp,
        smtp_from=smtp_from,
        code_ttl=code_ttl,
        sends_per_destination_per_hour=per_destination,
        sends_per_tenant_per_minute=per_tenant,
        sends_per_user_per_hour=per_user,
        sends_per_client_address_per_hour=per_address,
        twilio=twilio,
        sms_allowed_countries=sms_countries,
    )


def current_settings() -> Settings:
    """The running app's settings (surfaces only; services receive them as an argument)."""
    from flask import current_app

    return current_app.config["TOLLGATE"]


def _normalise_database_url(value: str | None, instance_path: Path, problems: list[str]) -> str:
    if value is None:
        return f"sqlite:///{instance_path / 'tollgate.db'}"
    value = _with_psycopg_driver(value)
    if value.startswith("postgresql+psycopg://") or value.startswith("sqlite:///"):
        return value
    problems.append(
        f"DATABASE_URL must be sqlite:///PATH or postgresql+psycopg://USER:PASS@HOST/DB, got {value.split(':')[0]!r}:..."
    )
    return value


def _with_psycopg_driver(url: str) -> str:
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy needs the driver spelled out.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _replica_url(value: str | None, database_url: str, problems: list[str]) -> str | None:
    if value is None:
        return None
    url = _with_psycopg_driver(value)
    if not url.startswith("postgresql+psycopg://") or not database_url.startswith("postgresql"):
        problems.append("TOLLGATE_REPLICA_DATABASE_URL must be a postgresql:// URL of a read replica, "
                        "and DATABASE_URL a PostgreSQL database")
        return None
    return url


def _smtp(get: Callable[[str], str | None], problems: list[str]) -> tuple[SmtpTarget | None, str | None]:
    url, sender = get("TOLLGATE_SMTP_URL"), get("TOLLGATE_SMTP_FROM")
    target = None
    if url is not None:
        try:
            target = parse_smtp_url(url)
        except ValueError as exc:
            problems.append(f"TOLLGATE_SMTP_URL {exc}")
        if sender is None:
            problems.append("TOLLGATE_SMTP_FROM is required with TOLLGATE_SMTP_URL (the address emails come from)")
    if sender is not None and not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", sender):
        problems.append(f"TOLLGATE_SMTP_FROM must be a plain email address like codes@example.com, got {sender!r}")
    return target, sender


def _twilio(get: Callable[[str], str | None], problems: list[str]) -> TwilioAccount | None:
    """All three of SID, token and sender, or none of them (then no Twilio)."""
    names = ("TOLLGATE_TWILIO_ACCOUNT_SID", "TOLLGATE_TWILIO_AUTH_TOKEN", "TOLLGATE_TWILIO_FROM")
    sid, token, sender = (get(name) for name in names)
    if sid is None and token is None and sender is None:
        return None
    if sid is None or token is None or sender is None:
        problems.append(f"{', '.join(names)} are set together or not at all")
        return None
    try:
        return parse_twilio_account(account_sid=sid, auth_token=token, sender=sender,
                                    base_url=get("TOLLGATE_TWILIO_BASE_URL"))
    except ValueError as exc:
        problems.append(str(exc))
        return None


def _geoip_city_db(value: str | None, problems: list[str]) -> Path | None:
    """The file must open as a MaxMind DB with city records (GeoLite2-City or the same format)."""
    if value is None:
        return None
    path = Path(value).expanduser()
    try:
        import maxminddb

        with maxminddb.open_database(str(path)) as reader:
            kind = reader.metadata().database_type
    except (OSError, ValueError) as exc:
        problems.append(f"TOLLGATE_GEOIP_CITY_DB must be a readable GeoLite2-City .mmdb file ({path}): {exc}")
        return None
    if "city" not in kind.lower():
        problems.append(f"TOLLGATE_GEOIP_CITY_DB must be a City database (GeoLite2-City format), got {kind!r}")
        return None
    return path


def _int_in_range(
    get: Callable[[str], str | None], name: str, low: int, high: int, problems: list[str], *, unit: str = "seconds"
) -> int:
    """The variable ``name`` (read with ``get``: the environment, then the defaults) as a whole number."""
    value = get(name)
    try:
        number = int(value or "")
    except ValueError:
        problems.append(f"{name} must be a whole number of {unit}, got {value!r}")
        return low
    if not low <= number <= high:
        problems.append(f"{name} must be between {low} and {high} {unit}, got {number}")
    return number


_BOOLEANS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}


def _boolean(get: Callable[[str], str | None], name: str, problems: list[str], *, default: bool) -> bool:
    value = get(name)
    if value is None:
        return default
    try:
        return _BOOLEANS[value.lower()]
    except KeyError:
        problems.append(f"{name} must be true or false, got {value!r}")
        return False


# JSON columns are written without the spaces json.dumps puts after "," and ":": each track writes
# several, and they read back the same. (Still ASCII-escaped: a lone surrogate a client sent must
# not fail the write.) One encoder, built once: json.dumps given arguments builds one per call.
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":")).encode


def _engine_options(database_url: str) -> dict:
    if database_url.startswith("sqlite"):
        # Several threads (the dev server, SDK tests) share one file; wait for locks instead of failing.
        return {"connect_args": {"timeout": 30, "check_same_thread": False}, "json_serializer": _COMPACT_JSON}
    # pool_timeout: a request waiting for a free connection gives up (a 503, app/errors.py) well
    # before gunicorn's 30 s worker timeout would kill it with no answer at all.
    return {"pool_pre_ping": True, "pool_timeout": 10, "json_serializer": _COMPACT_JSON}


class _DevSecrets:
    """Secrets generated once per development instance and kept in ``instance/dev-secrets.json``."""

    def __init__(self, instance_path: Path):
        self.path = instance_path / "dev-secrets.json"

    def get(self, name: str, make) -> str:
        data = json.loads(self.path.read_text()) if self.path.exists() else {}
        if name not in data:
            data[name] = make()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(data))
            self.path.chmod(0o600)
        return data[name]
