"""Who is calling the client API: a token's session, or a tenant by its public id."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from flask import request

from app.config import current_settings
from app.domain.errors import Unauthorized
from app.domain.tokens import ExpiredToken, InvalidToken
from app.extensions import db
from app.models import Tenant
from app.models.base import utcnow
from app.services.challenges.sessions import ClientSession, open_session
from app.services.tenancy.api_keys import count_invalid_key


def bearer_session() -> ClientSession:
    token = _bearer_token()
    if token is None:
        raise Unauthorized("A Bearer token is required.", code="token_not_set")
    return _open(token)


def session_or_tenant() -> tuple[ClientSession | None, str]:
    """Bearer opens the user's session; Basic names the tenant for a usernameless sign-in."""
    token = _bearer_token()
    if token is not None:
        session = _open(token)
        return session, session.tenant_id
    return None, basic_tenant_id()


def basic_tenant_id() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        raise Unauthorized("Basic authentication with the tenant id is required.")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise Unauthorized("The Authorization header is malformed.") from exc
    # The SDK sends base64(encodeURIComponent(tenantId)) without a colon; the docs use "tenantId:".
    tenant_id = unquote(decoded.split(":", 1)[0])
    if not tenant_id or db.session.get(Tenant, tenant_id) is None:
        count_invalid_key(client_ip=request.remote_addr, settings=current_settings(), now=utcnow())
        raise Unauthorized("Unknown tenant.")
    return tenant_id


def _bearer_token() -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _open(token: str) -> ClientSession:
    try:
        return open_session(token, settings=current_settings(), now=utcnow())
    except ExpiredToken as exc:
        raise Unauthorized(exc.message, code="expired_token") from exc
    except InvalidToken as exc:
        raise Unauthorized(exc.message, code="invalid_token") from exc
