"""Email over SMTP (aiosmtplib): STARTTLS or implicit TLS, optional auth, a multipart/alternative
text + HTML body, a stable Message-ID (our notification id, so a resend is recognisable) and
List-Unsubscribe on non-transactional mail."""

from __future__ import annotations

import asyncio
import contextlib
import time
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from notification_service.channels.base import Outgoing, ProviderError


class SmtpProvider:
    channel = "email"

    def __init__(
        self,
        name: str,
        *,
        host: str,
        port: int,
        security: str = "none",
        username: str = "",
        password: str = "",
        timeout: float = 10.0,
        validate_certs: bool = True,
        sender: str,
        message_id_domain: str,
        unsubscribe_url: str = "",
        unsubscribe_mailto: str = "",
        pool_size: int = 10,
        max_idle_seconds: float = 30.0,
    ) -> None:
        self.name = name
        self.host, self.port, self.security = host, port, security
        self.username, self.password = username, password
        self.timeout = timeout
        self.validate_certs = validate_certs
        self.sender = sender
        self.domain = message_id_domain
        self.unsubscribe_url = unsubscribe_url
        self.unsubscribe_mailto = unsubscribe_mailto
        # Reused connections (one SMTP session carries many messages): a new TCP + EHLO (+ TLS
        # + AUTH) per message costs more than the message itself.
        self.pool_size = pool_size
        self.max_idle_seconds = max_idle_seconds
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []

    def build(self, msg: Outgoing) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = msg.recipient
        email["Subject"] = msg.subject
        email["Date"] = formatdate(localtime=False, usegmt=True)
        email["Message-ID"] = f"<{msg.message_id}@{self.domain}>"
        if not msg.transactional:
            targets = []
            if self.unsubscribe_url:
                targets.append(f"<{self.unsubscribe_url}?category={msg.category}>")
            if self.unsubscribe_mailto:
                targets.append(f"<mailto:{self.unsubscribe_mailto}?subject=unsubscribe-{msg.category}>")
            if targets:
                # No List-Unsubscribe-Post (RFC 8058 one-click): that needs an unauthenticated
                # signed-link endpoint, which does not exist yet; the URL is the preferences page.
                email["List-Unsubscribe"] = ", ".join(targets)
        email.set_content(msg.body_text)
        if msg.body_html:
            email.add_alternative(msg.body_html, subtype="html")
        return email

    async def _connect(self) -> aiosmtplib.SMTP:
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            use_tls=self.security == "tls",
            start_tls=True if self.security == "starttls" else False,
            validate_certs=self.validate_certs,
            timeout=self.timeout,
            # EHLO name: without it aiosmtplib calls socket.getfqdn(), a blocking DNS lookup.
            local_hostname=self.domain,
        )
        await client.connect()
        if self.username:
            await client.login(self.username, self.password)
        return client

    async def _checkout(self) -> tuple[aiosmtplib.SMTP, bool]:
        """An idle pooled connection (reused=True) or a new one."""
        now = time.monotonic()
        while self._idle:
            client, since = self._idle.pop()
            if now - since < self.max_idle_seconds and client.is_connected:
                return client, True
            await _close(client)
        return await self._connect(), False

    def _checkin(self, client: aiosmtplib.SMTP) -> None:
        if len(self._idle) < self.pool_size and client.is_connected:
            self._idle.append((client, time.monotonic()))
        else:
            asyncio.ensure_future(_close(client))

    async def send(self, msg: Outgoing) -> str:
        email = self.build(msg)
        try:
            client, reused = await self._checkout()
            try:
                await client.send_message(email)
            except aiosmtplib.SMTPServerDisconnected:
                if not reused:
                    raise
                # The server dropped an idle pooled connection: once more on a fresh one.
                client = await self._connect()
                await client.send_message(email)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise ProviderError("recipient refused", retryable=False, code="recipient_refused") from exc
        except aiosmtplib.SMTPResponseException as exc:
            # 5xx is permanent (bad mailbox, policy); 4xx is a temporary condition.
            raise ProviderError(f"SMTP {exc.code}", retryable=exc.code < 500, code=str(exc.code)) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise ProviderError(type(exc).__name__) from exc
        self._checkin(client)
        return str(email["Message-ID"])

    async def close(self) -> None:
        while self._idle:
            await _close(self._idle.pop()[0])


async def _close(client: aiosmtplib.SMTP) -> None:
    with contextlib.suppress(Exception):
        if client.is_connected:
            await client.quit()
