"""The integrator's webhook endpoint: a local HTTP server that checks every delivery's signature and
keeps what arrived, and can be taken down for a stretch (its port closed) and brought back."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from app.domain.webhook_signing import HEADER, InvalidSignature, verify


@dataclass(frozen=True)
class Receipt:
    path: str  # which endpoint (one path each)
    event_id: str
    event_type: str
    received_at: float


class Receiver:
    def __init__(self, port: int, api_key: str):
        self.port, self.api_key = port, api_key
        self.receipts: list[Receipt] = []
        self.bad_signatures = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802  (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    event = verify(body, self.headers.get(HEADER), receiver.api_key, now=int(time.time()))
                except (InvalidSignature, ValueError):
                    with receiver._lock:
                        receiver.bad_signatures += 1
                    status = 400
                else:
                    with receiver._lock:
                        receiver.receipts.append(Receipt(self.path, event["id"], event["type"], time.time()))
                    status = 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
            self._server = None

    def snapshot(self) -> list[Receipt]:
        with self._lock:
            return list(self.receipts)
