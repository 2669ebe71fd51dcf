"""Settings come from the environment and every problem is reported at start-up."""

from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from app.config import ConfigError, load_settings
from app.domain.redirects import is_allowed

PRODUCTION = {
    "TOLLGATE_ENV": "production",
    "TOLLGATE_SECRET_KEY": "k" * 40,
    "TOLLGATE_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "DATABASE_URL": "postgresql://u:p@db/tollgate",
    "TOLLGATE_PUBLIC_URL": "https://auth.example.com",
}


def load(env, tmp_path):
    return load_settings(env, instance_path=tmp_path)


def test_development_defaults_work_with_nothing_set(tmp_path):
    settings = load({}, tmp_path)

    assert settings.env == "development"
    assert settings.database_url == f"sqlite:///{tmp_path / 'tollgate.db'}"
    assert settings.public_url == "http://localhost:5000"
    assert settings.webauthn_rp_id == "localhost"
    assert settings.webauthn_origins == ("http://localhost:5000",)
    assert settings.client_token_ttl == 600


def test_development_secrets_are_generated_once_and_kept(tmp_path):
    first, second = load({}, tmp_path), load({}, tmp_path)

    assert len(first.secret_key) >= 32
    assert first.secret_key == second.secret_key
    assert first.encryption_keys == second.encryption_keys
    assert (tmp_path / "dev-secrets.json").stat().st_mode & 0o077 == 0


def test_production_settings(tmp_path):
    settings = load(PRODUCTION, tmp_path)

    assert settings.database_url == "postgresql+psycopg://u:p@db/tollgate"
    assert settings.webauthn_rp_id == "auth.example.com"
    assert not (tmp_path / "dev-secrets.json").exists()


def test_production_without_secrets_lists_every_problem(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k not in ("TOLLGATE_SECRET_KEY", "TOLLGATE_ENCRYPTION_KEY")}

    with pytest.raises(ConfigError) as error:
        load(env, tmp_path)

    assert [p.split()[0] for p in error.value.problems] == ["TOLLGATE_SECRET_KEY", "TOLLGATE_ENCRYPTION_KEY"]


@pytest.mark.parametrize(("name", "value", "fragment"), [
    ("TOLLGATE_ENV", "staging", "TOLLGATE_ENV must be one of"),
    ("TOLLGATE_SECRET_KEY", "short", "at least 32"),
    ("TOLLGATE_ENCRYPTION_KEY", "not-a-fernet-key", "Fernet"),
    ("DATABASE_URL", "mysql://x", "DATABASE_URL must be"),
    ("TOLLGATE_PUBLIC_URL", "auth.example.com", "absolute http(s) URL"),
    ("TOLLGATE_PUBLIC_URL", "http://auth.example.com", "https in production"),
    ("TOLLGATE_WEBAUTHN_ORIGINS", "https://auth.example.com/path", "must be origins"),
    ("TOLLGATE_WEBAUTHN_RP_ID", "other.example", "parent domain"),
    ("TOLLGATE_CLIENT_TOKEN_TTL", "ten", "whole number"),
    ("TOLLGATE_CLIENT_TOKEN_TTL", "5", "between 60 and 86400"),
    ("TOLLGATE_RESULT_TOKEN_TTL", "99999", "between 30 and 3600"),
    ("TOLLGATE_API_SECRET_KEY", "short", "at least 24"),
    ("TOLLGATE_REDIRECT_ALLOWLIST", "https://ok.example,app.example.com", "not an absolute http(s) URL"),
    ("TOLLGATE_CONSOLE_SESSION_HOURS", "0", "between 1 and 720 hours"),
    ("TOLLGATE_CONSOLE_SESSION_HOURS", "half a day", "whole number of hours"),
    ("TOLLGATE_TRUSTED_PROXY_HOPS", "-1", "between 0 and 5"),
    ("TOLLGATE_TRUSTED_PROXY_HOPS", "all", "whole number"),
    ("TOLLGATE_ANONYMOUS_CHALLENGES_PER_MINUTE", "0", "between 1 and 100000"),
    ("TOLLGATE_API_KEY_FAILURES_PER_MINUTE", "0", "between 1 and 100000 failures"),
    ("TOLLGATE_API_KEY_FAILURES_PER_MINUTE", "lots", "whole number of failures"),
    ("TOLLGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS", "maybe", "must be true or false, got 'maybe'"),
    ("TOLLGATE_ACTION_RETENTION_DAYS", "30", "between 90 and 36500 days"),  # shorter than the signals read
    ("TOLLGATE_ACTION_RETENTION_DAYS", "a year", "whole number of days"),
    ("TOLLGATE_AUDIT_RETENTION_DAYS", "7", "between 30 and 36500 days"),
    ("TOLLGATE_METRICS_TOKEN", "short", "at least 24 ASCII characters without spaces"),
    ("TOLLGATE_METRICS_TOKEN", "a token with spaces inside of it", "without spaces"),
    ("TOLLGATE_METRICS_TOKEN", "non-ascii-token-é-é-é-é-é-é", "at least 24 ASCII"),
])
def test_each_malformed_value_has_a_clear_message(tmp_path, name, value, fragment):
    with pytest.raises(ConfigError) as error:
        load({**PRODUCTION, name: value}, tmp_path)

    assert any(fragment in problem for problem in error.value.problems), error.value.problems


def test_rp_id_may_be_a_parent_domain_of_the_origins(tmp_path):
    settings = load({**PRODUCTION, "TOLLGATE_WEBAUTHN_RP_ID": "example.com",
                     "TOLLGATE_WEBAUTHN_ORIGINS": "https://auth.example.com,https://app.example.com"}, tmp_path)

    assert settings.webauthn_origins == ("https://auth.example.com", "https://app.example.com")


def test_instance_path_type(tmp_path):
    assert isinstance(load({}, tmp_path).instance_path, Path)


@pytest.mark.parametrize(("env", "allowed"), [("development", True), ("test", False), ("production", False)])
def test_webhooks_to_private_networks_are_allowed_by_default_in_development_only(tmp_path, env, allowed):
    settings = load({**PRODUCTION, "TOLLGATE_ENV": env}, tmp_path)

    assert settings.webhook_allow_private_networks is allowed


@pytest.mark.parametrize(("env", "allowed"), [("development", True), ("test", False), ("production", False)])
def test_redirects_to_a_local_app_on_any_port_are_allowed_in_development_only(tmp_path, env, allowed):
    settings = load({**PRODUCTION, "TOLLGATE_ENV": env, "TOLLGATE_REDIRECT_ALLOWLIST": "https://app.example.com"},
                    tmp_path)

    assert is_allowed("http://localhost:5173/done", settings.redirect_allowlist) is allowed
    assert is_allowed("http://127.0.0.1:3000/", settings.redirect_allowlist) is allowed
    assert is_allowed("https://app.example.com/done", settings.redirect_allowlist)
    assert not is_allowed("http://localhost.evil.io:5173/", settings.redirect_allowlist)


@pytest.mark.parametrize(("env", "value", "allowed"), [
    ("production", "true", True),
    ("production", "1", True),
    ("test", "Yes", True),
    ("development", "false", False),
    ("development", "OFF", False),
    ("development", "0", False),
])
def test_the_operator_decides_about_private_networks_in_any_environment(tmp_path, env, value, allowed):
    settings = load({**PRODUCTION, "TOLLGATE_ENV": env, "TOLLGATE_WEBHOOK_ALLOW_PRIVATE_NETWORKS": value}, tmp_path)

    assert settings.webhook_allow_private_networks is allowed


def test_metrics_stay_off_until_the_operator_sets_a_token(tmp_path):
    assert load(PRODUCTION, tmp_path).metrics_token is None

    token = "m" * 32
    assert load({**PRODUCTION, "TOLLGATE_METRICS_TOKEN": token}, tmp_path).metrics_token == token


def test_console_sessions_last_twelve_hours_unless_the_operator_says_and_so_does_the_cookie(tmp_path):
    assert load(PRODUCTION, tmp_path).console_session_hours == 12

    settings = load({**PRODUCTION, "TOLLGATE_CONSOLE_SESSION_HOURS": "8"}, tmp_path)

    assert settings.console_session_hours == 8
    assert settings.flask_config()["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=8)


def test_without_smtp_development_uses_the_outbox_and_production_does_not(tmp_path):
    assert load({}, tmp_path).development_outbox is True
    production = load(PRODUCTION, tmp_path)
    assert (production.smtp, production.development_outbox) == (None, False)


def test_smtp_settings_are_read_and_checked(tmp_path):
    settings = load({"TOLLGATE_SMTP_URL": "smtps://u:p@mail.example.com", "TOLLGATE_SMTP_FROM": "codes@example.com",
                     "TOLLGATE_CODE_TTL": "300"}, tmp_path)
    assert (settings.smtp.host, settings.smtp.port, settings.smtp_from, settings.code_ttl) == (
        "mail.example.com", 465, "codes@example.com", 300)
    assert settings.development_outbox is False

    with pytest.raises(ConfigError) as refused:
        load({"TOLLGATE_SMTP_URL": "http://mail.example.com", "TOLLGATE_CODE_TTL": "5"}, tmp_path)
    problems = "\n".join(refused.value.problems)
    assert "TOLLGATE_SMTP_URL must start with smtp:// or smtps://" in problems
    assert "TOLLGATE_SMTP_FROM is required with TOLLGATE_SMTP_URL" in problems
    assert "TOLLGATE_CODE_TTL must be between 60 and 3600" in problems


def test_a_read_replica_for_back_tests_must_be_postgresql_beside_postgresql(tmp_path):
    settings = load({**PRODUCTION, "TOLLGATE_REPLICA_DATABASE_URL": "postgres://reader:p@replica/tollgate"}, tmp_path)
    assert settings.replica_database_url == "postgresql+psycopg://reader:p@replica/tollgate"
    assert load(PRODUCTION, tmp_path).replica_database_url is None

    with pytest.raises(ConfigError) as refused:
        load({"TOLLGATE_REPLICA_DATABASE_URL": "postgresql://reader:p@replica/tollgate"}, tmp_path)  # SQLite primary
    assert any("TOLLGATE_REPLICA_DATABASE_URL must be a postgresql:// URL of a read replica" in problem
               for problem in refused.value.problems)


def test_send_limits_are_read_and_checked(tmp_path):
    default = load({}, tmp_path)
    assert (default.sends_per_destination_per_hour, default.sends_per_tenant_per_minute) == (10, 600)
    settings = load({"TOLLGATE_SENDS_PER_DESTINATION_PER_HOUR": "3", "TOLLGATE_SENDS_PER_TENANT_PER_MINUTE": "50"},
                    tmp_path)
    assert (settings.sends_per_destination_per_hour, settings.sends_per_tenant_per_minute) == (3, 50)

    with pytest.raises(ConfigError) as refused:
        load({"TOLLGATE_SENDS_PER_DESTINATION_PER_HOUR": "0", "TOLLGATE_SENDS_PER_TENANT_PER_MINUTE": "many"}, tmp_path)
    problems = "\n".join(refused.value.problems)
    assert "TOLLGATE_SENDS_PER_DESTINATION_PER_HOUR must be between 1 and 1000 messages, got 0" in problems
    assert "TOLLGATE_SENDS_PER_TENANT_PER_MINUTE must be a whole number of messages, got 'many'" in problems


def test_twilio_and_the_sms_country_allow_list_are_read_and_checked(tmp_path):
    default = load({}, tmp_path)
    assert (default.twilio, default.sms_allowed_countries, default.development_sms_outbox) == (None, frozenset(), True)
    settings = load({"TOLLGATE_TWILIO_ACCOUNT_SID": "AC123", "TOLLGATE_TWILIO_AUTH_TOKEN": "secret",
                     "TOLLGATE_TWILIO_FROM": "MG456", "TOLLGATE_SMS_ALLOWED_COUNTRIES": "de,GB"}, tmp_path)
    assert (settings.twilio.account_sid, settings.twilio.sender, settings.twilio.base_url) == (
        "AC123", "MG456", "https://api.twilio.com")
    assert settings.sms_allowed_countries == frozenset({"DE", "GB"})
    assert settings.development_sms_outbox is False
    assert load(PRODUCTION, tmp_path).development_sms_outbox is False

    with pytest.raises(ConfigError) as refused:
        load({"TOLLGATE_TWILIO_ACCOUNT_SID": "AC123", "TOLLGATE_SMS_ALLOWED_COUNTRIES": "Germany"}, tmp_path)
    problems = "\n".join(refused.value.problems)
    assert "are set together or not at all" in problems
    assert "TOLLGATE_SMS_ALLOWED_COUNTRIES names unknown regions: GERMANY" in problems
