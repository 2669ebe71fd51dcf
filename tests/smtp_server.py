"""A mail server for tests: aiosmtpd on 127.0.0.1, keeping what it receives as parsed messages.

Tests read the code (or a magic link) out of the message as a person would: from its plain-text part,
where it stands on a line of its own.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.servers import free_port


@dataclass
class Received:
    envelope_from: str
    envelope_to: list[str]
    message: EmailMessage
    logged_in_as: str | None = None

    @property
    def text(self) -> str:
        return self.message.get_body(preferencelist=("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(preferencelist=("html",)).get_content()

    @property
    def code(self) -> str:
        """The line of the plain text that is exactly six digits."""
        (code,) = [line.strip() for line in self.text.splitlines() if re.fullmatch(r"\d{6}", line.strip())]
        return code

    @property
    def link(self) -> str:
        """The line of the plain text that is a web address: a magic link."""
        (link,) = [line.strip() for line in self.text.splitlines() if re.fullmatch(r"https?://\S+", line.strip())]
        return link


@dataclass
class MailServer:
    host: str
    port: int
    received: list[Received] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def wait_for(self, count: int, *, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.received) >= count, f"{len(self.received)} message(s) arrived, expected {count}"
        return self.received


class _Keep:
    def __init__(self, server: MailServer):
        self.server = server

    async def handle_DATA(self, server, session, envelope):  # noqa: N802  (aiosmtpd's name)
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        self.server.received.append(Received(
            envelope_from=envelope.mail_from, envelope_to=list(envelope.rcpt_tos),
            message=message_from_bytes(envelope.original_content, policy=policy.default), logged_in_as=login))
        return "250 OK"


@contextmanager
def running_mail_server(port: int | None = None, *, credentials: tuple[str, str] | None = None) -> Iterator[MailServer]:
    """``credentials``: the server accepts a login with these only (over plain SMTP: loopback only)."""
    server = MailServer(host="127.0.0.1", port=port or free_port())
    login: dict = {}
    if credentials is not None:
        def authenticate(_server, _session, _envelope, _mechanism, data):
            accepted = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == credentials
            return AuthResult(success=accepted, handled=False, auth_data=data if accepted else None)

        # AUTH offered over plain SMTP (loopback); required or not, the client logs in when it has credentials.
        login = {"authenticator": authenticate, "auth_require_tls": False}
    controller = Controller(_Keep(server), hostname=server.host, port=server.port, **login)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
