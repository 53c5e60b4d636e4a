"""Masking of secrets and personal data before anything is logged.

Key rules match whole name parts (`api_key`, `X-API-Key`, `refresh_token`) so that e.g. `author`
or `tokenizer_version` is not mistaken for a secret. Value rules catch bearer tokens and JWTs,
card numbers, e-mail addresses and phone numbers wherever they appear in free text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MASK = "***"

# Name parts that make a field secret (compared against the split, lower-cased name).
SECRET_PARTS = frozenset(
    {
        "password", "passwd", "pwd", "secret", "token", "apikey", "authorization", "auth",
        "cookie", "signature", "sig", "pin", "cvv", "cvc", "otp", "pan", "credential",
        "credentials", "privatekey", "hash", "passphrase",
    }
)
SECRET_COMPOUNDS = ("api_key", "private_key", "access_key", "client_secret", "card_number", "store_passwd")
PII_PARTS = frozenset({"email", "phone", "mobile", "msisdn"})

_SPLIT = re.compile(r"[^a-z0-9]+|(?<=[a-z])(?=[A-Z])")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_EMAIL = re.compile(r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")
_PAN = re.compile(r"\b(?:\d[ -]?){13,19}\b")
_PHONE = re.compile(r"(?<![\w+])\+?\d{8,15}\b")


def _parts(name: str) -> list[str]:
    return [p for p in _SPLIT.split(name.strip()) if p] if name else []


def is_secret_key(name: str) -> bool:
    lowered = name.lower().replace("-", "_")
    if any(c in lowered for c in SECRET_COMPOUNDS):
        return True
    parts = [p.lower() for p in _parts(name)]
    return any(p in SECRET_PARTS for p in parts) or "".join(parts) in SECRET_PARTS


def is_pii_key(name: str) -> bool:
    return any(p.lower() in PII_PARTS for p in _parts(name))


def luhn_ok(digits: str) -> bool:
    total, alt = 0, False
    for ch in reversed(digits):
        d = ord(ch) - 48
        if alt:
            d *= 2
            if d > 9:
                d -= 9
        total += d
        alt = not alt
    return total % 10 == 0


def mask_email(value: str) -> str:
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", value)


def mask_phone(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    if len(digits) < 6:
        return MASK
    return ("+" if value.strip().startswith("+") else "") + digits[:3] + "*" * (len(digits) - 5) + digits[-2:]


def _mask_pan(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if 13 <= len(digits) <= 19 and luhn_ok(digits):
        return f"{digits[:6]}{'*' * (len(digits) - 10)}{digits[-4:]}"
    return match.group(0)


def mask_text(value: str) -> str:
    """Value rules for free text."""
    value = _JWT.sub(MASK, value)
    value = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", value)
    value = _PAN.sub(_mask_pan, value)
    value = mask_email(value)
    return value


def mask_value(key: str, value: Any) -> Any:
    if value is None:
        return None
    if is_secret_key(key) and not isinstance(value, Mapping | list | tuple):
        return MASK
    if isinstance(value, Mapping):
        return mask_mapping(value)
    if isinstance(value, list | tuple):
        return [mask_value(key, v) for v in value]
    if isinstance(value, str):
        if is_pii_key(key):
            return mask_email(value) if "@" in value else mask_phone(value)
        return mask_text(value)
    return value


def mask_mapping(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: mask_value(str(k), v) for k, v in data.items()}
