"""Where Tollgate may send requests of its own (webhooks): public internet addresses only, unless
the operator allows private networks.

Admins type webhook URLs, so without this the worker would POST wherever the server can reach:
the cloud metadata service (169.254.169.254), a database or admin port on localhost, the office
network. Two checks use these functions. When an endpoint is saved, its host is judged as written,
without DNS (slow, and its answer changes): :func:`is_private_host`. When a request goes out, the
address the socket actually connected to is judged before a byte is sent (``app.egress``), which no
DNS answer gets around: :func:`is_public_address`.
"""

from __future__ import annotations

import ipaddress
import re
import socket

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# RFC 6052's well-known NAT64 prefix: an IPv6-only network reaches IPv4 host a.b.c.d at 64:ff9b::a.b.c.d.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Hosts the resolver reads as an IPv4 number although they are no dotted quad: 2130706433,
# 0x7f000001, 127.1, 0177.0.0.1 all mean 127.0.0.1 to getaddrinfo.
_NUMERIC_HOST = re.compile(r"[0-9][0-9a-fx.]*")


def is_public_address(address: Address) -> bool:
    """A globally routable unicast address. An IPv4 address carried in IPv6 (mapped ``::ffff:a.b.c.d``,
    6to4 ``2002::/16``, NAT64 ``64:ff9b::/96``) is judged by that IPv4 address, where it ends up."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public_address(embedded)
        if address.is_site_local:  # fec0::/10, deprecated but still routed inside some networks
            return False
    # ipaddress calls multicast and IPv6's unassigned blocks (::/8, 5f00::/16...) global; neither is a receiver.
    return address.is_global and not address.is_multicast and not address.is_reserved


def host_address(host: str) -> Address | None:
    """The address a URL's host (as ``urlsplit().hostname`` gives it) names without DNS, if any:
    an IP literal, or a number the resolver reads as IPv4."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))  # pure parsing (the resolver's own rules), no DNS
        except OSError:
            return None
    return None


def is_private_host(host: str) -> bool:
    """The host certainly leads off the public internet, as far as can be told without DNS: an IP
    address that is not public, or ``localhost`` and its subdomains (RFC 6761 keeps them on loopback).
    Any other name may resolve anywhere; the connection-time check judges where it really leads."""
    host = host.lower().removesuffix(".")  # the root dot: localhost. is localhost
    if host == "localhost" or host.endswith(".localhost"):
        return True
    address = host_address(host)
    return address is not None and not is_public_address(address)
