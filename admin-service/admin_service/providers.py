"""`POST /api/v1/admin/providers/{provider}/test` (admin): check the stored credentials against
the configured provider (the provider-sandbox offline) without moving money:

- paypal: OAuth2 client-credentials token request (`/v1/oauth2/token`);
- sslcommerz: the transaction query API for a tran_id that does not exist (APIConnect=DONE means
  the store credentials are accepted);
- exchange_rate: the latest-rates call with the API key.

Provider calls use their own HTTP client, which carries no service API key (an internal key must
never reach a third party). The answer says only whether it worked, the HTTP status and latency:
never a token or a secret."""

from __future__ import annotations

import time
from typing import Any, Literal

import httpx
from fastapi import APIRouter, Request

from admin_service import audit
from admin_service.runtime import service as settings_service
from shared.auth import AdminPrincipal
from shared.deps import SessionDep
from shared.errors import problem_responses

router = APIRouter(prefix="/api/v1/admin/providers", tags=["providers"])

Provider = Literal["paypal", "sslcommerz", "exchange_rate"]
TIMEOUT = 10.0


async def _value(session: SessionDep, request: Request, key: str) -> Any:
    return await settings_service.clear_value(session, request.app.state.secret_box, key)


async def _paypal(http: httpx.AsyncClient, base: str, creds: dict[str, Any]) -> tuple[bool, int | None, str]:
    if not (creds["client_id"] and creds["client_secret"]):
        return False, None, "credentials not configured"
    resp = await http.post(
        f"{base}/v1/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(creds["client_id"], creds["client_secret"]),
        timeout=TIMEOUT,
    )
    ok = resp.status_code == 200 and bool((upstream_json(resp) or {}).get("access_token"))
    return ok, resp.status_code, "token issued" if ok else "credentials refused"


async def _sslcommerz(
    http: httpx.AsyncClient, base: str, creds: dict[str, Any]
) -> tuple[bool, int | None, str]:
    if not (creds["store_id"] and creds["store_password"]):
        return False, None, "credentials not configured"
    resp = await http.get(
        f"{base}/validator/api/merchantTransIDvalidationAPI.php",
        params={
            "tran_id": "connection-test",
            "store_id": creds["store_id"],
            "store_passwd": creds["store_password"],
            "format": "json",
        },
        timeout=TIMEOUT,
    )
    body = upstream_json(resp) or {}
    ok = resp.status_code == 200 and body.get("APIConnect") == "DONE"
    return ok, resp.status_code, "store credentials accepted" if ok else "credentials refused"


async def _exchange_rate(
    http: httpx.AsyncClient, base: str, creds: dict[str, Any]
) -> tuple[bool, int | None, str]:
    if not creds["api_key"]:
        return False, None, "credentials not configured"
    resp = await http.get(
        f"{base}/v6/latest/USD",
        headers={"Authorization": f"Bearer {creds['api_key']}"},
        timeout=TIMEOUT,
    )
    ok = resp.status_code == 200 and (upstream_json(resp) or {}).get("result") == "success"
    return ok, resp.status_code, "rates returned" if ok else "key refused"


def upstream_json(resp: httpx.Response) -> dict[str, Any] | None:
    try:
        body = resp.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


CHECKS = {
    "paypal": (_paypal, ("client_id", "client_secret"), "paypal_base_url"),
    "sslcommerz": (_sslcommerz, ("store_id", "store_password"), "sslcommerz_base_url"),
    "exchange_rate": (_exchange_rate, ("api_key",), "exchange_rate_api_url"),
}


@router.post(
    "/{provider}/test", responses=problem_responses(401, 403, 422), summary="Test connection (admin)"
)
async def test_connection(
    provider: Provider, request: Request, admin: AdminPrincipal, session: SessionDep
) -> dict[str, Any]:
    check, fields, env_url = CHECKS[provider]
    creds = {f: await _value(session, request, f"provider.{provider}.{f}") for f in fields}
    base = (await _value(session, request, f"provider.{provider}.base_url")) or getattr(
        request.app.state.settings, env_url
    )
    base = str(base).rstrip("/")
    started = time.monotonic()
    try:
        ok, status, detail = await check(request.app.state.provider_http, base, creds)
    except httpx.HTTPError as exc:
        ok, status, detail = False, None, f"unreachable ({type(exc).__name__})"
    latency = round((time.monotonic() - started) * 1000)
    await audit.record(
        session, "admin.provider_tested", subject_id=provider, by=admin.subject, provider=provider, ok=ok
    )
    return {
        "provider": provider,
        "ok": ok,
        "http_status": status,
        "detail": detail,
        "latency_ms": latency,
        "base_url": base,
    }
