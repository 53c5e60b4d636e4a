"""What each consumed event sends: template key, category, channels, and the variables the event
handler provides to the template (templates may only require variables from that set, checked
when a template is created — so a bad template fails at creation, never at send time)."""

from __future__ import annotations

from dataclasses import dataclass

# Categories. Mandatory ones (security, money) cannot be switched off; marketing defaults off.
SECURITY, TRANSACTIONS, ACCOUNT, MARKETING = "security", "transactions", "account", "marketing"
CATEGORIES = (SECURITY, TRANSACTIONS, ACCOUNT, MARKETING)
MANDATORY = frozenset({SECURITY, TRANSACTIONS})
DEFAULT_OFF = frozenset({MARKETING})

USER_VARS = ("user_name", "username", "app_name")
TXN_VARS = (*USER_VARS, "internal_tran_id", "foreign_amount", "foreign_currency", "total_bdt", "status")


@dataclass(frozen=True, slots=True)
class EventSpec:
    template_key: str
    category: str
    channels: tuple[str, ...]  # wanted channels; each still needs an address/device and consent
    variables: tuple[str, ...]


EVENTS: dict[str, EventSpec] = {
    "user.registered": EventSpec("welcome", ACCOUNT, ("email",), USER_VARS),
    "user.email_verification_requested": EventSpec(
        "email_verification", SECURITY, ("email",), (*USER_VARS, "verification_url", "expires_at")
    ),
    "user.password_reset_requested": EventSpec(
        "password_reset", SECURITY, ("email",), (*USER_VARS, "reset_url", "expires_at")
    ),
    "user.locked": EventSpec("account_locked", SECURITY, ("email", "sms"), (*USER_VARS, "locked_until")),
    "user.password_changed": EventSpec("password_changed", SECURITY, ("email",), USER_VARS),
    "transaction.created": EventSpec(
        "transaction_created", TRANSACTIONS, ("email", "sms"), (*TXN_VARS, "payment_url", "expires_at")
    ),
    "transaction.bdt_received": EventSpec(
        "transaction_bdt_received", TRANSACTIONS, ("email", "push"), TXN_VARS
    ),
    "transaction.completed": EventSpec(
        "transaction_completed", TRANSACTIONS, ("email", "sms", "push"), TXN_VARS
    ),
    "transaction.failed": EventSpec(
        "transaction_failed", TRANSACTIONS, ("email", "sms", "push"), (*TXN_VARS, "reason")
    ),
    "transaction.refunded": EventSpec("transaction_refunded", TRANSACTIONS, ("email", "sms"), TXN_VARS),
    "transaction.expired": EventSpec("transaction_expired", TRANSACTIONS, ("email",), TXN_VARS),
}

# Variables a template of each key may require (direct sends may use any key not listed here).
KNOWN_KEYS: dict[str, tuple[str, ...]] = {spec.template_key: spec.variables for spec in EVENTS.values()}


def is_mandatory(category: str) -> bool:
    return category in MANDATORY


def default_enabled(category: str) -> bool:
    return category not in DEFAULT_OFF
