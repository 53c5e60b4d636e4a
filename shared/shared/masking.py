"""Masking of secrets and personal data: one rule set for the log processor and the audit trail.

Key rules match whole name parts (`api_key`, `X-API-Key`, `refreshToken`, `card_number`) so that
e.g. `author` or `tokenizer_version` is not mistaken for a secret; a secret-named field loses its
whole value (`***`), a PII-named field (email, phone, name) is partially masked. Value rules catch,
wherever they appear in free text (any script, e.g. Bangla): JWTs, bearer/basic credentials,
passwords in URLs, secret query parameters, provider API keys, card numbers that pass the Luhn
check (→ first 6 / last 4), IBANs that pass the mod-97 check (→ country+check digits / last 4),
e-mail addresses and phone numbers (E.164 `+…` and Bangladesh `01XXXXXXXXX` / `+8801XXXXXXXXX`).

`Masker(MaskingRules(...))` builds a configured masker; the module functions use `DEFAULT_MASKER`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

MASK = "***"

# Name parts that make a field secret (compared against the split, lower-cased name, and against
# the concatenation of adjacent parts, so `apiKey`, `api_key` and `x-api-key` all match `apikey`).
SECRET_PARTS = frozenset(
    {
        "password", "passwd", "pwd", "secret", "token", "apikey", "authorization", "auth",
        "cookie", "signature", "sig", "pin", "cvv", "cvc", "cvv2", "otp", "pan", "credential",
        "credentials", "privatekey", "hash", "passphrase", "accesskey", "clientsecret", "cardnumber",
        "cardno", "ccnumber", "ccnum", "storepasswd", "sealed", "setcookie", "sessionkey", "totp",
        "mfacode", "securitycode", "verifykey", "verifysign",
    }
)
# Kept for callers that read it; compound names are matched through adjacent parts now.
SECRET_COMPOUNDS = ("api_key", "private_key", "access_key", "client_secret", "card_number", "store_passwd")
PII_PARTS = frozenset(
    {
        "email", "phone", "mobile", "msisdn", "fullname", "firstname", "lastname", "nid",
        "customername", "holdername", "cardholder", "cardholdername", "recipientname", "accountname",
    }
)

_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}")
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s/]+@")
_QUERY_PARAM = re.compile(r"([?&;])([A-Za-z0-9_.\-\[\]]+)=([^&;#\s]+)")
_PROVIDER_KEY = re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{8,}\b")
_EMAIL = re.compile(r"(?<![\w.%+-])([\w.%+-])[\w.%+-]*@([\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,})\b")
# 13–19 contiguous digits, or the printed groupings (4-4-4-4[-1..7], Amex 4-6-5).
_PAN = re.compile(
    r"(?<![\w-])(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{1,7}|\d{4}([ -])\d{6}\2\d{5})(?![\w-])"
)
# IBAN: two letters, two check digits, 11–30 alphanumerics, contiguous or in groups of four.
_IBAN = re.compile(r"\b[A-Z]{2}[0-9]{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)\b")
# Phones: Bangladesh mobile (with or without +88/88) and any E.164 number with a leading +.
_PHONE_TEXT = re.compile(
    r"(?<![\w+])(?:(?:\+|00)?[8৮][8৮][ -]?)?[0০][1১][3-9৩-৯]\d(?:[ -]?\d){7}(?![\w])"
    r"|(?<![\w+])\+\d(?:[ -]?\d){7,14}(?![\w])"
)


def _parts(name: str) -> list[str]:
    return [p for p in _SPLIT.split(name.strip()) if p] if name else []


def _to_ascii_digits(value: str) -> str:
    """Digits only, as ASCII (Bangla and other Unicode digits converted)."""
    return "".join(str(unicodedata.digit(ch)) for ch in value if ch.isdigit())


def luhn_ok(digits: str) -> bool:
    digits = _to_ascii_digits(digits)
    if not digits:
        return False
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


def iban_ok(value: str) -> bool:
    """ISO 13616 mod-97 check of an IBAN (spaces ignored)."""
    s = value.replace(" ", "").upper()
    if not (15 <= len(s) <= 34) or not s[:2].isalpha() or not s[2:4].isdigit() or not s.isalnum():
        return False
    rearranged = s[4:] + s[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def mask_pan_digits(digits: str) -> str:
    """First 6 / last 4 of a card number (PCI DSS 3.4 display rule)."""
    return f"{digits[:6]}{'*' * (len(digits) - 10)}{digits[-4:]}"


def mask_email(value: str) -> str:
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", value)


def mask_phone(value: str) -> str:
    """`+8801712345678` → `+880********78`: country/operator prefix and last two digits kept."""
    digits = _to_ascii_digits(value)
    if len(digits) < 6:
        return MASK
    return ("+" if value.strip().startswith("+") else "") + digits[:3] + "*" * (len(digits) - 5) + digits[-2:]


def mask_name(value: str) -> str:
    """`Rahim Uddin` → `R*** U***` (initials kept)."""
    words = value.split()
    return " ".join(f"{w[0]}***" for w in words) if words else value


@dataclass(frozen=True)
class MaskingRules:
    """What is masked. Extend with `with_extra()`; switch value rules off for special cases."""

    secret_parts: frozenset[str] = SECRET_PARTS
    pii_parts: frozenset[str] = PII_PARTS
    mask_jwt: bool = True
    mask_bearer: bool = True
    mask_url_credentials: bool = True
    mask_pan: bool = True
    mask_iban: bool = True
    iban_checksum: bool = True  # only mod-97-valid IBANs (keeps ids like `AB12CDEF…` readable)
    mask_email: bool = True
    mask_phone: bool = True
    extra_patterns: tuple[re.Pattern[str], ...] = field(default_factory=tuple)  # replaced by MASK

    def with_extra(
        self,
        *,
        secret_keys: Iterable[str] = (),
        pii_keys: Iterable[str] = (),
        patterns: Iterable[str] = (),
    ) -> MaskingRules:
        norm = lambda names: frozenset("".join(_parts(n)).lower() for n in names if n.strip())  # noqa: E731
        return replace(
            self,
            secret_parts=self.secret_parts | norm(secret_keys),
            pii_parts=self.pii_parts | norm(pii_keys),
            extra_patterns=self.extra_patterns + tuple(re.compile(p) for p in patterns if p),
        )


class Masker:
    """Applies `MaskingRules` to names, free text and nested JSON-like values."""

    def __init__(self, rules: MaskingRules | None = None) -> None:
        self.rules = rules or MaskingRules()

    # --- key rules ---------------------------------------------------------------------------

    def _matches(self, name: str, vocabulary: frozenset[str]) -> bool:
        parts = [p.lower() for p in _parts(name)]
        if not parts:
            return False
        if any(p in vocabulary for p in parts) or "".join(parts) in vocabulary:
            return True
        return any(a + b in vocabulary for a, b in zip(parts, parts[1:], strict=False))

    def is_secret_key(self, name: str) -> bool:
        return self._matches(name, self.rules.secret_parts)

    def is_pii_key(self, name: str) -> bool:
        return self._matches(name, self.rules.pii_parts)

    # --- value rules -------------------------------------------------------------------------

    def _pan(self, m: re.Match[str]) -> str:
        digits = _to_ascii_digits(m.group(0))
        # Card numbers start with 2–6 (Mastercard 2-series … Discover/UnionPay 6).
        if 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_ok(digits):
            return mask_pan_digits(digits)
        return m.group(0)

    def _iban(self, m: re.Match[str]) -> str:
        raw = m.group(0)
        if self.rules.iban_checksum and not iban_ok(raw):
            return raw
        compact = raw.replace(" ", "")
        return compact[:4] + "*" * (len(compact) - 8) + compact[-4:]

    def _query(self, m: re.Match[str]) -> str:
        if self.is_secret_key(m.group(2)):
            return f"{m.group(1)}{m.group(2)}={MASK}"
        return m.group(0)

    def mask_text(self, value: str) -> str:
        r = self.rules
        if r.mask_jwt:
            value = _JWT.sub(MASK, value)
        if r.mask_bearer:
            value = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", value)
            value = _PROVIDER_KEY.sub(MASK, value)
        if r.mask_url_credentials:
            value = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}@", value)
            if "=" in value:
                value = _QUERY_PARAM.sub(self._query, value)
        if r.mask_pan:
            value = _PAN.sub(self._pan, value)
        if r.mask_iban:
            value = _IBAN.sub(self._iban, value)
        if r.mask_email and "@" in value:
            value = mask_email(value)
        if r.mask_phone:
            value = _PHONE_TEXT.sub(lambda m: mask_phone(m.group(0)), value)
        for pattern in r.extra_patterns:
            value = pattern.sub(MASK, value)
        return value

    def _mask_pii(self, key: str, value: str) -> str:
        if "@" in value:
            return mask_email(value)
        lowered = "".join(_parts(key)).lower()
        if any(p in lowered for p in ("name",)):
            return mask_name(value)
        if any(ch.isdigit() for ch in value):
            return mask_phone(value)
        return MASK

    def mask_value(self, key: str, value: Any) -> Any:
        if value is None or isinstance(value, bool):
            return value
        if self.is_secret_key(key) and not isinstance(value, Mapping | list | tuple | set | frozenset):
            return MASK
        if isinstance(value, Mapping):
            return self.mask_mapping(value)
        if isinstance(value, list | tuple | set | frozenset):
            return [self.mask_value(key, v) for v in value]
        if isinstance(value, str):
            if self.is_pii_key(key):
                return self._mask_pii(key, value)
            return self.mask_text(value)
        if isinstance(value, int) and not isinstance(value, bool) and len(str(abs(value))) >= 8:
            # A number-typed PAN or phone is still a PAN or phone.
            masked = self.mask_value(key, str(value))
            return value if masked == str(value) else masked
        return value

    def mask_mapping(self, data: Mapping[Any, Any]) -> dict[str, Any]:
        return {str(k): self.mask_value(str(k), v) for k, v in data.items()}


DEFAULT_MASKER = Masker()


def is_secret_key(name: str) -> bool:
    return DEFAULT_MASKER.is_secret_key(name)


def is_pii_key(name: str) -> bool:
    return DEFAULT_MASKER.is_pii_key(name)


def mask_text(value: str) -> str:
    """Value rules for free text."""
    return DEFAULT_MASKER.mask_text(value)


def mask_value(key: str, value: Any) -> Any:
    return DEFAULT_MASKER.mask_value(key, value)


def mask_mapping(data: Mapping[Any, Any]) -> dict[str, Any]:
    return DEFAULT_MASKER.mask_mapping(data)
