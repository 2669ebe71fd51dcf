"""The secret a caller sends as HTTP Basic username (how every Authsignal SDK and tool sends its
key), checked by one of the key services; shared by the server API and the Management API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from flask import request

from app.config import current_settings
from app.models.base import utcnow
from app.services.tenancy.api_keys import InvalidApiKey, count_invalid_key

Caller = TypeVar("Caller")


def basic_auth_caller(authenticate: Callable[..., Caller]) -> Caller:
    """``authenticate(raw_key, now=...)``'s caller. A presented key it refuses counts against the
    client address (only then: a valid key costs no lookup of the address or the limit)."""
    auth = request.authorization
    raw_key = auth.username if auth and auth.type == "basic" else None
    now: datetime = utcnow()
    try:
        return authenticate(raw_key, now=now)
    except InvalidApiKey:
        count_invalid_key(client_ip=request.remote_addr, settings=current_settings(), now=now)
        raise
