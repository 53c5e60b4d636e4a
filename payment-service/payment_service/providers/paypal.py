"""PayPal REST client for Payouts v1 and webhook verification (providers.md §1.2, §1.10, P.1–P.9).

OAuth2 client-credentials: the token is cached and refreshed `skew` seconds before PayPal says it
expires; concurrent callers share one refresh (an `asyncio.Lock`), and a 401 on an API call drops
the token, refreshes once and retries once.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

import httpx

from payment_service.providers.base import (
    CallRecord,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
    Recorder,
    Stopwatch,
    as_dict,
    json_or_none,
    no_recorder,
)

TOKEN_PATH = "/v1/oauth2/token"
PAYOUTS_PATH = "/v1/payments/payouts"
PAYOUT_ITEM_PATH = "/v1/payments/payouts-item"
VERIFY_SIGNATURE_PATH = "/v1/notifications/verify-webhook-signature"

# PayPal's own exponents (§1.12): these take no decimals at PayPal whatever ISO 4217 says.
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "HUF", "TWD"})


def paypal_exponent(currency: str) -> int:
    return 0 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 2


class PayPalClient:
    provider = "paypal"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        timeout: float = 20.0,
        token_skew: float = 120.0,
        recorder: Recorder = no_recorder,
        clock: Any = time.monotonic,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.timeout = httpx.Timeout(connect=5.0, read=timeout, write=10.0, pool=5.0)
        self.token_skew = token_skew
        self.recorder = recorder
        self.clock = clock
        self._token: str | None = None
        self._token_expires_at = 0.0
        self._lock = asyncio.Lock()
        self.token_fetches = 0  # observability (and tests)

    # -- OAuth ------------------------------------------------------------------------------------
    def _token_fresh(self) -> bool:
        return self._token is not None and self.clock() < self._token_expires_at

    async def access_token(self) -> str:
        if self._token_fresh():
            assert self._token is not None
            return self._token
        async with self._lock:  # single flight: the first caller refreshes, the others reuse it
            if self._token_fresh():
                assert self._token is not None
                return self._token
            body = await self._fetch_token()
            expires_in = float(body.get("expires_in") or 0)
            # Never hard-code the lifetime; refresh `skew` early (but keep short tokens usable).
            skew = min(self.token_skew, expires_in / 2)
            self._token = str(body["access_token"])
            self._token_expires_at = self.clock() + expires_in - skew
            return self._token

    def invalidate_token(self) -> None:
        self._token = None
        self._token_expires_at = 0.0

    async def _fetch_token(self) -> dict[str, Any]:
        url = f"{self.base_url}{TOKEN_PATH}"
        rec = CallRecord(
            self.provider, "oauth.token", "POST", url, request_body={"grant_type": "client_credentials"}
        )
        watch = Stopwatch()
        self.token_fetches += 1
        try:
            resp = await self.http.post(
                url,
                data={"grant_type": "client_credentials"},
                auth=(self.client_id, self.client_secret),
                headers={"Accept": "application/json"},
                timeout=self.timeout,
            )
        except httpx.TimeoutException as exc:
            rec.error, rec.duration_ms = "timeout", watch.ms
            await self.recorder(rec)
            raise ProviderTimeout("PayPal token request timed out") from exc
        except httpx.HTTPError as exc:
            rec.error, rec.duration_ms = type(exc).__name__, watch.ms
            await self.recorder(rec)
            raise ProviderUnavailable(f"PayPal token request failed: {type(exc).__name__}") from exc
        body = json_or_none(resp)
        rec.status_code, rec.duration_ms = resp.status_code, watch.ms
        rec.response_body = (
            {k: v for k, v in (body or {}).items() if k != "access_token"} if isinstance(body, dict) else None
        )
        await self.recorder(rec)
        if resp.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
            cls = ProviderRejected if 400 <= resp.status_code < 500 else ProviderUnavailable
            raise cls(
                f"PayPal token request: HTTP {resp.status_code}", status_code=resp.status_code, body=body
            )
        return body

    # -- API calls ----------------------------------------------------------------------------------
    async def _api(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        transaction_id: uuid.UUID | None = None,
        record_body: dict[str, Any] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """(status, JSON body) for 2xx and 4xx answers; raises for no answer, 5xx and 429."""
        url = f"{self.base_url}{path}"
        for attempt in (1, 2):
            token = await self.access_token()
            hdrs = {
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                **(headers or {}),
            }
            rec = CallRecord(
                self.provider,
                operation,
                method,
                url,
                request_body=record_body if record_body is not None else as_dict(json_body),
                transaction_id=transaction_id,
            )
            watch = Stopwatch()
            try:
                if content is not None:
                    resp = await self.http.request(
                        method, url, content=content, headers=hdrs, timeout=self.timeout
                    )
                else:
                    resp = await self.http.request(
                        method, url, json=json_body, headers=hdrs, timeout=self.timeout
                    )
            except httpx.TimeoutException as exc:
                rec.error, rec.duration_ms = "timeout", watch.ms
                await self.recorder(rec)
                raise ProviderTimeout(f"PayPal {operation} timed out") from exc
            except httpx.HTTPError as exc:
                rec.error, rec.duration_ms = type(exc).__name__, watch.ms
                await self.recorder(rec)
                raise ProviderUnavailable(f"PayPal {operation} failed: {type(exc).__name__}") from exc
            body = json_or_none(resp)
            rec.status_code, rec.response_body, rec.duration_ms = resp.status_code, as_dict(body), watch.ms
            debug_id = resp.headers.get("paypal-debug-id")
            if debug_id:
                rec.error = f"debug_id={debug_id}" if resp.status_code >= 400 else None
            await self.recorder(rec)
            if resp.status_code == 401 and attempt == 1:
                # Expired or revoked token (either error shape, §1.2): refresh once, retry once.
                self.invalidate_token()
                continue
            if resp.status_code >= 500 or resp.status_code == 429:
                raise ProviderUnavailable(
                    f"PayPal {operation}: HTTP {resp.status_code}", status_code=resp.status_code, body=body
                )
            if not isinstance(body, dict):
                raise ProviderUnavailable(
                    f"PayPal {operation}: non-JSON answer", status_code=resp.status_code
                )
            return resp.status_code, body
        raise ProviderRejected(f"PayPal {operation}: unauthorized", status_code=401)  # pragma: no cover

    async def create_payout(
        self, body: dict[str, Any], *, transaction_id: uuid.UUID | None = None
    ) -> tuple[int, dict[str, Any]]:
        """POST /v1/payments/payouts. `PayPal-Request-Id` = sender_batch_id (secondary key, P.4)."""
        request_id = body["sender_batch_header"]["sender_batch_id"]
        return await self._api(
            "payouts.create",
            "POST",
            PAYOUTS_PATH,
            json_body=body,
            headers={"PayPal-Request-Id": request_id},
            transaction_id=transaction_id,
        )

    async def get_batch(
        self, payout_batch_id: str, *, transaction_id: uuid.UUID | None = None
    ) -> dict[str, Any]:
        status, body = await self._api(
            "payouts.get_batch",
            "GET",
            f"{PAYOUTS_PATH}/{_safe_id(payout_batch_id)}",
            transaction_id=transaction_id,
        )
        if status != 200:
            raise ProviderRejected(f"PayPal get batch: HTTP {status}", status_code=status, body=body)
        return body

    async def get_item(
        self, payout_item_id: str, *, transaction_id: uuid.UUID | None = None
    ) -> dict[str, Any]:
        status, body = await self._api(
            "payouts.get_item",
            "GET",
            f"{PAYOUT_ITEM_PATH}/{_safe_id(payout_item_id)}",
            transaction_id=transaction_id,
        )
        if status != 200:
            raise ProviderRejected(f"PayPal get item: HTTP {status}", status_code=status, body=body)
        return body

    async def verify_webhook_signature(
        self, headers: Mapping[str, str], raw_body: bytes, webhook_id: str
    ) -> bool:
        """Postback check (§1.10). The event is spliced in as the raw bytes PayPal sent: a
        re-serialised event (other key order or spacing) would never verify."""
        fields = {
            "auth_algo": headers.get("paypal-auth-algo", ""),
            "cert_url": headers.get("paypal-cert-url", ""),
            "transmission_id": headers.get("paypal-transmission-id", ""),
            "transmission_sig": headers.get("paypal-transmission-sig", ""),
            "transmission_time": headers.get("paypal-transmission-time", ""),
            "webhook_id": webhook_id,
        }
        prefix = json.dumps(fields)[:-1]
        content = prefix.encode() + b', "webhook_event": ' + raw_body.strip() + b"}"
        status, body = await self._api(
            "webhook.verify_signature",
            "POST",
            VERIFY_SIGNATURE_PATH,
            content=content,
            record_body={**fields, "webhook_event": "(raw body)"},
        )
        return status == 200 and body.get("verification_status") == "SUCCESS"


def _safe_id(value: str) -> str:
    """Provider ids go into URL paths: letters, digits, '-' and '_' only."""
    if not value or not all(c.isalnum() or c in "-_" for c in value) or len(value) > 64:
        raise ValueError("invalid provider id")
    return value
