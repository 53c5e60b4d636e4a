"""Provider payloads as recorded/documented (providers.md §2.3–§2.8, P.3–P.8): the bodies the
fakes answer with. Field names, value shapes and status values follow the providers' docs."""

from __future__ import annotations

import hashlib
from typing import Any

STORE_ID = "testbox"
STORE_PASSWORD = "qwerty"

# SSLCommerz-Python README test vector (§2.5): store password test_testemi@ssl.
README_VECTOR_PASSWORD = "test_testemi@ssl"
README_VECTOR: dict[str, str] = {
    "tran_id": "5E121A0D01F92",
    "val_id": "200105225826116qFnATY9sHIwo",
    "amount": "10.00",
    "card_type": "VISA-Dutch Bangla",
    "store_amount": "9.75",
    "card_no": "418117XXXXXX6675",
    "bank_tran_id": "200105225825DBgSoRGLvczhFjj",
    "status": "VALID",
    "tran_date": "2020-01-05 22:58:21",
    "currency": "BDT",
    "card_issuer": "TRUST BANK, LTD.",
    "card_brand": "VISA",
    "card_issuer_country": "Bangladesh",
    "card_issuer_country_code": "BD",
    "store_id": "test_testemi",
    "verify_sign": "d42fab70ae0bcbda5280e7baffef60b0",
    "verify_key": "amount,bank_tran_id,base_fair,card_brand,card_issuer,card_issuer_country,"
    "card_issuer_country_code,"
    "card_no,card_type,currency,currency_amount,currency_rate,currency_type,risk_level,risk_title,status,"
    "store_amount,store_id,tran_date,tran_id,val_id,value_a,value_b,value_c,value_d",
    "verify_sign_sha2": "02c0417ff467c109006382d56eedccecd68382e47245266e7b47abbb3d43976e",
    "currency_type": "BDT",
    "currency_amount": "10.00",
    "currency_rate": "1.0000",
    "base_fair": "0.00",
    "value_a": "",
    "value_b": "",
    "value_c": "",
    "value_d": "",
    "risk_level": "0",
    "risk_title": "Safe",
}


def sign(fields: dict[str, str], password: str = STORE_PASSWORD) -> dict[str, str]:
    """Sign like SSLCommerz does (independent of the code under test): verify_key = the sorted
    field names, verify_sign = md5 of sorted k=v pairs plus md5(password)."""
    out = {k: v for k, v in fields.items() if k not in ("verify_sign", "verify_key")}
    out["verify_key"] = ",".join(sorted(out))
    data = dict(out)
    data.pop("verify_key")
    data["store_passwd"] = hashlib.md5(password.encode(), usedforsecurity=False).hexdigest()
    text = "&".join(f"{k}={data[k]}" for k in sorted(data))
    out["verify_sign"] = hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()
    return out


def ipn_valid(
    tran_id: str,
    amount: str,
    *,
    val_id: str = "2611261200001AbCdEf",
    risk_level: str = "0",
    currency: str = "BDT",
) -> dict[str, str]:
    return sign(
        {
            "status": "VALID",
            "tran_date": "2026-11-26 18:00:01",
            "tran_id": tran_id,
            "val_id": val_id,
            "amount": amount,
            "store_amount": amount,
            "currency": currency,
            "bank_tran_id": f"BT{val_id}",
            "card_type": "VISA-Dutch Bangla",
            "card_no": "418117XXXXXX6675",
            "card_issuer": "TRUST BANK, LTD.",
            "card_brand": "VISA",
            "card_issuer_country": "Bangladesh",
            "card_issuer_country_code": "BD",
            "store_id": STORE_ID,
            "currency_type": currency,
            "currency_amount": amount,
            "currency_rate": "1.0000",
            "base_fair": "0.00",
            "value_a": "",
            "value_b": "",
            "value_c": "",
            "value_d": "",
            "risk_level": risk_level,
            "risk_title": "Safe" if risk_level == "0" else "Risky",
        }
    )


def ipn_failed(tran_id: str, status: str = "FAILED", error: str = "Declined by bank") -> dict[str, str]:
    return sign(
        {
            "status": status,
            "tran_date": "2026-11-26 18:00:01",
            "tran_id": tran_id,
            "amount": "0.00",
            "currency": "BDT",
            "bank_tran_id": "",
            "error": error,
            "store_id": STORE_ID,
            "value_a": "",
            "value_b": "",
            "value_c": "",
            "value_d": "",
        }
    )


def session_success(sessionkey: str = "A8EF93B75B8107E4F36049E80B4F9149") -> dict[str, Any]:
    return {
        "status": "SUCCESS",
        "failedreason": "",
        "sessionkey": sessionkey,
        "gw": {
            "visa": "dbbl_visa,brac_visa",
            "master": "",
            "amex": "",
            "othercards": "",
            "internetbanking": "",
            "mobilebanking": "bkash",
        },
        "redirectGatewayURL": "",
        "directPaymentURLBank": "",
        "directPaymentURLCard": "",
        "directPaymentURL": "",
        "redirectGatewayURLFailed": "",
        "GatewayPageURL": f"https://sandbox.sslcommerz.com/EasyCheckOut/testcde{sessionkey.lower()}",
        "storeBanner": "",
        "storeLogo": "",
        "desc": [],
        "is_direct_pay_enable": "0",
    }


def validation(
    tran_id: str,
    amount: str,
    *,
    val_id: str,
    status: str = "VALID",
    currency: str = "BDT",
    risk_level: str = "0",
) -> dict[str, Any]:
    if status == "INVALID_TRANSACTION":
        return {"status": "INVALID_TRANSACTION", "APIConnect": "DONE"}
    return {
        "status": status,
        "tran_date": "2026-11-26 18:00:01",
        "tran_id": tran_id,
        "val_id": val_id,
        "amount": amount,
        "store_amount": amount,
        "currency": currency,
        "bank_tran_id": f"BT{val_id}",
        "card_type": "VISA-Dutch Bangla",
        "card_no": "418117XXXXXX6675",
        "card_issuer": "TRUST BANK, LTD.",
        "card_brand": "VISA",
        "card_issuer_country": "Bangladesh",
        "card_issuer_country_code": "BD",
        "currency_type": currency,
        "currency_amount": amount,
        "currency_rate": "1.0000",
        "base_fair": "0.00",
        "value_a": "",
        "value_b": "",
        "value_c": "",
        "value_d": "",
        "emi_instalment": "0",
        "emi_amount": "0.00",
        "risk_level": risk_level,
        "risk_title": "Safe" if risk_level == "0" else "Risky",
        "APIConnect": "DONE",
        "validated_on": "2026-11-26 18:00:05",
        "gw_version": "",
    }


def query(tran_id: str, elements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "APIConnect": "DONE",
        "no_of_trans_found": len(elements),
        "element": [{"tran_id": tran_id, "bank_gw": "", "error": "", **e} for e in elements],
    }


def refund_initiated(bank_tran_id: str, refund_ref_id: str = "59bd63fea5455") -> dict[str, Any]:
    return {
        "APIConnect": "DONE",
        "bank_tran_id": bank_tran_id,
        "trans_id": "",
        "refund_ref_id": refund_ref_id,
        "status": "success",
        "errorReason": "",
    }


def refund_status(refund_ref_id: str, status: str) -> dict[str, Any]:
    return {
        "APIConnect": "DONE",
        "bank_tran_id": "BT",
        "tran_id": "",
        "refund_ref_id": refund_ref_id,
        "initiated_on": "2026-11-26 18:10:00",
        "refunded_on": "2026-11-26 18:20:00" if status == "refunded" else "",
        "status": status,
        "errorReason": "",
    }


# -- PayPal ----------------------------------------------------------------------------------------
def token(value: str = "A21AAFtok", expires_in: int = 32400) -> dict[str, Any]:
    return {
        "scope": "https://uri.paypal.com/services/payments/payouts https://uri.paypal.com/payments/payouts",
        "access_token": value,
        "token_type": "Bearer",
        "app_id": "APP-80W284485P519543T",
        "expires_in": expires_in,
        "nonce": "2026-11-26T18:00:00Zabc",
    }


def payout_created(batch_id: str, sender_batch_id: str) -> dict[str, Any]:
    return {
        "batch_header": {
            "payout_batch_id": batch_id,
            "batch_status": "PENDING",
            "sender_batch_header": {
                "sender_batch_id": sender_batch_id,
                "email_subject": "You have received a payment",
            },
        },
        "links": [
            {
                "href": f"https://api.sandbox.paypal.com/v1/payments/payouts/{batch_id}",
                "rel": "self",
                "method": "GET",
                "encType": "application/json",
            }
        ],
    }


def duplicate_batch(batch_id: str) -> dict[str, Any]:
    """P.4 [PLUTOV]: note the singular, nested `link`."""
    return {
        "name": "USER_BUSINESS_ERROR",
        "message": "User business error.",
        "debug_id": "f4a8c2a4e2f2b",
        "information_link": "https://developer.paypal.com/docs/api/payments.payouts-batch/#errors",
        "details": [
            {
                "field": "SENDER_BATCH_ID",
                "issue": "Batch with given sender_batch_id already exists",
                "link": [
                    {
                        "href": f"https://api.sandbox.paypal.com/v1/payments/payouts/{batch_id}",
                        "rel": "self",
                        "method": "GET",
                    }
                ],
            }
        ],
    }


def payout_item(
    item_id: str,
    batch_id: str,
    sender_batch_id: str,
    status: str,
    *,
    value: str = "100.00",
    currency: str = "USD",
    receiver: str = "alice@example.com",
    error_name: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "payout_item_id": item_id,
        "transaction_id": "3W7548016W5573915",
        "activity_id": "0E158638XS0329101",
        "transaction_status": status,
        "payout_item_fee": {"currency": currency, "value": "0.00"},
        "payout_batch_id": batch_id,
        "sender_batch_id": sender_batch_id,
        "payout_item": {
            "recipient_type": "EMAIL",
            "amount": {"currency": currency, "value": value},
            "note": "Remittance",
            "receiver": receiver,
            "sender_item_id": sender_batch_id,
            "recipient_wallet": "PAYPAL",
        },
        "time_processed": "2026-11-26T18:05:00Z",
        "links": [
            {
                "href": f"https://api.sandbox.paypal.com/v1/payments/payouts-item/{item_id}",
                "rel": "self",
                "method": "GET",
                "encType": "application/json",
            }
        ],
    }
    if error_name:
        body["errors"] = {
            "name": error_name,
            "message": error_name.replace("_", " ").lower(),
            "information_link": "https://developer.paypal.com/docs/api/payments.payouts-batch/#errors",
            "details": [],
            "links": [],
        }
    return body


def payout_batch(
    batch_id: str, sender_batch_id: str, batch_status: str, item: dict[str, Any]
) -> dict[str, Any]:
    listed = {k: v for k, v in item.items() if k != "sender_batch_id"}
    return {
        "batch_header": {
            "payout_batch_id": batch_id,
            "batch_status": batch_status,
            "time_created": "2026-11-26T18:00:00Z",
            "sender_batch_header": {"sender_batch_id": sender_batch_id},
            "funding_source": "BALANCE",
            "amount": item["payout_item"]["amount"],
            "fees": {"currency": item["payout_item"]["amount"]["currency"], "value": "0.00"},
        },
        "items": [listed],
        "links": [
            {
                "href": f"https://api.sandbox.paypal.com/v1/payments/payouts/{batch_id}",
                "rel": "self",
                "method": "GET",
            }
        ],
    }


def item_event(event_id: str, event_type: str, item: dict[str, Any]) -> dict[str, Any]:
    """PAYMENT.PAYOUTS-ITEM.* envelope (§1.9, P.8): the resource is the item minus `errors`."""
    resource = {k: v for k, v in item.items() if k not in ("errors", "sender_batch_id")}
    return {
        "id": event_id,
        "event_version": "1.0",
        "create_time": "2026-11-26T18:05:10.000Z",
        "resource_type": "payouts_item",
        "event_type": event_type,
        "summary": "A payout item has changed",
        "resource": resource,
        "links": [
            {
                "href": f"https://api.sandbox.paypal.com/v1/notifications/webhooks-events/{event_id}",
                "rel": "self",
                "method": "GET",
            }
        ],
    }


def batch_event(event_id: str, event_type: str, batch: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": event_id,
        "event_version": "1.0",
        "create_time": "2026-11-26T18:05:10.000Z",
        "resource_type": "payouts",
        "event_type": event_type,
        "summary": "Payouts batch changed",
        "resource": {"batch_header": batch["batch_header"], "links": batch["links"]},
        "links": [],
    }
