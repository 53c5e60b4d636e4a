"""Small doubles of the notification channels (Twilio Messages, FCM HTTP v1) and ExchangeRate-API v6,
so the platform runs offline. Every call is recorded in `/sandbox/state`.

Test hooks: an FCM token starting with `invalid` → 404 UNREGISTERED; a Twilio `To` of
`+15005550001` (Twilio's own magic "invalid number") → 400 code 21211.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from provider_sandbox.runtime import SandboxDep
from provider_sandbox.settings import parse_pairs
from provider_sandbox.state import iso, now

router = APIRouter(tags=["channels"])


def _twilio_error(status: int, code: int, message: str) -> JSONResponse:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return JSONResponse(body, status_code=status)


@router.post(
    "/2010-04-01/Accounts/{account_sid}/Messages.json", status_code=201, summary="Twilio: send an SMS"
)
async def twilio_send(account_sid: str, request: Request, sb: SandboxDep) -> JSONResponse:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    try:
        user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        user = password = ""
    s = sb.settings
    if (
        scheme.lower() != "basic"
        or user != account_sid
        or not (
            secrets.compare_digest(user, s.twilio_account_sid)
            and secrets.compare_digest(password, s.twilio_auth_token)
        )
    ):
        return _twilio_error(401, 20003, "Authenticate")
    form = dict(parse_qsl((await request.body()).decode("utf-8", errors="replace"), keep_blank_values=True))
    if not form.get("To"):
        return _twilio_error(400, 21604, "A 'To' phone number is required.")
    if not form.get("From") and not form.get("MessagingServiceSid"):
        return _twilio_error(400, 21603, "A 'From' phone number is required.")
    if not form.get("Body") and not form.get("MediaUrl"):
        return _twilio_error(400, 21602, "Message body is required.")
    if form["To"] == "+15005550001":
        return _twilio_error(400, 21211, f"The 'To' number {form['To']} is not a valid phone number.")
    sid = "SM" + secrets.token_hex(16)
    stamp = format_datetime(datetime.now(UTC).replace(microsecond=0), usegmt=True)
    message = {
        "account_sid": account_sid,
        "api_version": "2010-04-01",
        "body": form.get("Body", ""),
        "date_created": stamp,
        "date_sent": None,
        "date_updated": stamp,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": form.get("From"),
        "messaging_service_sid": form.get("MessagingServiceSid"),
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "queued",
        "to": form["To"],
        "subresource_uris": {"media": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}/Media.json"},
        "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
    }
    sb.state.sms.append(message)
    return JSONResponse(message, status_code=201)


def _fcm_error(status: int, state: str, message: str, error_code: str | None = None) -> JSONResponse:
    error: dict[str, Any] = {"code": status, "message": message, "status": state}
    if error_code:
        error["details"] = [
            {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": error_code}
        ]
    return JSONResponse({"error": error}, status_code=status)


@router.post("/v1/projects/{project_id}/messages:send", summary="FCM HTTP v1: send a message")
async def fcm_send(project_id: str, request: Request, sb: SandboxDep) -> JSONResponse:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _fcm_error(401, "UNAUTHENTICATED", "Request is missing required authentication credential.")
    if project_id != sb.settings.fcm_project_id:
        return _fcm_error(404, "NOT_FOUND", "Requested entity was not found.")
    try:
        body = await request.json()
    except ValueError:
        body = None
    message = body.get("message") if isinstance(body, dict) else None
    targets = [k for k in ("token", "topic", "condition") if isinstance(message, dict) and message.get(k)]
    if not isinstance(message, dict) or len(targets) != 1:
        return _fcm_error(
            400,
            "INVALID_ARGUMENT",
            "Exactly one of token, topic or condition is required.",
            "INVALID_ARGUMENT",
        )
    if str(message.get("token", "")).startswith("invalid"):
        return _fcm_error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")
    name = f"projects/{project_id}/messages/0:{secrets.randbelow(10**16)}%{secrets.token_hex(8)}"
    sb.state.push.append({"name": name, "message": message, "at": iso(now())})
    return JSONResponse({"name": name})


def _rates(sb: SandboxDep, base: str) -> dict[str, float] | None:
    bdt_per = parse_pairs(sb.settings.fx_bdt_rates) | {"BDT": Decimal(1)}
    if base not in bdt_per:
        return None
    # ExchangeRate-API sends JSON numbers; clients parse them with Decimal (parse_float).
    return {
        c: float((bdt_per[base] / v).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP))
        for c, v in sorted(bdt_per.items())
    }


def _fx(sb: SandboxDep, key: str, base: str) -> JSONResponse:
    expected = sb.settings.exchangerate_api_key
    valid = secrets.compare_digest(key, expected) if expected else bool(key) and key != "invalid-key"
    sb.state.fx_requests.append({"base": base, "at": iso(now()), "key_ok": valid})
    if not valid:
        return JSONResponse({"result": "error", "error-type": "invalid-key"}, status_code=403)
    rates = _rates(sb, base.upper())
    if rates is None:
        return JSONResponse({"result": "error", "error-type": "unsupported-code"}, status_code=404)
    interval = sb.settings.fx_update_interval_seconds
    last = int(now().timestamp()) // interval * interval
    return JSONResponse(
        {
            "result": "success",
            "documentation": "https://www.exchangerate-api.com/docs",
            "terms_of_use": "https://www.exchangerate-api.com/terms",
            "time_last_update_unix": last,
            "time_last_update_utc": format_datetime(datetime.fromtimestamp(last, UTC), usegmt=True).replace(
                "GMT", "+0000"
            ),
            "time_next_update_unix": last + interval,
            "time_next_update_utc": format_datetime(
                datetime.fromtimestamp(last + interval, UTC), usegmt=True
            ).replace("GMT", "+0000"),
            "base_code": base.upper(),
            "conversion_rates": rates,
        }
    )


@router.get("/v6/latest/{base}", summary="ExchangeRate-API v6: latest rates (key in `Authorization: Bearer`)")
async def fx_latest_bearer(base: str, request: Request, sb: SandboxDep) -> JSONResponse:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    return _fx(sb, key.strip() if scheme.lower() == "bearer" else "", base)


@router.get("/v6/{api_key}/latest/{base}", summary="ExchangeRate-API v6: latest rates (key in the path)")
async def fx_latest(api_key: str, base: str, sb: SandboxDep) -> JSONResponse:
    return _fx(sb, api_key, base)
