"""SSLCommerz v4 client (providers.md §2): session init, validation API, transaction query,
refund initiate/query — plus the IPN `verify_sign` check (§2.5).

Authentication is `store_id` + `store_passwd` in every request (form field or query string), so
URLs are masked before they are recorded. Every call has an explicit timeout; none is retried
here (the session init is not idempotent at SSLCommerz; the others are read-only or keyed by our
`refund_trans_id`, and the callers decide).
"""

from __future__ import annotations

import hashlib
import hmac
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

SESSION_PATH = "/gwprocess/v4/api.php"
VALIDATION_PATH = "/validator/api/validationserverAPI.php"
MERCHANT_TRANS_PATH = "/validator/api/merchantTransIDvalidationAPI.php"

PAID_STATUSES = frozenset({"VALID", "VALIDATED"})


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def compute_verify_sign(fields: Mapping[str, Any], store_password: str) -> str:
    """md5 over `k=v&…` of the keys named in `verify_key` plus `store_passwd=md5(password)`,
    sorted by key, values not URL-encoded; missing or null values count as "" (§2.5)."""
    keys = [k for k in str(fields.get("verify_key") or "").split(",") if k]
    data = {k: "" if fields.get(k) is None else str(fields.get(k)) for k in keys}
    data["store_passwd"] = _md5(store_password)
    return _md5("&".join(f"{k}={data[k]}" for k in sorted(data)))


def verify_sign_ok(fields: Mapping[str, Any], store_password: str) -> bool:
    """True when `verify_sign` matches. `verify_key` is attacker-chosen, so the validation API
    stays the real guarantee; we still insist the key list covers the fields we act on."""
    given = str(fields.get("verify_sign") or "")
    keys = set(str(fields.get("verify_key") or "").split(","))
    if not given or not {"tran_id", "status"} <= keys:
        return False
    if (
        str(fields.get("status", "")).upper() in PAID_STATUSES
        and not {"val_id", "amount", "currency"} <= keys
    ):
        return False
    return hmac.compare_digest(given.lower(), compute_verify_sign(fields, store_password))


class SSLCommerzClient:
    provider = "sslcommerz"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        store_id: str,
        store_password: str,
        timeout: float = 15.0,
        recorder: Recorder = no_recorder,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.store_id = store_id
        self.store_password = store_password
        self.timeout = httpx.Timeout(connect=5.0, read=timeout, write=10.0, pool=5.0)
        self.recorder = recorder

    @property
    def _auth(self) -> dict[str, str]:
        return {"store_id": self.store_id, "store_passwd": self.store_password}

    async def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
        transaction_id: uuid.UUID | None = None,
    ) -> dict[str, Any]:
        url = f"{self.base_url}{path}"
        rec = CallRecord(
            self.provider,
            operation,
            method,
            url,
            request_body=dict(form or params or {}),
            transaction_id=transaction_id,
        )
        watch = Stopwatch()
        try:
            resp = await self.http.request(method, url, params=params, data=form, timeout=self.timeout)
        except httpx.TimeoutException as exc:
            rec.error, rec.duration_ms = "timeout", watch.ms
            await self.recorder(rec)
            raise ProviderTimeout(f"SSLCommerz {operation} timed out") from exc
        except httpx.HTTPError as exc:
            rec.error, rec.duration_ms = type(exc).__name__, watch.ms
            await self.recorder(rec)
            raise ProviderUnavailable(f"SSLCommerz {operation} failed: {type(exc).__name__}") from exc
        rec.url = str(resp.request.url)
        body = json_or_none(resp)
        rec.status_code, rec.response_body, rec.duration_ms = resp.status_code, as_dict(body), watch.ms
        if not isinstance(body, dict):
            rec.error = "non-JSON response"
            rec.response_body = {"_text": resp.text[:300]}
        await self.recorder(rec)
        if resp.status_code >= 500 or resp.status_code == 429 or not isinstance(body, dict):
            raise ProviderUnavailable(
                f"SSLCommerz {operation}: HTTP {resp.status_code}", status_code=resp.status_code
            )
        if resp.status_code >= 400:
            raise ProviderRejected(
                f"SSLCommerz {operation}: HTTP {resp.status_code}", status_code=resp.status_code, body=body
            )
        return body

    async def create_session(
        self, fields: Mapping[str, str], *, transaction_id: uuid.UUID | None = None
    ) -> dict[str, Any]:
        """POST the session form (url-encoded, never multipart — §2.1). Returns the JSON; the
        caller checks `status == SUCCESS` and `GatewayPageURL`."""
        return await self._call(
            "session.create",
            "POST",
            SESSION_PATH,
            form={**self._auth, **fields},
            transaction_id=transaction_id,
        )

    async def validate(self, val_id: str, *, transaction_id: uuid.UUID | None = None) -> dict[str, Any]:
        params = {"val_id": val_id, **self._auth, "v": "1", "format": "json"}
        return await self._call(
            "validation", "GET", VALIDATION_PATH, params=params, transaction_id=transaction_id
        )

    async def query_transaction(
        self, tran_id: str, *, transaction_id: uuid.UUID | None = None
    ) -> dict[str, Any]:
        params = {"tran_id": tran_id, **self._auth, "format": "json"}
        return await self._call(
            "transaction.query", "GET", MERCHANT_TRANS_PATH, params=params, transaction_id=transaction_id
        )

    async def initiate_refund(
        self,
        *,
        bank_tran_id: str,
        refund_amount: str,
        remarks: str,
        refund_trans_id: str,
        transaction_id: uuid.UUID | None = None,
    ) -> dict[str, Any]:
        params = {
            "bank_tran_id": bank_tran_id,
            "refund_amount": refund_amount,
            "refund_remarks": remarks,
            "refund_trans_id": refund_trans_id,
            "refe_id": refund_trans_id,
            **self._auth,
            "v": "1",
            "format": "json",
        }
        return await self._call(
            "refund.initiate", "GET", MERCHANT_TRANS_PATH, params=params, transaction_id=transaction_id
        )

    async def refund_status(
        self, refund_ref_id: str, *, transaction_id: uuid.UUID | None = None
    ) -> dict[str, Any]:
        params = {"refund_ref_id": refund_ref_id, **self._auth, "format": "json"}
        return await self._call(
            "refund.query", "GET", MERCHANT_TRANS_PATH, params=params, transaction_id=transaction_id
        )
