"""SMS through the Twilio Messages API shape: `POST {base}/2010-04-01/Accounts/{sid}/Messages.json`
with form fields To/From/Body and HTTP Basic auth (sid:token). The provider-sandbox serves it
offline; a real Twilio account is the same call with `SMS_BASE_URL=https://api.twilio.com`."""

from __future__ import annotations

import httpx

from notification_service.channels.base import Outgoing, ProviderError

# Twilio error codes that will not succeed on retry (invalid/unreachable number, opted out…).
PERMANENT_CODES = {21211, 21214, 21408, 21610, 21612, 21614}


class TwilioProvider:
    channel = "sms"

    def __init__(
        self,
        name: str,
        *,
        http: httpx.AsyncClient,
        base_url: str,
        account_sid: str,
        auth_token: str,
        sender: str,
    ) -> None:
        self.name = name
        self.http = http
        self.url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.auth = httpx.BasicAuth(account_sid, auth_token)
        self.sender = sender

    async def send(self, msg: Outgoing) -> str:
        try:
            resp = await self.http.post(
                self.url,
                data={"To": msg.recipient, "From": self.sender, "Body": msg.body_text},
                auth=self.auth,
            )
        except httpx.HTTPError as exc:
            raise ProviderError(type(exc).__name__) from exc
        body = _json(resp)
        if resp.status_code in (200, 201) and body.get("sid"):
            return str(body["sid"])
        code = body.get("code")
        permanent = (
            400 <= resp.status_code < 500
            and resp.status_code != 429
            and (code in PERMANENT_CODES or resp.status_code in (400, 404))
        )
        raise ProviderError(
            f"HTTP {resp.status_code}" + (f" code {code}" if code else ""),
            retryable=not permanent,
            code=str(code) if code else None,
        )


def _json(resp: httpx.Response) -> dict:
    try:
        value = resp.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
