"""Runtime settings owned by admin-service (fee %, bounds, limits, maintenance mode).

Env values are the defaults; admin-service's `GET /internal/settings` (polled every
RUNTIME_SETTINGS_INTERVAL ≤ 60 s) and `setting.changed` events override them without a restart.
Keys are accepted bare (`fee_percentage`) or prefixed (`transaction.fee_percentage`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import httpx

from shared.logging import get_logger
from shared.money import MoneyError, parse_decimal
from transaction_service.settings import Settings

log = get_logger(__name__)


def _decimal(value: Any) -> Decimal:
    d = parse_decimal(str(value).strip() if isinstance(value, int | str) else value)
    if d < 0:
        raise MoneyError("must not be negative")
    return d


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("not a boolean")


def _positive_int(value: Any) -> int:
    n = int(str(value))
    if n <= 0:
        raise ValueError("must be positive")
    return n


PARSERS: dict[str, Callable[[Any], Any]] = {
    "fee_percentage": _decimal,
    "min_transaction_usd": _decimal,
    "max_transaction_usd": _decimal,
    "daily_limit_usd": _decimal,
    "monthly_limit_usd": _decimal,
    "yearly_limit_usd": _decimal,
    "quote_ttl_seconds": _positive_int,
    "maintenance_mode": _bool,
}
_PREFIXES = ("transaction.", "transactions.", "transaction_service.")


def _bare(key: str) -> str:
    for prefix in _PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


class RuntimeSettings:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._overrides: dict[str, Any] = {}

    def value(self, key: str) -> Any:
        return self._overrides.get(key, getattr(self.settings, key))

    def apply(self, key: str, value: Any) -> bool:
        """Apply one setting; unknown keys and invalid values are ignored (logged). None resets."""
        name = _bare(key)
        parser = PARSERS.get(name)
        if parser is None:
            return False
        if value is None:
            self._overrides.pop(name, None)
            return True
        try:
            self._overrides[name] = parser(value)
        except (ValueError, TypeError, ArithmeticError):
            log.warning("runtime_setting_invalid", key=name)
            return False
        log.info("runtime_setting_applied", key=name)
        return True

    def apply_all(self, values: Mapping[str, Any]) -> None:
        for key, value in values.items():
            self.apply(key, value)

    @property
    def fee_percentage(self) -> Decimal:
        return Decimal(self.value("fee_percentage"))

    @property
    def quote_ttl_seconds(self) -> int:
        return int(self.value("quote_ttl_seconds"))

    @property
    def maintenance_mode(self) -> bool:
        return bool(self.value("maintenance_mode"))

    def usd(self, key: str) -> Decimal:
        return Decimal(self.value(key))

    async def refresh(self, http: httpx.AsyncClient) -> None:
        url = f"{self.settings.url_of('admin-service')}/internal/settings"
        resp = await http.get(url, timeout=5.0)
        resp.raise_for_status()
        body = resp.json()
        if isinstance(body, Mapping):
            self.apply_all(body)

    async def run_forever(self, http: httpx.AsyncClient) -> None:
        while True:
            try:
                await self.refresh(http)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # admin-service down: keep the last known values
                log.debug("runtime_settings_refresh_failed", error=type(exc).__name__)
            await asyncio.sleep(self.settings.runtime_settings_interval)


@contextlib.asynccontextmanager
async def refresher(runtime: RuntimeSettings, http: httpx.AsyncClient, enabled: bool) -> Any:
    task = asyncio.create_task(runtime.run_forever(http), name="runtime-settings") if enabled else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
