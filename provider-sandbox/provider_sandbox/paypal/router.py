"""PayPal endpoints: Payouts v1 (P.1), webhook certificate, verify-webhook-signature (§1.10), events."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from provider_sandbox.paypal import payouts, render, webhooks
from provider_sandbox.paypal.auth import ClientDep, PayPalError
from provider_sandbox.paypal.signing import CERT_PATH, raw_member
from provider_sandbox.runtime import SandboxDep
from provider_sandbox.state import PayoutItem

router = APIRouter(tags=["paypal"])

NOT_FOUND = "The requested resource ID was not found."


@router.post("/v1/payments/payouts", status_code=201, summary="Create batch payout")
async def create_payout(
    request: Request,
    sb: SandboxDep,
    client_id: ClientDep,
    paypal_request_id: Annotated[str | None, Header()] = None,
    paypal_mock_response: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise PayPalError(415, "UNSUPPORTED_MEDIA_TYPE", "The request payload is not supported.", details=[])
    try:
        body: Any = json.loads(await request.body())
    except ValueError:
        body = None
    status, out = payouts.create(sb, client_id, body, paypal_request_id, paypal_mock_response)
    return JSONResponse(out, status_code=status)


def _batch(sb: SandboxDep, client_id: str, batch_id: str) -> Any:
    batch = sb.state.batches.get(batch_id)
    if batch is None or batch.client_id != client_id:
        raise PayPalError(404, "INVALID_RESOURCE_ID", NOT_FOUND, details=[])
    return batch


def _item(sb: SandboxDep, client_id: str, item_id: str) -> PayoutItem:
    it = sb.state.items.get(item_id)
    if it is None or sb.state.batches[it.payout_batch_id].client_id != client_id:
        raise PayPalError(404, "INVALID_RESOURCE_ID", NOT_FOUND, details=[])
    return it


@router.get("/v1/payments/payouts/{payout_batch_id}", summary="Show payout batch details")
async def show_batch(
    payout_batch_id: str,
    sb: SandboxDep,
    client_id: ClientDep,
    fields: str | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 1000,
    total_required: bool = False,
) -> dict[str, Any]:
    batch = _batch(sb, client_id, payout_batch_id)
    base = sb.settings.sandbox_public_url
    items = [sb.state.items[i] for i in batch.item_ids]
    body: dict[str, Any] = {}
    if total_required:
        body["total_items"] = len(items)
        body["total_pages"] = max(1, -(-len(items) // page_size))
    body["batch_header"] = render.batch_header(batch, items)
    if fields != "batch_header":
        window = items[(page - 1) * page_size : page * page_size]
        body["items"] = [render.item_body(base, it, in_batch=True) for it in window]
    body["links"] = [render.batch_link(base, payout_batch_id)]
    return body


@router.get("/v1/payments/payouts-item/{payout_item_id}", summary="Show payout item details")
async def show_item(payout_item_id: str, sb: SandboxDep, client_id: ClientDep) -> dict[str, Any]:
    return render.item_body(sb.settings.sandbox_public_url, _item(sb, client_id, payout_item_id))


@router.post("/v1/payments/payouts-item/{payout_item_id}/cancel", summary="Cancel unclaimed payout item")
async def cancel_item(payout_item_id: str, sb: SandboxDep, client_id: ClientDep) -> dict[str, Any]:
    it = _item(sb, client_id, payout_item_id)
    await payouts.cancel(sb, it)
    return render.item_body(sb.settings.sandbox_public_url, it)


@router.get(CERT_PATH, summary="The webhook signing certificate (PEM, self-signed)")
async def signing_cert(sb: SandboxDep) -> Response:
    return Response(sb.sig.cert_pem, media_type="application/x-pem-file")


@router.post("/v1/notifications/verify-webhook-signature", summary="Verify a webhook signature")
async def verify_webhook_signature(request: Request, sb: SandboxDep, client_id: ClientDep) -> dict[str, str]:
    text = (await request.body()).decode("utf-8", errors="replace")
    try:
        body = json.loads(text)
        raw_event = raw_member(text, "webhook_event")
    except ValueError:
        body, raw_event = None, None
    required = (
        "auth_algo",
        "cert_url",
        "transmission_id",
        "transmission_sig",
        "transmission_time",
        "webhook_id",
    )
    missing = [k for k in required if not isinstance(body, dict) or not isinstance(body.get(k), str)]
    if raw_event is None or not isinstance(body, dict) or not isinstance(body.get("webhook_event"), dict):
        missing.append("webhook_event")
    if missing:
        raise PayPalError(
            400,
            "VALIDATION_ERROR",
            "Invalid request - see details",
            details=[
                {"field": k, "location": "body", "issue": "MISSING_REQUIRED_PARAMETER"} for k in missing
            ],
        )
    assert isinstance(body, dict) and raw_event is not None
    ok = (
        body["auth_algo"] == "SHA256withRSA"
        and body["cert_url"] == sb.sig.cert_url
        and sb.sig.verify(
            body["transmission_id"],
            body["transmission_time"],
            body["webhook_id"],
            raw_event.encode(),
            body["transmission_sig"],
        )
    )
    return {"verification_status": "SUCCESS" if ok else "FAILURE"}


@router.get("/v1/notifications/webhooks-events/{event_id}", summary="Show event notification details")
async def show_event(event_id: str, sb: SandboxDep, client_id: ClientDep) -> dict[str, Any]:
    event = sb.state.events.get(event_id)
    if event is None:
        raise PayPalError(404, "INVALID_RESOURCE_ID", NOT_FOUND, details=[])
    return event


@router.post("/v1/notifications/webhooks-events/{event_id}/resend", summary="Resend event notification")
async def resend_event(event_id: str, sb: SandboxDep, client_id: ClientDep) -> dict[str, Any]:
    if event_id not in sb.state.events:
        raise PayPalError(404, "INVALID_RESOURCE_ID", NOT_FOUND, details=[])
    await webhooks.redeliver(sb, event_id)
    return sb.state.events[event_id]
