"""The unit a per-address limit counts.

An IPv4 address is one client. An IPv6 client usually holds a whole /64 (its subscriber's network,
2^64 addresses it can pick from at will), so counting single IPv6 addresses would give it an
unlimited allowance: limits count the /64.
"""

from __future__ import annotations

import ipaddress

IPV6_PREFIX = 64


def limited_address(client_ip: str) -> str:
    """``203.0.113.9`` → itself; ``2001:db8:1:2:3:4:5:6`` → ``2001:db8:1:2::/64``; an IPv4-mapped
    IPv6 address → its IPv4 address; anything unparseable → as given (cut to 64 characters)."""
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return client_ip[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
    return str(address)
