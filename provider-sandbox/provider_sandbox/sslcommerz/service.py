"""SSLCommerz behaviour (providers.md §2.2–§2.10): sessions, completion + IPN, validation, query.

Amounts are `Decimal` with 2 places, rendered as strings (`"10.00"`) as SSLCommerz does.
"""

from __future__ import annotations

import secrets
from datetime import timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from urllib.parse import urlencode

from provider_sandbox.faults import Fault
from provider_sandbox.runtime import Sandbox
from provider_sandbox.settings import parse_pairs
from provider_sandbox.sslcommerz.signing import sign
from provider_sandbox.state import Delivery, SslSession, alnum_id, now

DHAKA = timezone(timedelta(hours=6))  # tran_date is Bangladesh local time
CENT = Decimal("0.01")
MIN_AMOUNT, MAX_AMOUNT = Decimal("10.00"), Decimal("500000.00")
CREDENTIAL_ERROR = "Store Credential Error Or Store is De-active"
MANDATORY = (
    "total_amount",
    "currency",
    "tran_id",
    "success_url",
    "fail_url",
    "cancel_url",
    "cus_name",
    "cus_email",
    "cus_phone",
    "cus_add1",
    "cus_city",
    "cus_country",
    "shipping_method",
    "product_name",
    "product_category",
    "product_profile",
)
OUTCOMES = {
    "success": "VALID",
    "fail": "FAILED",
    "cancel": "CANCELLED",
    "VALID": "VALID",
    "FAILED": "FAILED",
    "CANCELLED": "CANCELLED",
    "UNATTEMPTED": "UNATTEMPTED",
    "EXPIRED": "EXPIRED",
}
CARD = {
    "card_type": "VISA-Dutch Bangla",
    "card_no": "418117XXXXXX6675",
    "card_issuer": "TRUST BANK, LTD.",
    "card_brand": "VISA",
    "card_issuer_country": "Bangladesh",
    "card_issuer_country_code": "BD",
}
NO_CARD = dict.fromkeys(CARD, "")
ERRORS = {
    "FAILED": "Transaction declined by the card issuer",
    "CANCELLED": "Cancelled by User",
    "UNATTEMPTED": "Customer did not choose a payment channel",
    "EXPIRED": "Session expired",
}


class SessionStateError(Exception):
    pass


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def credentials_ok(sb: Sandbox, params: dict[str, str]) -> bool:
    s = sb.settings
    return secrets.compare_digest(
        params.get("store_id", ""), s.sslcommerz_store_id
    ) and secrets.compare_digest(params.get("store_passwd", ""), s.sslcommerz_store_password)


def failed(reason: str) -> dict[str, object]:
    return {
        "status": "FAILED",
        "failedreason": reason,
        "sessionkey": "",
        "gw": [],
        "GatewayPageURL": "",
        "storeBanner": "",
        "storeLogo": "",
        "desc": [],
        "is_direct_pay_enable": "0",
    }


def init_session(sb: Sandbox, form: dict[str, str]) -> dict[str, object]:
    if not credentials_ok(sb, form):
        return failed(CREDENTIAL_ERROR)
    missing = [k for k in MANDATORY if not form.get(k, "").strip()]
    if missing:
        return failed(f"Invalid Information: {missing[0]} is missing")
    try:
        amount = Decimal(form["total_amount"])
    except InvalidOperation:
        return failed("Invalid Information: total_amount is not a number")
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]
        return failed("Invalid Information: total_amount allows at most 2 decimal places")
    currency = form["currency"].upper()
    rates = parse_pairs(sb.settings.sslcommerz_fx_rates) | {"BDT": Decimal("1")}
    if currency not in rates:
        return failed(f"Invalid Information: currency {currency} is not supported")
    bdt = (amount * rates[currency]).quantize(CENT, rounding=ROUND_HALF_UP)
    if not MIN_AMOUNT <= bdt <= MAX_AMOUNT:
        return failed("Invalid Information: total_amount must be between 10.00 and 500000.00 BDT")
    tran_id = form["tran_id"]
    if len(tran_id) > 30:
        return failed("Invalid Information: tran_id is longer than 30 characters")
    if sb.settings.sslcommerz_duplicate_tran_id == "reject" and any(
        s.tran_id == tran_id for s in sb.state.sessions.values()
    ):
        return failed("Duplicate tran_id")
    key = secrets.token_hex(16).upper()
    fields = {k: v for k, v in form.items() if k not in ("store_id", "store_passwd")}
    sb.state.sessions[key] = SslSession(
        sessionkey=key,
        tran_id=tran_id,
        amount=bdt,
        currency_type=currency,
        currency_amount=amount,
        currency_rate=rates[currency],
        fields=fields,
    )
    base = sb.settings.sandbox_public_url
    page = f"{base}/sslcommerz/pay/{key}"
    return {
        "status": "SUCCESS",
        "failedreason": "",
        "sessionkey": key,
        "gw": {
            "visa": "dbbl_visa,ebl_visa",
            "master": "dbbl_master,ebl_master",
            "amex": "amexcard",
            "othercards": "",
            "internetbanking": "city,bankasia",
            "mobilebanking": "bkash,nagad",
        },
        "redirectGatewayURL": f"{page}?gw=",
        "directPaymentURLBank": "",
        "directPaymentURLCard": "",
        "directPaymentURL": "",
        "redirectGatewayURLFailed": f"{page}?failed=1",
        "GatewayPageURL": page,
        "storeBanner": "",
        "storeLogo": "",
        "store_name": "Sandbox Store",
        "desc": [],
        "is_direct_pay_enable": "0",
    }


def _ids() -> tuple[str, str]:
    stamp = now().astimezone(DHAKA).strftime("%y%m%d%H%M%S")
    val_id = f"{stamp}{secrets.randbelow(1000):03d}{alnum_id(12)}"
    return val_id, f"{stamp}{alnum_id(15)}"


def build_ipn(sb: Sandbox, s: SslSession) -> dict[str, str]:
    """The signed IPN / browser-POST fields for a completed session (§2.4)."""
    paid = s.paid_amount if s.paid_amount is not None else s.amount
    fields = {
        "status": s.status,
        "tran_date": s.tran_date,
        "tran_id": s.tran_id,
        "amount": money(paid),
        "currency": s.paid_currency,
        "store_id": sb.settings.sslcommerz_store_id,
        "currency_type": s.currency_type,
        "currency_amount": money(s.currency_amount),
        "currency_rate": f"{s.currency_rate:.4f}",
        "base_fair": "0.00",
        **{k: s.fields.get(k, "") for k in ("value_a", "value_b", "value_c", "value_d")},
    }
    if s.status == "VALID":
        fee = paid * sb.settings.sslcommerz_fee_percent / 100
        fields |= {
            "val_id": s.val_id,
            "bank_tran_id": s.bank_tran_id,
            "store_amount": money(paid - fee),
            **CARD,
            "risk_level": str(s.risk_level),
            "risk_title": "Safe" if s.risk_level == 0 else "Risky",
        }
    else:
        fields |= {"bank_tran_id": "", "error": ERRORS[s.status], **NO_CARD}
    return sign(fields, sb.settings.sslcommerz_store_password)


def redirect_url(s: SslSession) -> str:
    key = {"VALID": "success_url", "CANCELLED": "cancel_url"}.get(s.status, "fail_url")
    return s.fields.get(key, "")


async def complete(
    sb: Sandbox,
    s: SslSession,
    outcome: str,
    *,
    risk_level: int = 0,
    amount: Decimal | None = None,
    currency: str | None = None,
    deliver_ipn: bool = True,
    fault: Fault | None = None,
) -> dict[str, object]:
    if s.status != "PENDING":
        raise SessionStateError(f"session already completed with status {s.status}")
    s.status = OUTCOMES[outcome]
    s.tran_date = now().astimezone(DHAKA).strftime("%Y-%m-%d %H:%M:%S")
    s.risk_level = risk_level
    s.paid_amount = amount
    s.paid_currency = (currency or "BDT").upper()
    if s.status == "VALID":
        s.val_id, s.bank_tran_id = _ids()
        sb.state.sessions_by_val_id[s.val_id] = s.sessionkey
    s.ipn_fields = build_ipn(sb, s)
    ipn = await send_ipn(sb, s, deliver=deliver_ipn, fault=fault or Fault())
    return {
        "tran_id": s.tran_id,
        "val_id": s.val_id or None,
        "status": s.status,
        "redirect_url": redirect_url(s),
        "sessionkey": s.sessionkey,
        "ipn": ipn,
        "fields": s.ipn_fields,
    }


async def send_ipn(sb: Sandbox, s: SslSession, *, deliver: bool, fault: Fault) -> dict[str, object]:
    fault = fault.merge(sb.faults.take("@ipn", "POST"))
    url = s.fields.get("ipn_url") or sb.settings.sslcommerz_default_ipn_url
    if not deliver or "suppress" in fault.ipn:
        return {"url": url, "sent": False, "reason": "suppressed"}
    headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "SSLCommerz-IPN/4.0"}
    late = fault.ipn_delay_ms / 1000 if "late" in fault.ipn else 0.0
    copies = 2 if "duplicate" in fault.ipn else 1
    deliveries = []
    for _ in range(copies):
        d = Delivery(
            kind="sslcommerz_ipn",
            url=url,
            body=urlencode(s.ipn_fields),
            headers=headers,
            ref=s.tran_id,
            event_type=s.status,
        )
        await sb.out.deliver(
            d, max_attempts=sb.settings.sslcommerz_ipn_max_attempts, base_delay=0.5, delay=late
        )
        deliveries.append(d)
    first = deliveries[0]
    return {
        "url": url,
        "sent": not late,
        "scheduled": bool(late),
        "copies": copies,
        "status_code": first.attempts[-1].get("status") if first.attempts else None,
    }


def _txn(s: SslSession) -> dict[str, object]:
    f = s.ipn_fields
    status = s.status
    if status == "VALID" and s.validations:
        status = "VALIDATED"
    out: dict[str, object] = {
        k: f.get(k, "")
        for k in (
            "tran_date",
            "tran_id",
            "val_id",
            "amount",
            "store_amount",
            "currency",
            "bank_tran_id",
            "card_type",
            "card_no",
            "card_issuer",
            "card_brand",
            "card_issuer_country",
            "card_issuer_country_code",
            "currency_type",
            "currency_amount",
            "currency_rate",
            "base_fair",
            "value_a",
            "value_b",
            "value_c",
            "value_d",
            "risk_level",
            "risk_title",
            "error",
        )
    }
    if not f:
        out |= {
            "tran_id": s.tran_id,
            "amount": money(s.amount),
            "currency": "BDT",
            "currency_type": s.currency_type,
            "currency_amount": money(s.currency_amount),
        }
    out |= {
        "status": status,
        "validated_on": s.validated_on,
        "bank_gw": "dbbl_visa" if s.status == "VALID" else "",
        "emi_instalment": "0",
        "emi_amount": "0.00",
        "discount_amount": "0.00",
        "discount_percentage": "0",
        "discount_remarks": "",
        "account_details": "",
        "gw_version": "",
        "APIConnect": "DONE",
    }
    return out


def validate(sb: Sandbox, params: dict[str, str]) -> dict[str, object]:
    key = sb.state.sessions_by_val_id.get(params.get("val_id", ""))
    if not credentials_ok(sb, params) or key is None:
        return {"status": "INVALID_TRANSACTION", "APIConnect": "DONE"}
    s = sb.state.sessions[key]
    first = s.validations == 0
    s.validations += 1
    if first:
        s.validated_on = now().astimezone(DHAKA).strftime("%Y-%m-%d %H:%M:%S")
    body = _txn(s)
    body["status"] = "VALID" if first else "VALIDATED"
    return body


def lookup(sb: Sandbox, params: dict[str, str]) -> dict[str, object]:
    """Transaction query (§2.7): by `sessionkey` → one flat transaction; by `tran_id` → every attempt."""
    if params.get("sessionkey"):
        s = sb.state.sessions.get(params["sessionkey"])
        if s is None:
            return {"APIConnect": "DONE", "status": "INVALID", "sessionkey": params["sessionkey"]}
        return {**_txn(s), "sessionkey": s.sessionkey}
    if params.get("tran_id"):
        found = [_txn(s) for s in sb.state.sessions.values() if s.tran_id == params["tran_id"]]
        if not found:
            return {
                "APIConnect": "DONE",
                "no_of_trans_found": 0,
                "element": [{"tran_id": params["tran_id"], "status": "INVALID"}],
            }
        return {"APIConnect": "DONE", "no_of_trans_found": len(found), "element": found}
    return {"APIConnect": "INVALID_REQUEST"}
