"""Runtime settings owned by admin-service, applied by the owning service without a restart
(ARCHITECTURE §6: "take effect in the owning service within 60 s; env values are defaults").

A service declares the keys it owns with a parser each; `RuntimeSettings` polls admin-service's
`GET /internal/settings` ({key: value} of the non-secret settings) every `interval` seconds and, when
the service owns secrets, `GET /internal/settings/secrets` (the clear secrets the caller owns; the
shared HTTP client sends the service key). `setting.changed` events are applied with `apply()` as
they arrive. Keys are accepted bare (`fee_percentage`) or with one of the service's prefixes
(`transaction.fee_percentage`). A value of None (or a secret no longer set) falls back to the env
default; an invalid value is ignored and logged (by key, never by value). When admin-service cannot
be reached the last known values stay in force.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import EventEnvelope
from shared.inbox import EventHandler
from shared.logging import get_logger
from shared.money import MoneyError, parse_decimal

log = get_logger(__name__)

Parser = Callable[[Any], Any]


def non_negative_decimal(value: Any) -> Decimal:
    d = parse_decimal(str(value).strip() if isinstance(value, int | str) else value)
    if d < 0:
        raise MoneyError("must not be negative")
    return d


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("not a boolean")


def positive_int(value: Any) -> int:
    n = int(str(value))
    if n <= 0:
        raise ValueError("must be positive")
    return n


def text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def http_url(value: Any) -> str:
    url = text(value).strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValueError("not an http(s) URL")
    return url


class RuntimeSettings:
    def __init__(
        self,
        *,
        defaults: Callable[[str], Any],
        parsers: Mapping[str, Parser],
        prefixes: tuple[str, ...],
        admin_url: str,
        interval: float = 60.0,
        secret_keys: frozenset[str] = frozenset(),
        on_change: Callable[[frozenset[str]], None] | None = None,
    ) -> None:
        """`defaults(name)` gives the env default of a bare key; `secret_keys` (bare names) are read
        from `/internal/settings/secrets`; `on_change` is told which bare keys changed value."""
        self.defaults = defaults
        self.parsers = dict(parsers)
        self.prefixes = prefixes
        self.admin_url = admin_url.rstrip("/")
        self.interval = interval
        self.secret_keys = secret_keys
        self.on_change = on_change
        self._overrides: dict[str, Any] = {}
        self._refresh_task: asyncio.Task[None] | None = None
        self._refresh_again = False
        self._refresh_lock = asyncio.Lock()

    def bare(self, key: str) -> str:
        for prefix in self.prefixes:
            if key.startswith(prefix):
                return key[len(prefix) :]
        return key

    def value(self, name: str) -> Any:
        return self._overrides[name] if name in self._overrides else self.defaults(name)

    def _set(self, name: str, value: Any) -> str | None:
        """Apply one bare key; returns the name when its effective value changed."""
        before = self.value(name)
        if value is None:
            self._overrides.pop(name, None)
        else:
            try:
                self._overrides[name] = self.parsers[name](value)
            except (ValueError, TypeError, ArithmeticError):
                log.warning("runtime_setting_invalid", key=name)
                return None
        if self.value(name) == before:
            return None
        log.info("runtime_setting_applied", key=name, reset=value is None)
        return name

    def apply(self, key: str, value: Any) -> bool:
        """Apply one setting (e.g. from a `setting.changed` event); False for keys not owned here or
        invalid values. None resets to the env default."""
        name = self.bare(key)
        if name not in self.parsers:
            return False
        if value is not None:
            try:
                self.parsers[name](value)
            except (ValueError, TypeError, ArithmeticError):
                log.warning("runtime_setting_invalid", key=name)
                return False
        self.apply_all({name: value})
        return True

    def apply_all(self, values: Mapping[str, Any], *, reset_missing: frozenset[str] = frozenset()) -> None:
        changed: set[str] = set()
        seen: set[str] = set()
        for key, value in values.items():
            name = self.bare(key)
            if name in self.parsers:
                seen.add(name)
                if self.parsers[name] is http_url and isinstance(value, str) and not value.strip():
                    value = None  # admin-service stores a cleared URL as "": not set, env default
                if (c := self._set(name, value)) is not None:
                    changed.add(c)
        for name in reset_missing - seen:
            if (c := self._set(name, None)) is not None:
                changed.add(c)
        if changed and self.on_change is not None:
            self.on_change(frozenset(changed))

    async def refresh(self, http: httpx.AsyncClient) -> None:
        async with self._refresh_lock:  # one at a time: an older answer never lands after a newer one
            await self._refresh(http)

    async def _refresh(self, http: httpx.AsyncClient) -> None:
        resp = await http.get(f"{self.admin_url}/internal/settings", timeout=5.0)
        resp.raise_for_status()
        body = resp.json()
        # Secrets never come from the non-secret listing (masked there, if listed at all).
        listed = body.items() if isinstance(body, Mapping) else ()
        values = {k: v for k, v in listed if self.bare(k) not in self.secret_keys}
        reset: frozenset[str] = frozenset()
        if self.secret_keys:
            resp = await http.get(f"{self.admin_url}/internal/settings/secrets", timeout=5.0)
            resp.raise_for_status()
            secrets = resp.json()
            if isinstance(secrets, Mapping):
                values.update(secrets)
                reset = self.secret_keys  # a secret no longer set falls back to the env default
        self.apply_all(values, reset_missing=reset)

    def request_refresh(self, http: httpx.AsyncClient) -> asyncio.Task[None]:
        """Refresh now without holding up the caller (e.g. an event delivery): one refresh at a
        time; a request arriving during one causes one more, so the latest change is read."""
        self._refresh_again = True
        if self._refresh_task is None or self._refresh_task.done():
            self._refresh_task = asyncio.create_task(self._refresh_loop(http), name="runtime-settings-now")
        return self._refresh_task

    @property
    def pending_refresh(self) -> asyncio.Task[None] | None:
        return self._refresh_task

    async def _refresh_loop(self, http: httpx.AsyncClient) -> None:
        while self._refresh_again:
            self._refresh_again = False
            try:
                await self.refresh(http)
            except Exception as exc:  # admin-service down: the poller retries within the interval
                log.warning("runtime_settings_refresh_failed", error=type(exc).__name__)

    async def aclose(self) -> None:
        task, self._refresh_task = self._refresh_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run_forever(self, http: httpx.AsyncClient) -> None:
        while True:
            try:
                await self.refresh(http)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # admin-service down: keep the last known values
                log.debug("runtime_settings_refresh_failed", error=type(exc).__name__)
            await asyncio.sleep(self.interval)

    @contextlib.asynccontextmanager
    async def polling(self, http: httpx.AsyncClient, *, enabled: bool = True) -> AsyncIterator[None]:
        task = asyncio.create_task(self.run_forever(http), name="runtime-settings") if enabled else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self.aclose()


def setting_handlers(get: Callable[[], tuple[RuntimeSettings, httpx.AsyncClient]]) -> dict[str, EventHandler]:
    """Inbox handlers for `setting.*` (`get()` → the service's runtime settings and shared client):
    a non-secret value travels in the event and is applied at once; a secret's event carries only
    a mask, so it triggers an immediate refresh from admin-service instead (never the mask)."""

    async def on_setting(session: AsyncSession, env: EventEnvelope) -> None:
        key = env.data.get("key")
        if not isinstance(key, str):
            return
        runtime, http = get()
        name = runtime.bare(key)
        if name not in runtime.parsers:
            return  # owned by another service
        if name in runtime.secret_keys or env.data.get("secret") is True:
            runtime.request_refresh(http)
        else:
            runtime.apply(key, env.data.get("value"))

    return {"setting.*": on_setting}
