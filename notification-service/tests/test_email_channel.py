"""The SMTP adapter against real aiosmtpd servers: STARTTLS + AUTH when configured, multipart
text/HTML with a stable Message-ID, and pooled connections that survive a server restart."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ssl
import uuid
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from notification_service.channels.base import Outgoing, ProviderError
from notification_service.channels.email import SmtpProvider
from notification_service.smtp_sink import MessageStore, SinkHandler, smtp_server
from shared.devstack import free_port


def _tls_context(tmp: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )
    (tmp / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "k.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tmp / "c.pem", tmp / "k.pem")
    return ctx


def _authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"mailer",
        b"s3cret",
    )
    return AuthResult(success=ok, handled=False)


@contextlib.asynccontextmanager
async def secure_server(store: MessageStore, ctx: ssl.SSLContext) -> AsyncIterator[int]:
    loop = asyncio.get_running_loop()
    factory = partial(
        SMTP,
        SinkHandler(store),
        tls_context=ctx,
        require_starttls=True,
        authenticator=_authenticator,
        auth_require_tls=True,
        auth_required=True,
    )
    server = await loop.create_server(factory, "127.0.0.1", free_port())
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


def _msg() -> Outgoing:
    return Outgoing(str(uuid.uuid4()), "email", "to@example.com", "Subject", "plain <b>", "<p>html</p>")


def _provider(port: int, **kw) -> SmtpProvider:
    return SmtpProvider(
        "smtp", host="127.0.0.1", port=port, sender="from@example.com", message_id_domain="t.local", **kw
    )


async def test_starttls_with_auth_delivers_multipart_mail(tmp_path: Path) -> None:
    store = MessageStore()
    async with secure_server(store, _tls_context(tmp_path)) as port:
        provider = _provider(
            port, security="starttls", username="mailer", password="s3cret", validate_certs=False
        )
        msg = _msg()
        message_id = await provider.send(msg)
        await provider.close()
    (mail,) = store.messages
    assert message_id == f"<{msg.message_id}@t.local>" == mail["message_id"]
    assert (mail["text"].strip(), mail["html"].strip()) == ("plain <b>", "<p>html</p>")
    assert mail["headers"]["Content-Type"].startswith("multipart/alternative")


async def test_wrong_password_is_a_permanent_error(tmp_path: Path) -> None:
    store = MessageStore()
    async with secure_server(store, _tls_context(tmp_path)) as port:
        provider = _provider(
            port, security="starttls", username="mailer", password="nope", validate_certs=False
        )
        with pytest.raises(ProviderError) as err:
            await provider.send(_msg())
    assert err.value.retryable is False
    assert err.value.code == "535"
    assert list(store.messages) == []


async def test_pooled_connection_survives_server_restart() -> None:
    store = MessageStore()
    port = free_port()
    provider = _provider(port)
    async with smtp_server(store, "127.0.0.1", port):
        await provider.send(_msg())
    async with smtp_server(store, "127.0.0.1", port):
        await provider.send(_msg())  # the pooled session is dead: reconnects once
        await provider.close()
    assert len(store.messages) == 2
