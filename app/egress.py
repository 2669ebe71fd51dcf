"""Outgoing HTTP that reaches public internet addresses only: the webhook worker's guard against
being used to call internal services (SSRF).

The check is on the address the socket actually connected to, after DNS and before a byte of the
request (or of a TLS handshake) is written. So a public-looking name that resolves to 127.0.0.1,
or whose answer changes between the save-time check and the delivery (DNS rebinding), gets a
closed connection and nothing else; a name with several addresses is judged by the one reached.

Mount :class:`PublicOnlyAdapter` on a ``requests`` session that uses no proxy (``trust_env =
False`` and no ``proxies``): through a proxy the peer would be the proxy, and the check meaningless.
"""

from __future__ import annotations

import ipaddress
import logging
import socket

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from app.domain.destinations import is_public_address

log = logging.getLogger("tollgate.egress")


class DestinationNotAllowed(Exception):
    """The connection reached an address that is not public; it was closed before anything was sent.

    Deliberately not an OSError: urllib3 would wrap that into a generic connection error.
    """


def _checked(connection: HTTPConnection, sock: socket.socket) -> socket.socket:
    peer = sock.getpeername()[0]
    if is_public_address(ipaddress.ip_address(peer)):
        return sock
    sock.close()
    # The peer goes to the operator's log only: whoever typed the URL must not learn the internal address a name has.
    log.warning("refused a connection to %s: it reached %s, which is not a public address", connection.host, peer)
    # Short, the important part first: the console's delivery log shows 160 characters.
    raise DestinationNotAllowed(f"nothing was sent; {connection.host} leads to an address off the public internet "
                                "(loopback, private, link-local or reserved).")


class _PublicHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _checked(self, super()._new_conn())


class _PublicHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:  # before the TLS handshake, which connect() does next
        return _checked(self, super()._new_conn())


class _PublicHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _PublicHTTPConnection


class _PublicHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _PublicHTTPSConnection


class PublicOnlyAdapter(HTTPAdapter):
    """A transport adapter whose connections raise :class:`DestinationNotAllowed` for a non-public peer."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _PublicHTTPConnectionPool,
                                                   "https": _PublicHTTPSConnectionPool}
