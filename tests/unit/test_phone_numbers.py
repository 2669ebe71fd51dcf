"""Phone numbers for text-message codes: E.164 by the numbering plan, the country allow-list, masking,
and the Twilio request they end up in."""

from __future__ import annotations

import pytest

from app.domain.errors import InvalidRequest
from app.domain.phone_numbers import check_destination, mask_phone, parse_phone_number, parse_regions, region_of
from app.domain.twilio_account import parse_twilio_account


@pytest.mark.parametrize(("typed", "e164"), [
    ("+447400123456", "+447400123456"),
    ("+44 7400 123-456", "+447400123456"),
    ("+44 (0)7400 123456", "+447400123456"),
    ("+64 21 123 4567", "+64211234567"),
    ("+4915112345678", "+4915112345678"),
])
def test_numbers_are_stored_in_their_e164_form(typed, e164):
    assert parse_phone_number(typed) == e164


@pytest.mark.parametrize("typed", [
    None, "", "07400123456",  # no country code: no country to assume
    "+44", "+4474001234567890", "+15551234567",  # too short, too long, a range no one is given
    "+44 74OO 123456", "tel:+447400123456", "+" + "4" * 40,
])
def test_anything_but_a_valid_international_number_is_refused_with_its_code(typed):
    with pytest.raises(InvalidRequest) as refused:
        parse_phone_number(typed)
    assert refused.value.code == "invalid_phone_number"


def test_the_allow_list_names_regions_and_empty_allows_every_country():
    assert region_of("+447400123456") == "GB"
    check_destination("+64211234567", allowed_regions=frozenset())
    check_destination("+4915112345678", allowed_regions=frozenset({"DE", "GB"}))
    with pytest.raises(InvalidRequest) as refused:
        check_destination("+64211234567", allowed_regions=frozenset({"DE", "GB"}))
    assert refused.value.code == "unsupported_country"


def test_the_allow_list_setting_is_read_as_iso_regions():
    assert parse_regions(" de, GB ,") == frozenset({"DE", "GB"})
    assert parse_regions("") == frozenset()
    with pytest.raises(ValueError, match="XX"):
        parse_regions("DE,XX")


def test_a_masked_number_shows_its_country_and_last_four_digits_only():
    assert mask_phone("+447400123456") == "+44 ••• ••• 3456"
    assert mask_phone("+64211234567") == "+64 ••• ••• 4567"


def test_a_twilio_message_goes_from_the_number_or_the_messaging_service():
    by_number = parse_twilio_account(account_sid="AC123", auth_token="t", sender="+15017122661", base_url=None)
    assert by_number.messages_url == "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json"
    assert by_number.form(to="+447400123456", body="Code", whatsapp=False) == {
        "To": "+447400123456", "From": "+15017122661", "Body": "Code"}
    assert by_number.form(to="+447400123456", body="Code", whatsapp=True) == {
        "To": "whatsapp:+447400123456", "From": "whatsapp:+15017122661", "Body": "Code"}
    service = parse_twilio_account(account_sid="AC123", auth_token="t", sender="MG456", base_url="http://127.0.0.1:9/")
    assert service.messages_url == "http://127.0.0.1:9/2010-04-01/Accounts/AC123/Messages.json"
    assert service.form(to="+447400123456", body="Code", whatsapp=False) == {
        "To": "+447400123456", "MessagingServiceSid": "MG456", "Body": "Code"}
    assert "auth_token" not in repr(service)


@pytest.mark.parametrize(("values", "fragment"), [
    ({"account_sid": "123"}, "ACCOUNT_SID"),
    ({"sender": "Tollgate"}, "TOLLGATE_TWILIO_FROM"),
    ({"base_url": "http://twilio.example.com"}, "must use https"),
    ({"base_url": "https://api.twilio.com/2010-04-01"}, "no path"),
])
def test_a_wrong_twilio_setting_says_which(values, fragment):
    account = {"account_sid": "AC123", "auth_token": "t", "sender": "+15017122661", "base_url": None, **values}
    with pytest.raises(ValueError, match=fragment):
        parse_twilio_account(**account)
