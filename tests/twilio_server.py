"""A stand-in for Twilio's Messages API for tests: a real HTTP server on 127.0.0.1 speaking the
subset Tollgate uses (POST /2010-04-01/Accounts/{sid}/Messages.json, form-encoded, HTTP Basic).

It keeps each request as Twilio would see it (path, Basic credentials, form fields) and answers
``201`` with a message resource, or what a test scripted: Twilio's JSON error ``{code, message}``
with a status, a body that is no JSON, or a dropped connection.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef"
AUTH_TOKEN = "test-auth-token-0123456789"
SENDER = "+15017122661"


@dataclass
class TextMessage:
    path: str
    username: str | None
    password: str | None
    content_type: str
    form: dict[str, str]

    @property
    def code(self) -> str:
        """The six digits of the body, as a person reads them off the message."""
        (code,) = re.findall(r"\b\d{6}\b", self.form["Body"])
        return code


@dataclass
class Reply:
    status: int
    body: bytes = b""
    drop: bool = False  # close the connection without an answer


@dataclass
class FakeTwilio:
    base_url: str
    received: list[TextMessage] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)

    def fail_next(self, status: int, *, code: int | None = None, message: str | None = None,
                  raw: bytes | None = None) -> None:
        """The next request gets Twilio's error JSON (or ``raw``) with ``status``."""
        body = raw if raw is not None else json.dumps({"code": code, "message": message, "status": status}).encode()
        self.replies.append(Reply(status, body))

    def drop_next(self) -> None:
        self.replies.append(Reply(0, drop=True))

    def wait_for(self, count: int, timeout: float = 5.0) -> list[TextMessage]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.received) >= count, f"expected {count} text messages, got {len(self.received)}"
        return list(self.received)


@contextmanager
def running_twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio(base_url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802  (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            username = password = None
            scheme, _, credentials = (self.headers.get("Authorization") or "").partition(" ")
            if scheme == "Basic":
                username, _, password = base64.b64decode(credentials).decode().partition(":")
            fake.received.append(TextMessage(
                path=self.path, username=username, password=password,
                content_type=self.headers.get("Content-Type", ""),
                form={name: values[-1] for name, values in parse_qs(body, keep_blank_values=True).items()}))
            reply = fake.replies.pop(0) if fake.replies else Reply(201, json.dumps(
                {"sid": f"SM{len(fake.received):032d}", "status": "queued"}).encode())
            if reply.drop:
                self.close_connection = True
                self.connection.close()
                return
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.base_url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
