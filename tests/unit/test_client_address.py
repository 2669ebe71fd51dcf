"""Per-address limits count an IPv4 address, or the IPv6 /64 a client can pick addresses from."""

from __future__ import annotations

import pytest

from app.domain.client_address import limited_address


@pytest.mark.parametrize(("client_ip", "counted_as"), [
    ("203.0.113.9", "203.0.113.9"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
    ("::ffff:203.0.113.9", "203.0.113.9"),
    ("not an address", "not an address"),
])
def test_the_unit_an_address_limit_counts(client_ip, counted_as):
    assert limited_address(client_ip) == counted_as
