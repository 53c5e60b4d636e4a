"""In-memory state of every simulated provider (the sandbox has no database: a restart forgets all).

One `SandboxState` per app, kept on `app.state.sandbox`. Records are plain dataclasses so
`GET /sandbox/state` can dump them as JSON.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

_UPPER_ALNUM = string.ascii_uppercase + string.digits
_ALNUM = string.ascii_letters + string.digits


def now() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime) -> str:
    """RFC 3339 UTC with a `Z`, second precision, as PayPal renders times."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def upper_id(length: int) -> str:
    """PayPal-style id: upper-case letters and digits (batch/item ids 13, transaction ids 17)."""
    return "".join(secrets.choice(_UPPER_ALNUM) for _ in range(length))


def alnum_id(length: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


@dataclass
class Delivery:
    """One outbound notification (SSLCommerz IPN or PayPal webhook) and its delivery attempts."""

    kind: str  # "sslcommerz_ipn" | "paypal_webhook"
    url: str
    body: str
    headers: dict[str, str]
    ref: str  # tran_id / event id
    event_type: str = ""
    attempts: list[dict[str, Any]] = field(default_factory=list)
    delivered: bool = False
    created_at: datetime = field(default_factory=now)


@dataclass
class SslSession:
    sessionkey: str
    tran_id: str
    amount: Decimal  # BDT charged to the buyer (converted when the session currency is not BDT)
    currency_type: str  # currency the merchant asked for
    currency_amount: Decimal
    currency_rate: Decimal
    fields: dict[str, str]  # the session request minus credentials
    status: str = "PENDING"  # PENDING → VALID | FAILED | CANCELLED | UNATTEMPTED | EXPIRED
    val_id: str = ""
    bank_tran_id: str = ""
    tran_date: str = ""
    risk_level: int = 0
    paid_amount: Decimal | None = None  # what the IPN reports (override for mismatch tests)
    paid_currency: str = "BDT"
    validations: int = 0
    validated_on: str = ""
    refunded_amount: Decimal = Decimal("0")
    ipn_fields: dict[str, str] = field(default_factory=dict)
    created_at: datetime = field(default_factory=now)


@dataclass
class SslRefund:
    refund_ref_id: str
    bank_tran_id: str
    tran_id: str
    amount: Decimal
    refund_trans_id: str
    remarks: str
    status: str = "processing"  # processing → refunded | cancelled
    polls: int = 0
    initiated_on: str = ""
    refunded_on: str = ""


@dataclass
class PayoutItem:
    payout_item_id: str
    payout_batch_id: str
    sender_batch_id: str
    recipient_type: str
    amount: Decimal
    currency: str
    receiver: str
    note: str | None
    sender_item_id: str | None
    recipient_wallet: str
    purpose: str | None
    transaction_status: str = "PENDING"
    transaction_id: str = ""
    activity_id: str = ""
    fee: Decimal = Decimal("0")
    time_processed: datetime | None = None
    error_name: str | None = None
    held: bool = True  # amount + fee still reserved on the balance


@dataclass
class PayoutBatch:
    payout_batch_id: str
    client_id: str
    sender_batch_header: dict[str, Any]
    item_ids: list[str]
    batch_status: str = "PENDING"
    time_created: datetime = field(default_factory=now)
    time_completed: datetime | None = None
    time_closed: datetime | None = None
    fees_set: bool = False
    events: list[str] = field(default_factory=list)  # ids of webhook events emitted for it


@dataclass
class SandboxState:
    sessions: dict[str, SslSession] = field(default_factory=dict)  # by sessionkey
    sessions_by_val_id: dict[str, str] = field(default_factory=dict)
    refunds: dict[str, SslRefund] = field(default_factory=dict)  # by refund_ref_id
    tokens: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # token → (client_id, expires)
    batches: dict[str, PayoutBatch] = field(default_factory=dict)
    items: dict[str, PayoutItem] = field(default_factory=dict)
    sender_batch_ids: dict[tuple[str, str], str] = field(default_factory=dict)
    request_ids: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    balances: dict[str, Decimal] = field(default_factory=dict)  # available, after holds
    events: dict[str, dict[str, Any]] = field(default_factory=dict)  # PayPal events by id
    deliveries: list[Delivery] = field(default_factory=list)
    sms: list[dict[str, Any]] = field(default_factory=list)
    push: list[dict[str, Any]] = field(default_factory=list)
    fx_requests: list[dict[str, Any]] = field(default_factory=list)

    def snapshot(self) -> dict[str, Any]:
        """Everything, JSON-ready (Decimals as strings, times as RFC 3339)."""
        return {
            "sessions": [plain(s) for s in self.sessions.values()],
            "refunds": [plain(r) for r in self.refunds.values()],
            "payouts": [
                {**plain(b), "items": [plain(self.items[i]) for i in b.item_ids]}
                for b in self.batches.values()
            ],
            "balances": {k: str(v) for k, v in self.balances.items()},
            "ipns_sent": [plain(d) for d in self.deliveries if d.kind == "sslcommerz_ipn"],
            "webhooks_sent": [plain(d) for d in self.deliveries if d.kind == "paypal_webhook"],
            "sms": self.sms,
            "push": self.push,
            "fx_requests": self.fx_requests,
            "oauth_tokens_issued": len(self.tokens),
        }


def plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return plain(asdict(value))
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return iso(value)
    return value
