"""Runtime settings business rules: validate, store (secrets encrypted), record history and
publish `setting.changed` through the outbox — all in the request's one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from admin_service.models import OutboxMessage, RuntimeSetting, SettingChange
from admin_service.runtime.crypto import SecretBox
from admin_service.runtime.registry import ORDERED_PAIRS, REGISTRY, SettingDef, SettingValueError, masked
from shared.db import for_update, utcnow
from shared.errors import Conflict, NotFound, Unprocessable
from shared.logging import get_logger
from shared.outbox import publish

log = get_logger(__name__)
PRODUCER = "admin-service"


def definition(key: str) -> SettingDef:
    d = REGISTRY.get(key)
    if d is None:
        raise NotFound("No such runtime setting.", code="unknown_setting")
    return d


def invalid(key: str, message: str) -> Unprocessable:
    return Unprocessable(
        f"Invalid value for {key}: {message}.",
        code="invalid_setting_value",
        extra={"errors": [{"field": "value", "location": "body", "message": message, "type": "value_error"}]},
    )


def stored_value(row: RuntimeSetting | None) -> Any:
    """The stored value as the registry knows it (secrets stay encrypted: a marker only)."""
    if row is None:
        return None
    return row.encrypted_value if row.encrypted_value is not None else row.value


def view(d: SettingDef, row: RuntimeSetting | None) -> dict[str, Any]:
    stored = stored_value(row)
    is_set = row is not None
    return {
        "key": d.key,
        "type": d.type,
        "description": d.description,
        "owner": d.owner,
        "secret": d.secret,
        "is_set": is_set,
        "value": masked(d, stored) if is_set else masked(d, d.default) if not d.secret else None,
        "default": None if d.secret else d.default,
        "minimum": None if d.minimum is None else (int(d.minimum) if d.integer else f"{d.minimum:f}"),
        "maximum": None if d.maximum is None else (int(d.maximum) if d.integer else f"{d.maximum:f}"),
        "version": row.version if row else 0,
        "updated_by": row.updated_by if row else None,
        "updated_at": row.updated_at if row else None,
    }


async def _rows(session: AsyncSession) -> dict[str, RuntimeSetting]:
    return {r.key: r for r in (await session.scalars(select(RuntimeSetting))).all()}


async def list_settings(session: AsyncSession) -> list[dict[str, Any]]:
    rows = await _rows(session)
    return [view(d, rows.get(k)) for k, d in REGISTRY.items()]


async def get_setting(session: AsyncSession, key: str) -> dict[str, Any]:
    d = definition(key)
    return view(d, await session.get(RuntimeSetting, key))


def _effective(rows: dict[str, RuntimeSetting], key: str, pending: tuple[str, Any] | None) -> Decimal | None:
    if pending is not None and pending[0] == key:
        value = pending[1]
    elif key in rows:
        value = rows[key].value
    else:
        value = REGISTRY[key].default
    return None if value is None else Decimal(str(value))


async def _check_consistency(session: AsyncSession, key: str, value: Any) -> None:
    rows = await _rows(session)
    for low, high in ORDERED_PAIRS:
        if key not in (low, high):
            continue
        lo, hi = _effective(rows, low, (key, value)), _effective(rows, high, (key, value))
        if lo is not None and hi is not None and lo > hi:
            raise invalid(key, f"{low} must not exceed {high}")


async def update(session: AsyncSession, box: SecretBox, key: str, raw: Any, by: str) -> dict[str, Any]:
    d = definition(key)
    try:
        value = d.validate(raw)
    except SettingValueError as exc:
        raise invalid(key, str(exc)) from None
    if d.type == "number":
        await _check_consistency(session, key, value)
    stmt = select(RuntimeSetting).where(RuntimeSetting.key == key)
    row = await session.scalar(for_update(stmt, session))
    old = masked(d, stored_value(row)) if row is not None else None
    if row is None:
        row = RuntimeSetting(key=key, version=0, updated_by=by)
        session.add(row)
    if d.secret:
        row.value, row.encrypted_value = None, box.encrypt(value)
    else:
        row.value, row.encrypted_value = value, None
    row.version += 1
    row.updated_by, row.updated_at = by, utcnow()
    await _record(session, d, "set", old, masked(d, value), by)
    try:
        await session.flush()
    except IntegrityError:  # two first writes of the same key raced; the loser retries
        raise Conflict("The setting was changed concurrently; try again.", code="concurrent_update") from None
    log.info("setting_changed", key=key, by=by, version=row.version)
    return view(d, row)


async def reset(session: AsyncSession, key: str, by: str) -> dict[str, Any]:
    """Forget the stored value: the registry default (or the owner's env value) applies again."""
    d = definition(key)
    stmt = select(RuntimeSetting).where(RuntimeSetting.key == key)
    row = await session.scalar(for_update(stmt, session))
    if row is None:
        return view(d, None)
    old = masked(d, stored_value(row))
    await session.delete(row)
    await _record(session, d, "reset", old, None, by)
    await session.flush()
    log.info("setting_reset", key=key, by=by)
    return view(d, None)


async def _record(session: AsyncSession, d: SettingDef, action: str, old: Any, new: Any, by: str) -> None:
    env = await publish(
        session,
        OutboxMessage,
        event_type="setting.changed",
        producer=PRODUCER,
        subject_id=d.key,
        data={
            "key": d.key,
            "value": new,
            "old_value": old,
            "by": by,
            "action": action,
            "type": d.type,
            "secret": d.secret,
            "owner": d.owner,
        },
    )
    session.add(
        SettingChange(key=d.key, action=action, old_value=old, new_value=new, changed_by=by, event_id=env.id)
    )


async def history(session: AsyncSession, key: str, limit: int) -> Sequence[SettingChange]:
    definition(key)
    stmt = (
        select(SettingChange).where(SettingChange.key == key).order_by(SettingChange.id.desc()).limit(limit)
    )
    return (await session.scalars(stmt)).all()


async def internal_values(session: AsyncSession) -> dict[str, Any]:
    """`{key: value}` of every non-secret setting; None = not set here (the owner's env default
    applies — transaction-service resets its override on None)."""
    rows = await _rows(session)
    return {k: (rows[k].value if k in rows else None) for k, d in REGISTRY.items() if not d.secret}


async def owned_secrets(session: AsyncSession, box: SecretBox, caller: str) -> dict[str, str]:
    """The clear secrets owned by `caller` (only those that are set)."""
    rows = await _rows(session)
    out: dict[str, str] = {}
    for key, d in REGISTRY.items():
        row = rows.get(key)
        if d.secret and d.owner == caller and row is not None and row.encrypted_value:
            out[key] = box.decrypt(row.encrypted_value)
    return out


async def clear_value(session: AsyncSession, box: SecretBox, key: str) -> Any:
    """The usable value (secrets decrypted) for this service's own use, e.g. test connection."""
    d = definition(key)
    row = await session.get(RuntimeSetting, key)
    if row is None:
        return None if d.secret else d.default
    if d.secret:
        return box.decrypt(row.encrypted_value) if row.encrypted_value else None
    return row.value


async def rotate_secrets(session: AsyncSession, box: SecretBox, by: str) -> int:
    stmt = select(RuntimeSetting).where(RuntimeSetting.encrypted_value.is_not(None))
    rows = (await session.scalars(for_update(stmt, session))).all()
    for row in rows:
        assert row.encrypted_value is not None
        row.encrypted_value = box.rotate(row.encrypted_value)
    await session.flush()
    log.info("settings_key_rotated", count=len(rows), by=by)
    return len(rows)
