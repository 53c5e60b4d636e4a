"""Rate limiting: GCRA in one atomic Redis script (shared by every gateway process), or in process
memory in the embedded mode.

Why GCRA (generic cell rate algorithm) rather than a sliding-window log or counter:
- one key per client holding one number (the "theoretical arrival time"), O(1) memory and CPU,
  where a sliding log stores every request and a two-window counter only approximates;
- no boundary burst: a client cannot spend its quota at the end of one window and again at the start
  of the next; it gets a burst of `limit`, then one request every `window / limit` seconds;
- `remaining`, the reset time and `Retry-After` follow exactly from that one number.
The script uses the Redis server's clock (TIME), so gateway processes on different hosts agree.

The same script also checks the logout denylist (`shared.auth.revoked_*_key`) for authenticated
requests, so an authenticated request costs one Redis round trip in total.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from gateway.resp import RespClient
from gateway.routing import Policy

# KEYS[1] rate key; KEYS[2..] denylist keys. ARGV[1] limit, ARGV[2] window (µs).
# Returns {allowed (1 | 0 | -1 revoked), remaining, retry_after µs, reset µs}.
GCRA_LUA = b"""
if #KEYS > 1 and redis.call('EXISTS', unpack(KEYS, 2)) > 0 then
  return {-1, 0, 0, 0}
end
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = math.floor(window / limit)
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - window
if allow_at > now then
  return {0, 0, allow_at - now, tat - now}
end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
return {1, math.floor((now + window - new_tat) / interval), 0, new_tat - now}
"""
GCRA_SHA = hashlib.sha1(GCRA_LUA).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    remaining: int
    retry_after: float  # seconds (0 when allowed)
    reset: float  # seconds until the quota is whole again
    revoked: bool = False


class LimiterUnavailable(Exception):
    """The shared store could not be asked; the policy's fail mode decides."""


class RedisLimiter:
    """GCRA in Redis, plus a local memory of refusals: once Redis says "not before T" for a key, the
    key's requests until T are refused here without asking again. That is exact, not an
    approximation — in GCRA a key's theoretical arrival time only moves forward, whichever gateway
    process spends its quota, so nothing can make a request before T allowed — and it keeps a flood
    of refused requests away from Redis."""

    checks_denylist = True  # the script also answers "revoked"

    def __init__(self, client: RespClient, prefix: str, *, max_refused: int = 10_000) -> None:
        self.client = client
        self.prefix = prefix
        self.max_refused = max_refused
        self._refused: dict[str, tuple[float, float]] = {}  # key → (allowed again at, whole at)

    async def hit(self, policy: Policy, key: str, deny_keys: tuple[str, ...] = ()) -> Decision:
        rkey = f"{self.prefix}rl:{policy.name}:{key}"
        if self._refused:
            until = self._refused.get(rkey)
            if until is not None:
                now = time.monotonic()
                if now < until[0]:
                    return Decision(False, 0, until[0] - now, until[1] - now)
                del self._refused[rkey]
        try:
            res = await self.client.evalsha(
                GCRA_SHA,
                GCRA_LUA,
                [rkey, *deny_keys],
                [policy.limit, int(policy.window * 1_000_000)],
            )
        except Exception as exc:  # any failure of the store: the fail mode applies
            raise LimiterUnavailable(type(exc).__name__) from exc
        allowed, remaining, retry_us, reset_us = res
        decision = Decision(
            allowed == 1, int(remaining), retry_us / 1e6, reset_us / 1e6, revoked=allowed == -1
        )
        if allowed == 0:
            now = time.monotonic()
            if len(self._refused) >= self.max_refused:
                self._refused = {k: v for k, v in self._refused.items() if v[0] > now}
                if len(self._refused) >= self.max_refused:
                    self._refused.clear()
            self._refused[rkey] = (now + decision.retry_after, now + decision.reset)
        return decision

    async def close(self) -> None:
        await self.client.close()


class MemoryLimiter:
    """The same GCRA in process memory (embedded mode: one process per service, no Redis)."""

    checks_denylist = False  # the gateway asks the key-value store itself

    def __init__(self, max_keys: int = 100_000) -> None:
        self._tat: dict[str, float] = {}
        self.max_keys = max_keys

    async def hit(self, policy: Policy, key: str, deny_keys: tuple[str, ...] = ()) -> Decision:
        now = time.monotonic()
        k = f"{policy.name}:{key}"
        interval = policy.window / policy.limit
        tat = max(self._tat.get(k, now), now)
        new_tat = tat + interval
        allow_at = new_tat - policy.window
        if allow_at > now + 1e-9:
            return Decision(False, 0, allow_at - now, tat - now)
        if len(self._tat) >= self.max_keys:
            self._tat = {kk: v for kk, v in self._tat.items() if v > now}
        self._tat[k] = new_tat
        return Decision(True, int((now + policy.window - new_tat + 1e-9) // interval), 0.0, new_tat - now)

    async def close(self) -> None:
        self._tat.clear()


def ratelimit_headers(policy: Policy, d: Decision) -> list[tuple[bytes, bytes]]:
    """draft-ietf-httpapi-ratelimit-headers-10: `RateLimit-Policy` (the quota) and `RateLimit`
    (remaining `r` and seconds `t` until the quota is whole), both structured-field lists."""
    headers = [
        (b"ratelimit-policy", policy.policy_header.encode()),
        (b"ratelimit", f'"{policy.name}";r={d.remaining};t={max(0, math.ceil(d.reset))}'.encode()),
    ]
    if not d.allowed:
        headers.append((b"retry-after", str(max(1, math.ceil(d.retry_after))).encode()))
    return headers
