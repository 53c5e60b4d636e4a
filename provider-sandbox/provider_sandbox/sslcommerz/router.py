"""SSLCommerz endpoints (provider dialect: always HTTP 200 JSON, errors in `status`/`APIConnect`)
and the hosted payment page a person clicks in a browser."""

from __future__ import annotations

import html
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from provider_sandbox.runtime import FaultDep, SandboxDep
from provider_sandbox.sslcommerz import refunds, service

router = APIRouter(tags=["sslcommerz"])


async def form_fields(request: Request) -> dict[str, str] | None:
    """URL-encoded body → dict; None for multipart (SSLCommerz rejects it, providers.md §2.1)."""
    if request.headers.get("content-type", "").startswith("multipart/"):
        return None
    body = (await request.body()).decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True))


@router.post("/gwprocess/v4/api.php", summary="Create a payment session (form-urlencoded)")
async def create_session(request: Request, sb: SandboxDep) -> JSONResponse:
    form = await form_fields(request)
    if form is None:
        return JSONResponse(service.failed(service.CREDENTIAL_ERROR))
    return JSONResponse(service.init_session(sb, form))


async def _params(request: Request) -> dict[str, str]:
    """Validator calls are GET with a query string (official libs); the Node lib POSTs — accept both."""
    params = dict(request.query_params)
    if request.method == "POST":
        params |= await form_fields(request) or {}
    return params


VALIDATION_PATH = "/validator/api/validationserverAPI.php"
QUERY_PATH = "/validator/api/merchantTransIDvalidationAPI.php"
QUERY_SUMMARY = "Transaction query (tran_id / sessionkey), refund initiate, refund status"


@router.get(VALIDATION_PATH, summary="Order validation")
@router.post(VALIDATION_PATH, summary="Order validation (POST form)", operation_id="validation_api_post")
async def validation_api(request: Request, sb: SandboxDep) -> JSONResponse:
    return JSONResponse(service.validate(sb, await _params(request)))


@router.get(QUERY_PATH, summary=QUERY_SUMMARY)
@router.post(QUERY_PATH, summary=QUERY_SUMMARY + " (POST form)", operation_id="merchant_trans_api_post")
async def merchant_trans_api(request: Request, sb: SandboxDep) -> JSONResponse:
    """One path, dispatched by which parameters are present (providers.md §2.10)."""
    params = await _params(request)
    if not service.credentials_ok(sb, params):
        return JSONResponse({"APIConnect": "INVALID_REQUEST"})
    if params.get("refund_ref_id"):
        return JSONResponse(refunds.status(sb, params["refund_ref_id"]))
    if params.get("bank_tran_id") and params.get("refund_amount"):
        return JSONResponse(refunds.initiate(sb, params))
    return JSONResponse(service.lookup(sb, params))


@router.get("/EasyCheckOut/{token}", include_in_schema=False)
async def easy_checkout(token: str) -> RedirectResponse:
    """The real sandbox's GatewayPageURL shape (`testcde` + lower-case sessionkey) → our page."""
    return RedirectResponse(f"/sslcommerz/pay/{token.removeprefix('testcde').upper()}", status_code=302)


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>SSLCommerz sandbox payment</title>
<style>body{{font-family:sans-serif;max-width:32rem;margin:3rem auto}}
button{{font-size:1.1rem;margin:.3rem;padding:.5rem 1.2rem}}
.pay{{background:#1a7f37;color:#fff}}.fail{{background:#b42318;color:#fff}}</style></head>
<body><h1>SSLCommerz sandbox</h1>
<p>Transaction <code>{tran_id}</code> for <strong>{amount} BDT</strong>{original}</p>
<p>Status: <strong id="status">{status}</strong></p>
{buttons}
<p><small>Offline double: no card data is asked for or stored.</small></p></body></html>"""

BUTTONS = """<form method="post"><input type="hidden" name="outcome" value="success">
<button class="pay" type="submit">Pay</button></form>
<form method="post"><input type="hidden" name="outcome" value="fail">
<button class="fail" type="submit">Fail</button></form>
<form method="post"><input type="hidden" name="outcome" value="cancel">
<button type="submit">Cancel</button></form>"""

RETURN = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Returning to the merchant</title></head>
<body onload="document.forms[0].submit()"><p>Payment {status}. Returning to the merchant…</p>
<form method="post" action="{action}">{inputs}
<noscript><button type="submit">Continue</button></noscript></form>
</body></html>"""


@router.get("/sslcommerz/pay/{sessionkey}", response_class=HTMLResponse, summary="Hosted payment page")
async def payment_page(sessionkey: str, sb: SandboxDep) -> HTMLResponse:
    s = sb.state.sessions.get(sessionkey)
    if s is None:
        return HTMLResponse("<h1>Invalid or expired session</h1>", status_code=404)
    original = "" if s.currency_type == "BDT" else f" ({s.currency_amount} {html.escape(s.currency_type)})"
    return HTMLResponse(
        PAGE.format(
            tran_id=html.escape(s.tran_id),
            amount=service.money(s.amount),
            original=original,
            status=html.escape(s.status),
            buttons=BUTTONS if s.status == "PENDING" else "",
        )
    )


@router.post("/sslcommerz/pay/{sessionkey}", response_class=HTMLResponse, include_in_schema=False)
async def payment_page_submit(
    sessionkey: str, request: Request, sb: SandboxDep, fault: FaultDep
) -> HTMLResponse:
    """A button on the page: complete the session (IPN first), then POST the buyer back to the merchant."""
    s = sb.state.sessions.get(sessionkey)
    if s is None:
        return HTMLResponse("<h1>Invalid or expired session</h1>", status_code=404)
    outcome = ((await form_fields(request)) or {}).get("outcome", "")
    if outcome not in ("success", "fail", "cancel"):
        return HTMLResponse("<h1>Unknown outcome</h1>", status_code=400)
    try:
        result = await service.complete(sb, s, outcome, fault=fault)
    except service.SessionStateError:
        return await payment_page(sessionkey, sb)
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in s.ipn_fields.items()
    )
    return HTMLResponse(
        RETURN.format(
            status=html.escape(str(result["status"])),
            action=html.escape(str(result["redirect_url"])),
            inputs=inputs,
        )
    )
