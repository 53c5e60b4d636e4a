"""PayPal OAuth2 client-credentials (providers.md §1.2) and PayPal's error dialect (§1.3, P.9)."""

from __future__ import annotations

import base64
import binascii
import secrets
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from provider_sandbox.runtime import Sandbox, SandboxDep, get_sandbox
from provider_sandbox.state import alnum_id, iso, now

PAYOUTS_SCOPE = "https://uri.paypal.com/payments/payouts"
SCOPES = " ".join(
    [
        "https://uri.paypal.com/services/invoicing",
        "https://uri.paypal.com/services/payments/realtimepayment",
        "https://uri.paypal.com/services/applications/webhooks",
        PAYOUTS_SCOPE,
        "https://uri.paypal.com/services/payments/payment/authcapture",
        "openid",
    ]
)
PAYOUTS_ERRORS_LINK = "https://developer.paypal.com/docs/api/payments.payouts-batch/#errors"

router = APIRouter(tags=["paypal"])


class PayPalError(Exception):
    """Rendered as PayPal renders errors: `{name, message, debug_id, information_link, details, links}`
    (or the bare OAuth shape `{error, error_description}` when `oauth` is set)."""

    def __init__(
        self,
        status: int,
        name: str,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        oauth: bool = False,
        links: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(name)
        self.status, self.name, self.message = status, name, message
        self.details, self.oauth, self.links = details, oauth, links

    def body(self, debug_id: str) -> dict[str, Any]:
        if self.oauth:
            return {"error": self.name, "error_description": self.message}
        body: dict[str, Any] = {
            "name": self.name,
            "message": self.message,
            "debug_id": debug_id,
            "information_link": PAYOUTS_ERRORS_LINK,
        }
        if self.details is not None:
            body["details"] = self.details
        body["links"] = self.links or []
        return body


async def _paypal_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PayPalError)
    debug_id = alnum_id(13).lower()
    headers = {"Paypal-Debug-Id": debug_id}
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="PayPal"'
    return JSONResponse(exc.body(debug_id), status_code=exc.status, headers=headers)


def install_paypal_errors(app: FastAPI) -> None:
    app.add_exception_handler(PayPalError, _paypal_error_handler)


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


@router.post("/v1/oauth2/token", summary="OAuth2 client-credentials token")
async def token(request: Request, sb: SandboxDep) -> JSONResponse:
    creds = _basic(request.headers.get("authorization", ""))
    s = sb.settings
    if creds is None or not (
        secrets.compare_digest(creds[0], s.paypal_client_id)
        and secrets.compare_digest(creds[1], s.paypal_client_secret)
    ):
        raise PayPalError(401, "invalid_client", "Client Authentication failed", oauth=True)
    form = dict(parse_qsl((await request.body()).decode("utf-8", errors="replace")))
    if form.get("grant_type") != "client_credentials":
        raise PayPalError(400, "unsupported_grant_type", "Grant Type is NULL", oauth=True)
    access_token = "A21AA" + secrets.token_urlsafe(48)
    issued = now()
    sb.state.tokens[access_token] = (creds[0], issued + timedelta(seconds=s.paypal_token_expires_in))
    return JSONResponse(
        {
            "scope": SCOPES,
            "access_token": access_token,
            "token_type": "Bearer",
            "app_id": "APP-80W284485P519543T",
            "expires_in": s.paypal_token_expires_in,
            "nonce": f"{iso(issued)}{alnum_id(43)}",
        }
    )


def bearer_client(request: Request, sb: Annotated[Sandbox, Depends(get_sandbox)]) -> str:
    """The client id behind a valid bearer token, or PayPal's 401."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise PayPalError(
            401,
            "AUTHENTICATION_FAILURE",
            "Authentication failed due to invalid authentication credentials or a missing Authorization "
            "header.",
        )
    entry = sb.state.tokens.get(value.strip())
    if entry is None or entry[1] <= now():
        raise PayPalError(401, "invalid_token", "Access Token not found in cache", oauth=True)
    return entry[0]


ClientDep = Annotated[str, Depends(bearer_client)]
