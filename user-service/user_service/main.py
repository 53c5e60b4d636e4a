"""Application factory for the User Service."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import APIRouter, FastAPI, Request

from shared.app import ExtraLifespan, create_service_app
from shared.inbox import events_router
from user_service import __version__
from user_service.accounts import router as accounts
from user_service.auth import router as auth
from user_service.auth.housekeeping import housekeeping
from user_service.bootstrap import bootstrap_admin
from user_service.clients import router as clients
from user_service.models import InboxEvent, OutboxMessage
from user_service.security.keys import KeyStore, LocalJWKS
from user_service.security.passwords import PasswordHasher
from user_service.security.tokens import TokenIssuer
from user_service.settings import Settings

jwks_router = APIRouter(tags=["keys"])


@jwks_router.get(
    "/.well-known/jwks.json", summary="Public keys that verify our tokens (current and previous)"
)
async def jwks(request: Request) -> dict[str, object]:
    return request.app.state.keystore.jwks()


def _lifespan(settings: Settings) -> ExtraLifespan:
    @contextlib.asynccontextmanager
    async def extra(app: FastAPI) -> AsyncIterator[None]:
        keystore = KeyStore(settings)
        keystore.load()
        app.state.keystore = keystore
        app.state.issuer = TokenIssuer(settings, keystore)
        # Verify our own tokens with our own keys (no HTTP round trip to ourselves).
        app.state.verifier.jwks = LocalJWKS(keystore)
        app.state.hasher = PasswordHasher(settings)
        await bootstrap_admin(app.state.db, settings, app.state.hasher)
        async with housekeeping(app.state.db, settings.housekeeping_interval_seconds):
            yield

    return extra


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        title="User Service",
        version=__version__,
        description=(
            "Identity provider: registration, login, tokens (JWKS), sessions, profiles, roles, API clients."
        ),
        routers=[
            jwks_router,
            accounts.register_router,
            auth.router,
            auth.me_router,
            accounts.me_router,
            clients.router,
            accounts.staff_router,  # after the fixed /api/v1/users/... paths: it has /{user_id}
            accounts.internal_router,
            events_router(InboxEvent, {}, service=settings.SERVICE_NAME),
        ],
        outbox_model=OutboxMessage,
        extra_lifespan=_lifespan(settings),
        openapi_tags=[
            {
                "name": "auth",
                "description": "Registration, login (OAuth2), tokens, verification, password reset",
            },
            {"name": "profile", "description": "The caller's own profile, password and sessions"},
            {"name": "users (staff)", "description": "User administration: support reads, admin changes"},
            {
                "name": "api clients (admin)",
                "description": "Machine clients for the client-credentials grant",
            },
            {"name": "keys", "description": "JWKS for token verification"},
        ],
    )
