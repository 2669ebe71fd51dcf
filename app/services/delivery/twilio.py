"""Sending text messages through Twilio's Messages API (TOLLGATE_TWILIO_*), with plain ``requests``.

One POST a message, form-encoded, HTTP Basic with the account SID and auth token, a short timeout,
no redirects followed. Twilio answers a refusal with JSON ``{code, message}``; that text (or the
HTTP status, or the connection error) is what the outbox row keeps. A 4xx other than 429 is the
request itself being wrong (a number Twilio cannot reach, a sender it does not know), so no retry
would help: it is marked permanent.
"""

from __future__ import annotations

import requests

from app.domain.twilio_account import TwilioAccount

CONNECT_TIMEOUT, READ_TIMEOUT = 3.05, 5.0


class TwilioError(Exception):
    """Twilio could not be reached or refused the message; ``permanent`` when retrying cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class TwilioClient:
    """``with TwilioClient(account) as twilio: twilio.send(...)``: one connection pool per batch."""

    def __init__(self, account: TwilioAccount) -> None:
        self._account = account
        self._session = requests.Session()
        self._session.trust_env = False  # no proxy or .netrc from the environment: straight to the API
        self._session.auth = (account.account_sid, account.auth_token)

    def send(self, *, to: str, body: str, whatsapp: bool) -> None:
        try:
            response = self._session.post(self._account.messages_url, data=self._account.form(
                to=to, body=body, whatsapp=whatsapp), timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), allow_redirects=False)
        except requests.RequestException as exc:
            raise TwilioError(f"{type(exc).__name__}: {exc}") from exc
        if 200 <= response.status_code < 300:
            return
        raise TwilioError(_refusal(response),
                          permanent=400 <= response.status_code < 500 and response.status_code != 429)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> TwilioClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _refusal(response: requests.Response) -> str:
    """``Twilio answered 400: 21211 Invalid 'To' Phone Number``, or the bare status when the body is no JSON."""
    try:
        error = response.json()
    except ValueError:
        error = None
    if isinstance(error, dict) and (error.get("code") or error.get("message")):
        return f"Twilio answered {response.status_code}: {error.get('code') or ''} {error.get('message') or ''}".strip()
    return f"Twilio answered {response.status_code} {response.reason or ''}".strip()
