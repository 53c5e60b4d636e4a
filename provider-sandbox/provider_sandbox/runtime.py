"""The sandbox's per-app runtime: settings, in-memory state, armed faults, deliverer and signer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from provider_sandbox.delivery import Deliverer
from provider_sandbox.faults import Fault, FaultRules
from provider_sandbox.paypal.signing import WebhookSigner
from provider_sandbox.settings import Settings, parse_pairs
from provider_sandbox.state import SandboxState


@dataclass
class Sandbox:
    settings: Settings
    state: SandboxState = field(default_factory=SandboxState)
    faults: FaultRules = field(default_factory=FaultRules)
    # Created in the app's lifespan (they own a client / a generated key).
    deliverer: Deliverer | None = None
    signer: WebhookSigner | None = None

    def __post_init__(self) -> None:
        self.reset_balances()

    def reset_balances(self) -> None:
        self.state.balances = parse_pairs(self.settings.paypal_balances)

    def reset(self) -> None:
        """Forget every session, payout, token and delivery; balances back to the configured ones."""
        self.state = SandboxState()
        if self.deliverer is not None:
            self.deliverer.cancel_all()  # pending retries and batch ticks belong to the old state
            self.deliverer.state = self.state
        self.faults.clear()
        self.reset_balances()

    @property
    def out(self) -> Deliverer:
        assert self.deliverer is not None, "the sandbox lifespan has not run"
        return self.deliverer

    @property
    def sig(self) -> WebhookSigner:
        assert self.signer is not None, "the sandbox lifespan has not run"
        return self.signer


def get_sandbox(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


def get_fault(request: Request) -> Fault:
    fault = getattr(request.state, "fault", None)
    return fault if isinstance(fault, Fault) else Fault()


SandboxDep = Annotated[Sandbox, Depends(get_sandbox)]
FaultDep = Annotated[Fault, Depends(get_fault)]
