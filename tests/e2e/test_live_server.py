"""The browser tests' own server: a response the client walks away from is closed, not leaked.

Chromium resets connections when a page navigates away mid-download. werkzeug's dev server then
skipped closing the response, and the open file's ResourceWarning failed a random later test
(seen once in CI). conftest's ``_QuietHandler.connection_dropped`` closes it; this resets 200
downloads of a static file and then collects garbage, which fails if any file was left open.
"""

from __future__ import annotations

import gc
import socket
import struct
import time
from urllib.parse import urlsplit

STATIC_FILE = "/static/vendor/htmx-2.0.11.min.js"


def test_responses_the_client_resets_are_closed(live_server):
    address = urlsplit(live_server.url)
    for _ in range(200):
        with socket.create_connection((address.hostname, address.port)) as client:
            client.sendall(f"GET {STATIC_FILE} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
            assert client.recv(12).startswith(b"HTTP/1.1 200")
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST
    time.sleep(0.5)  # the server thread finishes with each connection

    gc.collect()  # an unclosed response would raise its ResourceWarning here (filterwarnings = error)
