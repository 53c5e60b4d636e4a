"""Development SMTP sink: an aiosmtpd server that keeps received mail in memory, plus a tiny HTTP
view (JSON list, one message as JSON, its HTML part rendered). Used by `make run` (embedded mode,
where SMTP_HOST/SMTP_PORT default to it) and by the tests.

    python -m notification_service.smtp_sink
    # SMTP on $SMTP_SINK_HOST (else $HOST, 127.0.0.1):$SMTP_SINK_PORT (8025), HTTP view on
    # the same host, $SMTP_SINK_HTTP_PORT (8026):
    #   GET /messages  GET /messages/{id}  GET /messages/{id}/html  DELETE /messages
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import partial
from typing import Any

import uvicorn
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response

from notification_service.settings import Settings
from shared.errors import NotFound, install_error_handlers
from shared.logging import configure_logging, get_logger

log = get_logger(__name__)

# The HTML view shows third-party-controlled markup: no scripts, no remote loads, sandboxed.
HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"


class MessageStore:
    """Received messages, newest last, bounded (oldest dropped)."""

    def __init__(self, max_messages: int = 1000) -> None:
        self.messages: deque[dict[str, Any]] = deque(maxlen=max_messages)
        self._ids = itertools.count(1)
        self._arrived = asyncio.Event()

    def add(self, mail_from: str, rcpt_tos: list[str], raw: bytes) -> dict[str, Any]:
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        text_part = parsed.get_body(("plain",))
        html_part = parsed.get_body(("html",))
        item = {
            "id": next(self._ids),
            "received_at": datetime.now(UTC).isoformat(),
            "mail_from": mail_from,
            "rcpt_tos": list(rcpt_tos),
            "from": str(parsed.get("From", "")),
            "to": str(parsed.get("To", "")),
            "subject": str(parsed.get("Subject", "")),
            "message_id": str(parsed.get("Message-ID", "")),
            "headers": {k: str(v) for k, v in parsed.items()},
            "text": text_part.get_content() if text_part is not None else None,
            "html": html_part.get_content() if html_part is not None else None,
            "size": len(raw),
        }
        self.messages.append(item)
        self._arrived.set()
        return item

    def get(self, message_id: int) -> dict[str, Any] | None:
        return next((m for m in self.messages if m["id"] == message_id), None)

    def clear(self) -> None:
        self.messages.clear()

    async def wait_for(self, count: int, seconds: float = 5.0) -> list[dict[str, Any]]:
        async def wait() -> None:
            while len(self.messages) < count:
                self._arrived.clear()
                await self._arrived.wait()

        await asyncio.wait_for(wait(), seconds)
        return list(self.messages)


class SinkHandler:
    def __init__(self, store: MessageStore) -> None:
        self.store = store

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode()
        self.store.add(str(envelope.mail_from), [str(r) for r in envelope.rcpt_tos], raw)
        return "250 Message accepted for delivery"


@contextlib.asynccontextmanager
async def smtp_server(store: MessageStore, host: str = "127.0.0.1", port: int = 8025) -> AsyncIterator[int]:
    """Run the SMTP side in the current event loop; yields the bound port."""
    loop = asyncio.get_running_loop()
    sessions: list[SMTP] = []
    make = partial(SMTP, SinkHandler(store), hostname="smtp-sink.local", ident="dev SMTP sink")

    def factory() -> SMTP:
        protocol = make()
        sessions.append(protocol)
        return protocol

    server = await loop.create_server(factory, host, port)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        # Clients may keep sessions open (pooled connections); wait_closed() would wait for them.
        for protocol in sessions:
            transport = getattr(protocol, "transport", None)
            if transport is not None:
                transport.close()
        await server.wait_closed()


def http_app(store: MessageStore) -> FastAPI:
    app = FastAPI(title="SMTP sink", docs_url=None, redoc_url=None)
    install_error_handlers(app)

    def _one(message_id: int) -> dict[str, Any]:
        found = store.get(message_id)
        if found is None:
            raise NotFound("No such message.", code="message_not_found")
        return found

    @app.get("/messages")
    async def list_messages() -> list[dict[str, Any]]:
        return [{k: v for k, v in m.items() if k not in ("html", "text", "headers")} for m in store.messages]

    @app.get("/messages/{message_id}")
    async def get_message(message_id: int) -> dict[str, Any]:
        return _one(message_id)

    @app.get("/messages/{message_id}/html")
    async def get_html(message_id: int) -> Response:
        m = _one(message_id)
        if m["html"] is None:
            return Response(m["text"] or "", media_type="text/plain; charset=utf-8")
        return HTMLResponse(m["html"], headers={"Content-Security-Policy": HTML_CSP})

    @app.delete("/messages", status_code=204)
    async def clear() -> None:
        store.clear()

    return app


async def run(settings: Settings) -> None:
    store = MessageStore(settings.smtp_sink_max_messages)
    host = settings.smtp_sink_host or settings.host
    async with smtp_server(store, host, settings.smtp_sink_port) as port:
        log.info("smtp_sink_started", smtp_port=port, http_port=settings.smtp_sink_http_port)
        config = uvicorn.Config(
            http_app(store),
            host=host,
            port=settings.smtp_sink_http_port,
            log_config=None,
            access_log=False,
            server_header=False,
        )
        await uvicorn.Server(config).serve()


def main() -> None:
    settings = Settings()
    configure_logging("smtp-sink", settings.log_level, settings.log_format)
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
