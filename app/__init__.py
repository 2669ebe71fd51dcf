"""Application factory: wiring only."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import load_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: Mapping[str, str] | None = None) -> Flask:
    """Build the app from the environment; ``overrides`` are extra environment variables (tests)."""
    environ = {**os.environ, **(overrides or {})}
    instance_path = Path(environ.get("TOLLGATE_INSTANCE_PATH") or PROJECT_ROOT / "instance")
    settings = load_settings(environ, instance_path=instance_path)

    app = Flask(
        __name__,
        instance_path=str(instance_path),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.update(settings.flask_config())
    if settings.trusted_proxy_hops:
        # Only the proxies we were told about may name the client: rate limits and stored IPs use it.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxy_hops, x_proto=settings.trusted_proxy_hops)
    app.json.sort_keys = False
    instance_path.mkdir(parents=True, exist_ok=True)

    from app import models  # noqa: F401  (registers every table on the metadata)
    from app.extensions import babel, csrf, db, htmx, login_manager, migrate, tune_sqlite

    db.init_app(app)
    with app.app_context():
        tune_sqlite(db.engine, background_checkpoints=not app.testing)
    # Batch mode lets later migrations ALTER tables on SQLite too; compare_type catches type drift.
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True, compare_type=True)
    htmx.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    from app.challenge.locale import select_locale

    babel.init_app(app, locale_selector=select_locale)  # catalogues: app/translations (built by `make venv`)

    from app import (
        api,
        auth,
        challenge,
        cli,
        client_api,
        console,
        cookie_sessions,
        errors,
        health,
        management_api,
        metrics,
        openapi,
        request_limits,
        review,
        security_headers,
    )
    from app.services.console.console_users import load_session_user

    request_limits.register(app)  # before any blueprint's hooks: it guards them all
    cookie_sessions.register(app)
    login_manager.user_loader(load_session_user)
    login_manager.login_view = "auth.login"
    # Token-authenticated surfaces: a CSRF cookie means nothing to them (the hosted pages carry
    # their unguessable token in every form instead).
    for token_surface in (api.bp, management_api.bp, client_api.bp, challenge.bp):
        csrf.exempt(token_surface)

    for blueprint in (api.bp, management_api.bp, client_api.bp, openapi.bp, challenge.bp, health.bp, metrics.bp,
                      auth.bp, console.bp, review.bp):
        app.register_blueprint(blueprint)
    from app.domain.labels import label

    app.add_template_filter(label)  # pages name states, outcomes and methods in words
    security_headers.register(app)
    errors.register(app)
    cli.register(app)
    return app
