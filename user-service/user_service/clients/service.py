"""API clients: creation (secret shown once, stored as SHA-256), listing, revocation, and the
client-credentials grant. A client's tokens share the session id `client:<uuid>`, so revoking the
client kills its live access tokens at once through the denylist."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import select

from shared.auth import Principal
from shared.db import utcnow
from shared.errors import BadRequest, NotFound, Unauthorized
from user_service.auth.revocation import revoke_sid
from user_service.auth.schemas import TokenOut
from user_service.clients.schemas import ApiClientCreate
from user_service.deps import Ctx
from user_service.models import ApiClient

_DUMMY_HASH = hashlib.sha256(b"no such client").hexdigest()


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def client_sid(client: ApiClient) -> str:
    return f"client:{client.id}"


async def create(ctx: Ctx, body: ApiClientCreate, principal: Principal) -> tuple[ApiClient, str]:
    secret = "pgs_" + secrets.token_urlsafe(32)
    client = ApiClient(
        client_id="pgc_" + secrets.token_hex(8),
        name=body.name.strip(),
        secret_hash=secret_hash(secret),
        scopes=body.scopes,
        created_by=uuid.UUID(principal.user_id) if not principal.is_client else None,
        created_at=utcnow(),
        expires_at=utcnow() + timedelta(days=body.expires_in_days) if body.expires_in_days else None,
    )
    ctx.session.add(client)
    await ctx.session.flush()
    await ctx.emit(
        "user.api_client_created",
        principal.subject,
        client_id=client.client_id,
        name=client.name,
        scopes=client.scopes,
        expires_at=client.expires_at.isoformat() if client.expires_at else None,
        by=principal.subject,
    )
    return client, secret


async def list_all(ctx: Ctx) -> list[ApiClient]:
    return list((await ctx.session.scalars(select(ApiClient).order_by(ApiClient.created_at.desc()))).all())


async def revoke(ctx: Ctx, client_id: str, principal: Principal) -> None:
    client = (await ctx.session.scalars(select(ApiClient).where(ApiClient.client_id == client_id))).first()
    if client is None:
        raise NotFound("No such API client.", code="api_client_not_found")
    if client.revoked_at is None:
        await revoke_sid(ctx, client_sid(client), "client_revoked")
        client.revoked_at = utcnow()
        await ctx.emit(
            "user.api_client_revoked", principal.subject, client_id=client.client_id, by=principal.subject
        )


async def token(ctx: Ctx, client_id: str, secret: str, scope: str) -> TokenOut:
    client = None
    if client_id:
        client = (
            await ctx.session.scalars(select(ApiClient).where(ApiClient.client_id == client_id))
        ).first()
    # Compare even when the client is unknown, so timing says nothing about which ids exist.
    matches = hmac.compare_digest(secret_hash(secret), client.secret_hash if client else _DUMMY_HASH)
    now = utcnow()
    if (
        client is None
        or not matches
        or client.revoked_at is not None
        or (client.expires_at is not None and client.expires_at <= now)
    ):
        await ctx.emit("user.login_failed", None, user_id=None, reason="invalid_client", ip=ctx.ip)
        raise Unauthorized("Invalid client credentials.", code="invalid_client")
    requested = scope.split()
    if requested and not set(requested) <= set(client.scopes):
        raise BadRequest("A requested scope is not granted to this client.", code="invalid_scope")
    granted = sorted(set(requested)) if requested else list(client.scopes)
    client.last_used_at = now
    minted = ctx.issuer.client(client.client_id, sid=client_sid(client), scopes=granted)
    return TokenOut(
        access_token=minted.token, expires_in=ctx.settings.access_token_ttl_seconds, scope=" ".join(granted)
    )
