"""The masking rules shared by the log processor and the audit trail, as one table of cases."""

from __future__ import annotations

from typing import Any

import pytest

from shared.masking import (
    MASK,
    Masker,
    MaskingRules,
    iban_ok,
    is_secret_key,
    luhn_ok,
    mask_mapping,
    mask_text,
    mask_value,
)

JWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXBhcnQ"

# (free text in, expected text out)
TEXT_CASES: list[tuple[str, str]] = [
    ("card 4111111111111111 ok", "card 411111******1111 ok"),  # Visa test PAN, Luhn-valid
    ("4111 1111 1111 1111", "411111******1111"),  # grouped by spaces
    ("5500-0000-0000-0004", "550000******0004"),  # grouped by dashes (Mastercard)
    ("amex 3782 822463 10005", "amex 378282*****0005"),  # Amex 4-6-5
    ("order 4111111111111112", "order 4111111111111112"),  # fails Luhn: an id, not a card
    ("ref 1234567812345678", "ref 1234567812345678"),  # not a card prefix
    ("call +8801712345678 now", "call +880********78 now"),  # BD mobile, E.164
    ("01712345678", "017******78"),  # BD mobile, national format
    ("8801912345678", "880********78"),  # BD mobile with 88 and no plus
    ("আমার নম্বর +8801712345678 দয়া করে", "আমার নম্বর +880********78 দয়া করে"),  # Bangla text
    ("ফোন ০১৭১২৩৪৫৬৭৮", "ফোন 017******78"),  # Bangla digits
    ("আমি ভালো আছি, ধন্যবাদ", "আমি ভালো আছি, ধন্যবাদ"),  # Bangla without PII is untouched
    ("mail rahim.uddin@example.com.bd", "mail r***@example.com.bd"),
    ("ইমেইল rahim@example.com", "ইমেইল r***@example.com"),
    ("Authorization: Bearer abcdefghijklmnop", "Authorization: Bearer ***"),
    ("basic dXNlcjpwYXNzd29yZA==", "basic ***"),
    (f"token {JWT}", f"token {MASK}"),  # `token <jwt>`: the JWT goes first
    (f"jwt={JWT};", f"jwt={MASK};"),
    ("IBAN GB82 WEST 1234 5698 7654 32 please", "IBAN GB82**************5432 please"),
    ("BD18BRAC1234567890123456", "BD18BRAC1234567890123456"),  # IBAN-like, bad checksum
    ("DE89370400440532013000", "DE89**************3000"),
    ("postgresql://app:s3cr3t@db:5432/x", "postgresql://app:***@db:5432/x"),
    ("https://cb.test/ipn?token=abc123&id=5", "https://cb.test/ipn?token=***&id=5"),
    ("key sk_live_abcdef1234567890", "key ***"),
    ("TXN-20261126-000123", "TXN-20261126-000123"),  # ids stay readable
    ("2026-11-26T10:00:00+00:00", "2026-11-26T10:00:00+00:00"),
    ("550e8400-e29b-41d4-a716-446655440000", "550e8400-e29b-41d4-a716-446655440000"),
    ("paid 1500.00 BDT", "paid 1500.00 BDT"),
]


@pytest.mark.parametrize(("raw", "expected"), TEXT_CASES, ids=[c[0][:30] for c in TEXT_CASES])
def test_free_text_value_rules(raw: str, expected: str) -> None:
    assert mask_text(raw) == expected


# (field name, value in, expected value out)
FIELD_CASES: list[tuple[str, Any, Any]] = [
    ("password", "hunter2", MASK),
    ("new_password", "hunter2", MASK),
    ("author", "Rabindranath Tagore", "Rabindranath Tagore"),  # whole name parts only
    ("tokenizer_version", "v1", "v1"),
    ("apiKey", "abc", MASK),
    ("X-API-Key", "abc", MASK),
    ("client_secret", "abc", MASK),
    ("refreshToken", "abc", MASK),
    ("authorization", "Bearer abc", MASK),
    ("card_number", "4111111111111111", MASK),
    ("cardNumber", "4111111111111111", MASK),
    ("cvv", "123", MASK),
    ("pin", 1234, MASK),
    ("otp", 123456, MASK),
    ("store_passwd", "x", MASK),
    ("email", "rahim@example.com", "r***@example.com"),
    ("phone", "+8801712345678", "+880********78"),
    ("mobile_number", "01712345678", "017******78"),
    ("full_name", "Rahim Uddin", "R*** U***"),
    ("description", "pay to karim@example.org", "pay to k***@example.org"),
    ("card", 4111111111111111, "411111******1111"),  # number-typed PAN
    ("amount_minor", 150000000, 150000000),
    ("is_admin", True, True),
    ("password_changed", False, False),  # booleans carry no secret
    ("note", None, None),
]


@pytest.mark.parametrize(("key", "value", "expected"), FIELD_CASES, ids=[c[0] for c in FIELD_CASES])
def test_field_name_rules(key: str, value: Any, expected: Any) -> None:
    assert mask_value(key, value) == expected


def test_nested_mappings_and_lists_are_masked_recursively() -> None:
    data = {
        "customer": {"name": "Rahim", "email": "rahim@example.com", "phone": "01712345678"},
        "cards": [{"card_number": "4111111111111111", "brand": "visa"}, "5500000000000004"],
        "headers": {"Authorization": "Bearer abcdefghijk", "User-Agent": "curl/8"},
        "items": [["deep", {"otp": "9999"}]],
    }
    assert mask_mapping(data) == {
        "customer": {"name": "Rahim", "email": "r***@example.com", "phone": "017******78"},
        "cards": [{"card_number": MASK, "brand": "visa"}, "550000******0004"],
        "headers": {"Authorization": MASK, "User-Agent": "curl/8"},
        "items": [["deep", {"otp": MASK}]],
    }


def test_secret_field_holding_a_mapping_is_masked_inside_not_dropped() -> None:
    assert mask_value("credentials", {"user": "u", "password": "p"}) == {"user": "u", "password": MASK}


def test_rules_are_configurable_with_extra_keys_and_patterns() -> None:
    masker = Masker(MaskingRules().with_extra(secret_keys=["bkash_pin"], pii_keys=["nid_number"],
                                              patterns=[r"\bINV-\d{6}\b"]))
    assert masker.mask_value("bkashPin", "1234") == MASK
    assert masker.mask_value("nid_number", "1990123456789") == "199********89"
    assert masker.mask_text("invoice INV-123456") == f"invoice {MASK}"
    # the default masker is unchanged
    assert mask_text("invoice INV-123456") == "invoice INV-123456"


def test_value_rules_can_be_switched_off() -> None:
    masker = Masker(MaskingRules(mask_email=False))
    assert masker.mask_text("a@example.com") == "a@example.com"


def test_helpers() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert luhn_ok("৪১১১১১১১১১১১১১১১")  # Bangla digits
    assert iban_ok("GB82 WEST 1234 5698 7654 32") and not iban_ok("GB00WEST12345698765432")
    assert is_secret_key("Authorization") and not is_secret_key("author")
