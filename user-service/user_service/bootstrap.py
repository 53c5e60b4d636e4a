"""The first administrator: from BOOTSTRAP_ADMIN_EMAIL / BOOTSTRAP_ADMIN_PASSWORD at start-up (only
when no admin exists yet), or from `python -m user_service create-admin`."""

from __future__ import annotations

import re
import secrets

from shared.db import Database
from shared.errors import Conflict
from shared.kv import MemoryKV
from shared.logging import get_logger
from user_service.accounts import repository as repo
from user_service.accounts.schemas import normalize_email
from user_service.accounts.service import create_user
from user_service.deps import Ctx
from user_service.models import ROLE_ADMIN, User
from user_service.security.passwords import PasswordHasher
from user_service.settings import Settings

log = get_logger(__name__)


async def _free_username(ctx: Ctx, email: str) -> str:
    base = re.sub(r"[^a-z0-9_.-]", "", email.split("@", 1)[0].lower())[:40] or "admin"
    base = base if len(base) >= 3 else (base + "admin")[:40]
    candidate = base
    while await repo.taken(ctx.session, username=candidate):
        candidate = f"{base}-{secrets.token_hex(2)}"
    return candidate


async def create_admin(
    db: Database,
    settings: Settings,
    hasher: PasswordHasher,
    *,
    email: str,
    password: str,
    username: str | None = None,
    only_if_none: bool = False,
    by: str = "cli",
) -> User | None:
    """Create a verified admin in its own transaction. `only_if_none`: skip when an admin exists.
    Raises `Conflict` if the e-mail or username is taken, `Unprocessable` for a weak password."""
    async with db.sessionmaker() as session, session.begin():
        if only_if_none and await repo.admin_exists(session):
            return None
        # Only the database, settings and hasher are used when creating a user.
        ctx = Ctx(
            session=session,
            settings=settings,
            kv=MemoryKV(),
            hasher=hasher,
            issuer=None,  # type: ignore[arg-type]
            verifier=None,
        )
        email = normalize_email(email)
        name = username.strip().lower() if username else await _free_username(ctx, email)
        return await create_user(
            ctx,
            username=name,
            email=email,
            password=password,
            role=ROLE_ADMIN,
            email_verified=True,
            created_by=by,
        )


async def bootstrap_admin(db: Database, settings: Settings, hasher: PasswordHasher) -> None:
    email, password = settings.bootstrap_admin_email, settings.bootstrap_admin_password.get_secret_value()
    if not (email and password):
        return
    try:
        user = await create_admin(
            db, settings, hasher, email=email, password=password, only_if_none=True, by="bootstrap"
        )
    except Conflict:
        # Another replica created it, or the address belongs to a non-admin: never promote silently.
        log.warning("bootstrap_admin_skipped", reason="email_or_username_taken")
        return
    if user is not None:
        log.info("bootstrap_admin_created", user_id=str(user.id))
