"""Downstream services: their instances (load balancing + passive health) and one circuit breaker
per service.

- An instance failing `eject_after` times in a row (5xx, timeout, connect error) is ejected for
  `eject_seconds`; afterwards it gets traffic again, and one more failure ejects it again.
- The breaker counts consecutive failures of the *service*: while one instance still answers, the
  successes in between keep it closed, so it opens only when every instance is failing. Open → fast
  503 for `open_seconds`; then half-open lets `half_open_probes` requests through at a time; a probe
  success closes it, a probe failure reopens it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from prometheus_client import Counter, Gauge

BREAKER_STATE = Gauge(
    "gateway_circuit_state", "Circuit breaker state (0 closed, 1 half-open, 2 open)", ["service"]
)
BREAKER_OPENED = Counter("gateway_circuit_opened_total", "Times a service's breaker opened", ["service"])
INSTANCE_EJECTED = Counter(
    "gateway_instance_ejected_total", "Instances ejected by passive health", ["service"]
)

State = Literal["closed", "open", "half_open"]
_STATE_VALUE = {"closed": 0, "half_open": 1, "open": 2}


@dataclass(slots=True)
class Instance:
    url: str
    outstanding: int = 0
    consecutive_failures: int = 0
    ejected_until: float = 0.0
    requests: int = 0
    failures: int = 0

    def available(self, now: float) -> bool:
        return self.ejected_until <= now


@dataclass(slots=True)
class CircuitBreaker:
    service: str
    failure_threshold: int
    open_seconds: float
    half_open_probes: int
    state: State = "closed"
    consecutive_failures: int = 0
    opened_at: float = 0.0
    probes_in_flight: int = 0
    opened_count: int = 0

    def __post_init__(self) -> None:
        BREAKER_STATE.labels(self.service).set(0)

    def _set(self, state: State) -> None:
        self.state = state
        BREAKER_STATE.labels(self.service).set(_STATE_VALUE[state])

    def retry_after(self, now: float) -> float:
        return max(0.0, self.opened_at + self.open_seconds - now)

    def allow(self, now: float) -> bool:
        """May a request go through? Half-open admits a bounded number of probes."""
        if self.state == "closed":
            return True
        if self.state == "open":
            if now - self.opened_at < self.open_seconds:
                return False
            self._set("half_open")
            self.probes_in_flight = 0
        if self.probes_in_flight >= self.half_open_probes:
            return False
        self.probes_in_flight += 1
        return True

    def record(self, ok: bool, now: float) -> None:
        if self.state == "half_open":
            self.probes_in_flight = max(0, self.probes_in_flight - 1)
            if ok:
                self._set("closed")
                self.consecutive_failures = 0
            else:
                self._open(now)
            return
        if ok:
            self.consecutive_failures = 0
            return
        self.consecutive_failures += 1
        if self.state == "closed" and self.consecutive_failures >= self.failure_threshold:
            self._open(now)

    def release(self) -> None:
        """A half-open probe ended without a verdict (client went away): free its slot."""
        if self.state == "half_open":
            self.probes_in_flight = max(0, self.probes_in_flight - 1)

    def _open(self, now: float) -> None:
        self._set("open")
        self.opened_at = now
        self.opened_count += 1
        BREAKER_OPENED.labels(self.service).inc()


@dataclass(slots=True)
class Upstream:
    """One service: its instances, how requests are spread, and its breaker."""

    name: str
    instances: list[Instance]
    breaker: CircuitBreaker
    strategy: Literal["round_robin", "least_outstanding"] = "least_outstanding"
    eject_after: int = 3
    eject_seconds: float = 10.0
    _rr: int = field(default=0)

    def pick(self, now: float, exclude: Instance | None = None) -> Instance:
        insts = self.instances
        if len(insts) == 1:
            return insts[0]
        live = [i for i in insts if i.available(now) and i is not exclude] or [
            i for i in insts if i.available(now)
        ]
        if not live:
            # Everyone is ejected: try the one whose ejection ends first (the breaker guards the rest).
            return min(insts, key=lambda i: i.ejected_until)
        self._rr = (self._rr + 1) % len(live)
        if self.strategy == "round_robin":
            return live[self._rr]
        # Least outstanding, ties broken round-robin so idle instances share the load.
        n = len(live)
        best = live[self._rr]
        for k in range(1, n):
            cand = live[(self._rr + k) % n]
            if cand.outstanding < best.outstanding:
                best = cand
        return best

    def record(self, inst: Instance, ok: bool, now: float) -> None:
        inst.requests += 1
        if ok:
            inst.consecutive_failures = 0
        else:
            inst.failures += 1
            inst.consecutive_failures += 1
            if inst.consecutive_failures >= self.eject_after and len(self.instances) > 1:
                inst.ejected_until = now + self.eject_seconds
                inst.consecutive_failures = 0
                INSTANCE_EJECTED.labels(self.name).inc()
        self.breaker.record(ok, now)

    def snapshot(self, now: float | None = None) -> dict[str, object]:
        now = time.monotonic() if now is None else now
        b = self.breaker
        return {
            "breaker": b.state,
            "consecutive_failures": b.consecutive_failures,
            "opened_count": b.opened_count,
            "retry_after": round(b.retry_after(now), 2) if b.state == "open" else 0,
            "instances": [
                {
                    "url": i.url,
                    "ejected": not i.available(now),
                    "outstanding": i.outstanding,
                    "requests": i.requests,
                    "failures": i.failures,
                }
                for i in self.instances
            ],
        }
