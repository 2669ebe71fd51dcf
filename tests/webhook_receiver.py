"""An integrator's webhook endpoint for tests: a real HTTP server on 127.0.0.1 that checks
X-Signature-V2 with its own code (Authsignal's documented algorithm, no Tollgate code involved)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def verify_like_a_receiver(body: bytes, header: str, key: str, *, tolerance_minutes: int = 5) -> dict:
    parts = [part.split("=", 1) for part in header.split(",")]
    timestamp = int(dict(parts)["t"])
    if timestamp < time.time() - tolerance_minutes * 60:
        raise ValueError("Timestamp is outside the tolerance zone.")
    digest = hmac.new(key.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).digest()
    expected = base64.b64encode(digest).decode().replace("=", "")
    if not any(name == "v2" and hmac.compare_digest(value, expected) for name, value in parts):
        raise ValueError("Signature mismatch.")
    return json.loads(body)


@contextmanager
def running_receiver(api_key: str) -> Iterator[tuple[str, list[dict]]]:
    """Yield (url, events received with a valid signature); anything unsigned is answered 400."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802  (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            try:
                received.append(verify_like_a_receiver(body, self.headers["X-Signature-V2"], api_key))
                self.send_response(204)
            except (ValueError, KeyError, TypeError):
                self.send_response(400)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/tollgate", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
