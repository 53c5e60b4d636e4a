"""Push through the FCM HTTP v1 shape: `POST {base}/v1/projects/{project}/messages:send` with a
Bearer token and `{"message": {"token", "notification": {title, body}, "data"}}`. The
provider-sandbox serves it offline. An `UNREGISTERED` answer means the device token is gone: a
permanent error (the worker deactivates the token)."""

from __future__ import annotations

import httpx

from notification_service.channels.base import Outgoing, ProviderError

UNREGISTERED = "UNREGISTERED"


class FcmProvider:
    channel = "push"

    def __init__(
        self, name: str, *, http: httpx.AsyncClient, base_url: str, project_id: str, access_token: str
    ) -> None:
        self.name = name
        self.http = http
        self.url = f"{base_url.rstrip('/')}/v1/projects/{project_id}/messages:send"
        self.headers = {"Authorization": f"Bearer {access_token}"}

    async def send(self, msg: Outgoing) -> str:
        payload = {
            "message": {
                "token": msg.recipient,
                "notification": {"title": msg.subject, "body": msg.body_text},
                # FCM data values must be strings.
                "data": {str(k): str(v) for k, v in msg.data.items() if v is not None},
            }
        }
        try:
            resp = await self.http.post(self.url, json=payload, headers=self.headers)
        except httpx.HTTPError as exc:
            raise ProviderError(type(exc).__name__) from exc
        try:
            body = resp.json()
        except ValueError:
            body = {}
        if resp.status_code == 200 and isinstance(body, dict) and body.get("name"):
            return str(body["name"])
        error = body.get("error", {}) if isinstance(body, dict) else {}
        codes = [d.get("errorCode") for d in error.get("details", []) if isinstance(d, dict)]
        if UNREGISTERED in codes:
            raise ProviderError("device token unregistered", retryable=False, code=UNREGISTERED)
        permanent = resp.status_code in (400, 403, 404)
        raise ProviderError(
            f"HTTP {resp.status_code}" + (f" {error.get('status')}" if error.get("status") else ""),
            retryable=not permanent,
        )
