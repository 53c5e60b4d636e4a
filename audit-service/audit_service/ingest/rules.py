"""How each event type becomes an audit entry: category, severity, outcome, target and the
compliance tags. Patterns are fnmatch globs; the first match wins, so specific types come first.

PCI-tagged: everything touching a payment, payout, refund or transaction (cardholder-data
environment). GDPR-tagged: events that create, change, expose or delete personal data.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rule:
    category: str
    severity: str = "info"
    outcome: str = "success"
    target_type: str | None = None
    privileged: bool = False
    pci: bool = False
    gdpr: bool = False


_USER = "user"
_TX = "transaction"

RULES: tuple[tuple[str, Rule], ...] = (
    # user-service
    ("user.login_failed", Rule("authentication", "medium", "failure", _USER, gdpr=True)),
    ("user.locked", Rule("authentication", "high", "success", _USER, gdpr=True)),
    ("user.logged_in", Rule("authentication", "info", "success", _USER, gdpr=True)),
    ("user.logged_out", Rule("authentication", "info", "success", _USER)),
    ("user.password_changed", Rule("authentication", "medium", "success", _USER, gdpr=True)),
    ("user.password_reset_requested", Rule("authentication", "low", "success", _USER, gdpr=True)),
    ("user.password_reset", Rule("authentication", "medium", "success", _USER, gdpr=True)),
    ("user.mfa_*", Rule("authentication", "medium", "success", _USER)),
    ("user.session_revoked", Rule("authentication", "low", "success", _USER)),
    ("user.role_changed", Rule("authorization", "high", "success", _USER, privileged=True, gdpr=True)),
    ("user.api_client_*", Rule("authorization", "medium", "success", "api_client", privileged=True)),
    ("user.deactivated", Rule("user_management", "medium", "success", _USER, privileged=True, gdpr=True)),
    ("user.deleted", Rule("user_management", "high", "success", _USER, privileged=True, gdpr=True)),
    ("user.unlocked", Rule("user_management", "medium", "success", _USER, privileged=True)),
    ("user.*", Rule("user_management", "info", "success", _USER, gdpr=True)),
    # transaction-service
    ("transaction.failed", Rule("transaction", "medium", "failure", _TX, pci=True)),
    ("transaction.held", Rule("transaction", "high", "pending", _TX, pci=True)),
    ("transaction.cancelled", Rule("transaction", "low", "success", _TX, pci=True)),
    ("transaction.expired", Rule("transaction", "low", "failure", _TX, pci=True)),
    ("transaction.refunded", Rule("transaction", "medium", "success", _TX, pci=True)),
    ("transaction.*override*", Rule("transaction", "high", "success", _TX, privileged=True, pci=True)),
    ("transaction.*", Rule("transaction", "info", "success", _TX, pci=True)),
    # payment-service
    ("payment.failed", Rule("payment", "low", "failure", _TX, pci=True)),
    ("payment.cancelled", Rule("payment", "info", "failure", _TX, pci=True)),
    ("payment.held", Rule("payment", "high", "pending", _TX, pci=True)),
    ("payment.*", Rule("payment", "info", "success", _TX, pci=True)),
    ("payout.failed", Rule("payout", "high", "failure", _TX, pci=True)),
    ("payout.pending", Rule("payout", "medium", "pending", _TX, pci=True)),
    ("payout.*", Rule("payout", "info", "success", _TX, pci=True)),
    ("refund.failed", Rule("refund", "high", "failure", _TX, pci=True)),
    ("refund.*", Rule("refund", "medium", "success", _TX, pci=True)),
    ("webhook.*rejected*", Rule("webhook", "high", "denied", "webhook")),
    ("webhook.*", Rule("webhook", "info", "success", "webhook")),
    # exchange-rate-service, admin-service
    ("rate.overridden", Rule("rate", "high", "success", "currency", privileged=True)),
    ("rate.*", Rule("rate", "info", "success", "currency")),
    ("setting.*", Rule("configuration", "high", "success", "setting", privileged=True)),
    ("admin.*", Rule("configuration", "high", "success", None, privileged=True)),
)
DEFAULT_RULE = Rule("system", "info", "success")


def rule_for(event_type: str) -> Rule:
    for pattern, rule in RULES:
        if fnmatch.fnmatchcase(event_type, pattern):
            return rule
    return DEFAULT_RULE
