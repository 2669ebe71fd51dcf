"""Where webhooks may go: public internet addresses, judged from the URL's host without DNS (when an
endpoint is saved) and from the address a connection actually reached (when one is sent)."""

from __future__ import annotations

import ipaddress

import pytest

from app.domain.destinations import host_address, is_private_host, is_public_address

NOT_PUBLIC = [
    # IPv4
    "127.0.0.1", "127.255.255.254",  # loopback
    "10.0.0.5", "172.16.0.1", "172.31.255.255", "192.168.1.1",  # RFC 1918
    "169.254.169.254", "169.254.0.1",  # link-local, incl. the cloud metadata service
    "100.64.0.1", "100.127.255.254",  # shared address space (carrier-grade NAT)
    "0.0.0.0", "0.1.2.3",  # "this network" (0.0.0.0 reaches localhost on Linux)
    "192.0.0.1", "192.0.2.1", "198.51.100.7", "203.0.113.9",  # IETF protocol assignments, documentation
    "198.18.0.1",  # benchmarking
    "224.0.0.1", "239.255.255.250",  # multicast
    "240.0.0.1", "255.255.255.255",  # reserved, broadcast
    # IPv6
    "::1", "::",  # loopback, unspecified
    "fe80::1", "fe80::1%eth0",  # link-local, with a zone
    "fc00::1", "fd12:3456:789a::1",  # unique-local
    "fec0::1",  # site-local (deprecated)
    "ff02::1", "ff0e::1",  # multicast, even global-scope multicast
    "2001:db8::1",  # documentation
    "100::1",  # discard-only
    "::127.0.0.1", "5f00::1",  # unassigned blocks (IPv4-compatible, SRv6)
    # IPv4 inside IPv6: judged by the IPv4 address it leads to
    "::ffff:127.0.0.1", "::ffff:7f00:1", "::ffff:10.0.0.5", "::ffff:169.254.169.254", "::ffff:0.0.0.0",
    "64:ff9b::127.0.0.1", "64:ff9b::a9fe:a9fe",  # NAT64
    "2002:7f00:1::1", "2002:a00:5::",  # 6to4
]

PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.215.14", "2606:4700:4700::1111", "2a00:1450:4001:80b::200e",
          "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"]


@pytest.mark.parametrize("text", NOT_PUBLIC)
def test_addresses_off_the_public_internet_are_not_public(text):
    assert not is_public_address(ipaddress.ip_address(text))


@pytest.mark.parametrize("text", PUBLIC)
def test_public_unicast_addresses_are_public(text):
    assert is_public_address(ipaddress.ip_address(text))


@pytest.mark.parametrize("host", [
    *NOT_PUBLIC,
    "localhost", "LOCALHOST", "localhost.", "api.localhost", "a.b.localhost",
    # what the resolver reads as 127.0.0.1 or 0.0.0.0 although it is no dotted quad
    "2130706433", "0x7f000001", "0x7f.1", "127.1", "0177.0.0.1", "127.0.0.1.", "0",
    "0xa9.0xfe.0xa9.0xfe",
])
def test_private_hosts_are_known_without_dns(host):
    assert is_private_host(host)


@pytest.mark.parametrize("host", [
    *PUBLIC,
    "hooks.example.com", "example.com.", "localhost.example.com", "mylocalhost", "127.0.0.1.nip.io",
    "0x7f000001.example", "1e100.net", "3com.com",
])
def test_names_and_public_addresses_are_left_to_the_connection_check(host):
    # A name may resolve to anything, and its answer may change: the worker judges the address it connects to.
    assert not is_private_host(host)


def test_numeric_hosts_are_read_the_way_the_resolver_reads_them():
    assert host_address("2130706433") == ipaddress.ip_address("127.0.0.1")
    assert host_address("0177.0.0.1") == ipaddress.ip_address("127.0.0.1")
    assert host_address("10.1") == ipaddress.ip_address("10.0.0.1")
    assert host_address("fd00::1") == ipaddress.ip_address("fd00::1")
    assert host_address("hooks.example.com") is None
    assert host_address("1.2.3.4.5") is None
