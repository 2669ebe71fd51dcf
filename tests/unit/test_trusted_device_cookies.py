"""The remembered-device cookie: a value is good only for the tenant and user it was issued to, and
only as issued."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.domain.trusted_devices import (
    Holder,
    agent_summary,
    cookie_name,
    digests_match,
    issue_device,
    read_device_cookie,
)

KEY = b"k" * 32
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
ALICE = Holder(tenant_id="tenant-a", user_id="alice")


def issued():
    return issue_device("row-1", ALICE, key=KEY, days=30, now=NOW)


def test_an_issued_cookie_reads_back_to_its_row_and_digest():
    device = issued()

    presented = read_device_cookie(device.cookie_value, ALICE, key=KEY)

    assert presented is not None and presented.row_id == "row-1"
    assert digests_match(device.token_digest, presented)
    assert device.cookie_name == cookie_name(ALICE, key=KEY)
    assert device.expires_at == NOW + timedelta(days=30)
    token = device.cookie_value.split(".")[1]
    assert token not in device.token_digest and len(token) >= 43  # 256 random bits


@pytest.mark.parametrize("other", [Holder("tenant-a", "bob"), Holder("tenant-b", "alice"), Holder("tenant-a:alice", "")],
                         ids=["another user", "another tenant", "a shifted boundary"])
def test_a_cookie_is_refused_for_anyone_else(other):
    assert read_device_cookie(issued().cookie_value, other, key=KEY) is None
    assert cookie_name(other, key=KEY) != cookie_name(ALICE, key=KEY)


def test_a_cookie_signed_with_another_key_is_refused():
    assert read_device_cookie(issued().cookie_value, ALICE, key=b"x" * 32) is None


@pytest.mark.parametrize("change", [
    lambda v: v.replace("row-1", "row-2", 1),
    lambda v: v[:-1] + ("A" if v[-1] != "A" else "B"),
    lambda v: v.rsplit(".", 1)[0],
    lambda v: v + ".extra",
    lambda v: "",
    lambda v: "x" * 500,
], ids=["another row", "signature changed", "no signature", "a part too many", "empty", "oversized"])
def test_a_changed_or_malformed_value_is_refused(change):
    assert read_device_cookie(change(issued().cookie_value), ALICE, key=KEY) is None


def test_two_issues_never_share_a_token():
    assert issued().token_digest != issued().token_digest


def test_the_user_agent_is_kept_as_a_summary():
    chrome = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
    assert agent_summary(chrome) == "Chrome on Mac OS X"
    assert agent_summary(None) is None
