"""Queries on users."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import for_update
from user_service.models import ROLE_ADMIN, User


def _uuid(value: str | uuid.UUID) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError):
        return None


async def get(session: AsyncSession, user_id: str | uuid.UUID, *, lock: bool = False) -> User | None:
    uid = _uuid(user_id)
    if uid is None:
        return None
    stmt = select(User).where(User.id == uid)
    if lock:
        stmt = for_update(stmt, session)
    return (await session.scalars(stmt)).first()


async def get_by_login(session: AsyncSession, identifier: str, *, lock: bool = False) -> User | None:
    """`identifier` is an e-mail (has '@') or a username, already lower-cased."""
    column = User.email if "@" in identifier else User.username
    stmt = select(User).where(column == identifier)
    if lock:
        stmt = for_update(stmt, session)
    return (await session.scalars(stmt)).first()


async def get_by_email(session: AsyncSession, email: str) -> User | None:
    return (await session.scalars(select(User).where(User.email == email))).first()


async def find_for_verification(session: AsyncSession, email: str) -> User | None:
    """The user whose current or pending address is `email`."""
    stmt = select(User).where(or_(User.email == email, User.pending_email == email)).limit(1)
    return (await session.scalars(stmt)).first()


async def taken(session: AsyncSession, *, username: str | None = None, email: str | None = None) -> set[str]:
    """Which of `username` / `email` already belong to someone."""
    found: set[str] = set()
    if username and (await session.scalar(select(User.id).where(User.username == username))) is not None:
        found.add("username")
    if email and (await session.scalar(select(User.id).where(User.email == email))) is not None:
        found.add("email")
    return found


async def admin_exists(session: AsyncSession) -> bool:
    return (await session.scalar(select(User.id).where(User.role == ROLE_ADMIN).limit(1))) is not None


async def search(
    session: AsyncSession,
    *,
    q: str | None,
    role: str | None,
    is_active: bool | None,
    email_verified: bool | None,
    page: int,
    size: int,
) -> tuple[list[User], int]:
    conditions: list[Any] = []
    if q:
        # Escape LIKE wildcards so a search for "a_b" means exactly that.
        pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(
            or_(
                User.username.like(pattern, escape="\\"),
                User.email.like(pattern, escape="\\"),
                func.lower(User.full_name).like(pattern, escape="\\"),
            )
        )
    if role is not None:
        conditions.append(User.role == role)
    if is_active is not None:
        conditions.append(User.is_active.is_(is_active))
    if email_verified is not None:
        conditions.append(User.email_verified.is_(email_verified))
    total = await session.scalar(select(func.count()).select_from(User).where(*conditions)) or 0
    stmt = (
        select(User)
        .where(*conditions)
        .order_by(User.created_at.desc(), User.id)
        .offset((page - 1) * size)
        .limit(size)
    )
    return list((await session.scalars(stmt)).all()), int(total)
