"""The registry of known runtime settings: type, default, bounds, description and owning service.

Values travel as JSON: numbers that are amounts or percentages are exact decimal strings ("2.5"),
never binary floats (ARCHITECTURE §6); integers are JSON integers; booleans are JSON booleans.
A `None` default means "the owning service's own environment value applies".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

SettingType = Literal["string", "number", "boolean", "json", "secret"]

_DECIMAL_RE = re.compile(r"^\d+(\.\d+)?$")
_URL_RE = re.compile(r"^https?://[A-Za-z0-9.\-]+(:\d{1,5})?(/[\w\-./]*)?$")
_HHMM_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MASK = "********"


class SettingValueError(ValueError):
    """A value that does not fit the setting (rendered as 422 `invalid_setting_value`)."""


@dataclass(frozen=True, slots=True)
class SettingDef:
    key: str
    type: SettingType
    description: str
    owner: str  # the service that applies it ("platform": every service may read it)
    default: Any = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    integer: bool = False  # number settings: a JSON integer instead of a decimal string
    max_decimals: int = 4
    max_length: int = 500
    url: bool = False  # string settings: an http(s) URL

    @property
    def secret(self) -> bool:
        return self.type == "secret"

    def validate(self, raw: Any) -> Any:
        """The normalized value, or SettingValueError saying what is wrong (never echoing it)."""
        check = getattr(self, f"_{self.type}")
        return check(raw)

    def _number(self, raw: Any) -> Any:
        if isinstance(raw, bool) or raw is None:
            raise SettingValueError("must be a number")
        if isinstance(raw, float):
            raise SettingValueError("must be an integer or a decimal string (a binary float is not exact)")
        if self.integer:
            if isinstance(raw, str) and raw.strip().isdigit():
                raw = int(raw.strip())
            if not isinstance(raw, int):
                raise SettingValueError("must be an integer")
            value = Decimal(raw)
        else:
            text = str(raw).strip() if isinstance(raw, int | str) else None
            if text is None or not _DECIMAL_RE.match(text):
                raise SettingValueError('must be a non-negative decimal string such as "2.5"')
            try:
                value = Decimal(text)
            except InvalidOperation as exc:  # pragma: no cover - the regex guards
                raise SettingValueError("must be a decimal") from exc
            exp = value.as_tuple().exponent
            if isinstance(exp, int) and -exp > self.max_decimals:
                raise SettingValueError(f"must have at most {self.max_decimals} decimal places")
        if self.minimum is not None and value < self.minimum:
            raise SettingValueError(f"must be at least {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise SettingValueError(f"must be at most {self.maximum}")
        return int(value) if self.integer else f"{value:f}"

    def _boolean(self, raw: Any) -> bool:
        if not isinstance(raw, bool):
            raise SettingValueError("must be true or false")
        return raw

    def _string(self, raw: Any) -> str:
        if not isinstance(raw, str):
            raise SettingValueError("must be a string")
        value = raw.strip()
        if len(value) > self.max_length:
            raise SettingValueError(f"must be at most {self.max_length} characters")
        if self.url and value and not _URL_RE.match(value):
            raise SettingValueError("must be an http(s) URL")
        return value

    def _secret(self, raw: Any) -> str:
        if not isinstance(raw, str) or not raw.strip():
            raise SettingValueError("must be a non-empty string")
        if len(raw) > self.max_length:
            raise SettingValueError(f"must be at most {self.max_length} characters")
        return raw.strip()

    def _json(self, raw: Any) -> Any:
        validator = JSON_VALIDATORS.get(self.key)
        return validator(raw) if validator else raw


def _quiet_hours(raw: Any) -> Any:
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) != {"start", "end"}:
        raise SettingValueError('must be null or {"start": "HH:MM", "end": "HH:MM"}')
    if not all(isinstance(raw[k], str) and _HHMM_RE.match(raw[k]) for k in ("start", "end")):
        raise SettingValueError("start and end must be HH:MM (24 h)")
    return {"start": raw["start"], "end": raw["end"]}


JSON_VALIDATORS = {"notification.quiet_hours": _quiet_hours}

TXN = "transaction-service"
PAY = "payment-service"
FX = "exchange-rate-service"
NOTIF = "notification-service"
USD_MAX = Decimal("1000000")


def _usd(key: str, default: str, text: str) -> SettingDef:
    return SettingDef(key, "number", text, TXN, default, Decimal("1"), USD_MAX, max_decimals=2)


REGISTRY: dict[str, SettingDef] = {
    d.key: d
    for d in (
        SettingDef(
            "transaction.fee_percentage",
            "number",
            "Service fee, % of the BDT amount (fee_bdt = bdt_amount × fee% / 100).",
            TXN,
            "2.0",
            Decimal("0"),
            Decimal("20"),
        ),
        _usd("transaction.min_transaction_usd", "10", "Smallest transaction, USD equivalent."),
        _usd("transaction.max_transaction_usd", "10000", "Largest transaction, USD equivalent."),
        _usd(
            "transaction.daily_limit_usd",
            "5000",
            "Default per-user limit per calendar day (Asia/Dhaka), USD.",
        ),
        _usd("transaction.monthly_limit_usd", "25000", "Default per-user limit per calendar month, USD."),
        _usd("transaction.yearly_limit_usd", "100000", "Default per-user limit per calendar year, USD."),
        SettingDef(
            "transaction.quote_ttl_seconds",
            "number",
            "How long a quote's rate stays locked, seconds.",
            TXN,
            600,
            Decimal("30"),
            Decimal("3600"),
            integer=True,
        ),
        SettingDef(
            "maintenance_mode",
            "boolean",
            "Maintenance mode: new quotes and transactions are refused while on.",
            "platform",
            False,
        ),
        SettingDef(
            "maintenance_message",
            "string",
            "Message shown to users while maintenance mode is on.",
            "platform",
            "",
            max_length=500,
        ),
        SettingDef("notification.email_enabled", "boolean", "Send e-mail notifications.", NOTIF, True),
        SettingDef("notification.sms_enabled", "boolean", "Send SMS notifications.", NOTIF, True),
        SettingDef("notification.push_enabled", "boolean", "Send push notifications.", NOTIF, True),
        SettingDef(
            "notification.quiet_hours",
            "json",
            'Hours without SMS/push ({"start": "22:00", "end": "07:00"}, Asia/Dhaka) or null.',
            NOTIF,
            None,
        ),
        SettingDef("provider.paypal.base_url", "string", "PayPal API base URL.", PAY, None, url=True),
        SettingDef("provider.paypal.client_id", "secret", "PayPal REST app client id.", PAY),
        SettingDef("provider.paypal.client_secret", "secret", "PayPal REST app secret.", PAY),
        SettingDef("provider.sslcommerz.base_url", "string", "SSLCommerz API base URL.", PAY, None, url=True),
        SettingDef("provider.sslcommerz.store_id", "secret", "SSLCommerz store id.", PAY),
        SettingDef("provider.sslcommerz.store_password", "secret", "SSLCommerz store password.", PAY),
        SettingDef("provider.exchange_rate.base_url", "string", "Rate API base URL.", FX, None, url=True),
        SettingDef("provider.exchange_rate.api_key", "secret", "Rate API key.", FX),
    )
}

# Cross-field rules: (lower key, higher key) must satisfy lower ≤ higher.
ORDERED_PAIRS: tuple[tuple[str, str], ...] = (
    ("transaction.min_transaction_usd", "transaction.max_transaction_usd"),
    ("transaction.daily_limit_usd", "transaction.monthly_limit_usd"),
    ("transaction.monthly_limit_usd", "transaction.yearly_limit_usd"),
)


def masked(definition: SettingDef, value: Any) -> Any:
    """What may be shown or published: secrets become a fixed mask (or None when unset)."""
    if definition.secret:
        return MASK if value is not None else None
    return value
