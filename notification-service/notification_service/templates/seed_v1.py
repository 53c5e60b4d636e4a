# ruff: noqa: E501  (template texts read best on one line each)
"""Default templates seeded by migration 0002. Frozen: migrations import this module, so a change
here must come with a new migration (admins change templates through the API as new versions)."""

from __future__ import annotations

from typing import Any

APP = "{{ app_name }}"
_TXN = "{{ foreign_amount }} {{ foreign_currency }} ({{ total_bdt }} BDT), ref {{ internal_tran_id }}"


def _email(
    key: str, category: str, subject: str, text: str, req: list[str], lang: str = "en"
) -> dict[str, Any]:
    # The HTML part is the text part, escaped by autoescape, paragraph per line.
    html_body = "".join(f"<p>{line}</p>" for line in text.split("\n") if line.strip())
    return {
        "key": key,
        "channel": "email",
        "language": lang,
        "category": category,
        "subject": subject,
        "body_text": text,
        "body_html": f"<!DOCTYPE html><html><body>{html_body}</body></html>",
        "required_variables": req,
    }


def _short(
    key: str, channel: str, category: str, subject: str, text: str, req: list[str], lang: str = "en"
) -> dict[str, Any]:
    return {
        "key": key,
        "channel": channel,
        "language": lang,
        "category": category,
        "subject": subject,
        "body_text": text,
        "body_html": None,
        "required_variables": req,
    }


U = ["user_name"]
T = ["user_name", "internal_tran_id", "foreign_amount", "foreign_currency", "total_bdt"]

TEMPLATES: list[dict[str, Any]] = [
    _email(
        "welcome",
        "account",
        f"Welcome to {APP}",
        f"Hello {{{{ user_name }}}},\nWelcome to {APP}. Your username is {{{{ username }}}}.\nVerify your email address to start sending money.",
        ["user_name", "username"],
    ),
    _email(
        "welcome",
        "account",
        f"{APP}-এ স্বাগতম",
        f"প্রিয় {{{{ user_name }}}},\n{APP}-এ আপনাকে স্বাগতম। আপনার ইউজারনেম {{{{ username }}}}।",
        ["user_name", "username"],
        "bn",
    ),
    _email(
        "email_verification",
        "security",
        "Verify your email address",
        "Hello {{ user_name }},\nConfirm your email address by opening this link: {{ verification_url }}\nThe link expires at {{ expires_at }}. If you did not register, ignore this message.",
        ["user_name", "verification_url"],
    ),
    _email(
        "password_reset",
        "security",
        "Reset your password",
        "Hello {{ user_name }},\nReset your password with this link: {{ reset_url }}\nThe link expires at {{ expires_at }}. If you did not ask for it, ignore this message; your password is unchanged.",
        ["user_name", "reset_url"],
    ),
    _email(
        "account_locked",
        "security",
        "Your account is temporarily locked",
        "Hello {{ user_name }},\nAfter several failed sign-in attempts your account is locked until {{ locked_until }}.\nIf this was not you, reset your password.",
        ["user_name", "locked_until"],
    ),
    _short(
        "account_locked",
        "sms",
        "security",
        "",
        f"{APP}: your account is locked until {{{{ locked_until }}}} after failed sign-ins.",
        ["locked_until"],
    ),
    _email(
        "password_changed",
        "security",
        "Your password was changed",
        "Hello {{ user_name }},\nYour password was just changed. If this was not you, contact support at once.",
        U,
    ),
    _email(
        "transaction_created",
        "transactions",
        "Complete your payment for {{ internal_tran_id }}",
        f"Hello {{{{ user_name }}}},\nYour transfer {_TXN} is created.\nPay here: {{{{ payment_url }}}}\nThe payment link expires at {{{{ expires_at }}}}.",
        [*T, "payment_url"],
    ),
    _short(
        "transaction_created",
        "sms",
        "transactions",
        "",
        f"{APP}: pay {{{{ total_bdt }}}} BDT for {{{{ internal_tran_id }}}}: {{{{ payment_url }}}}",
        ["internal_tran_id", "total_bdt", "payment_url"],
    ),
    _email(
        "transaction_bdt_received",
        "transactions",
        "Payment received for {{ internal_tran_id }}",
        f"Hello {{{{ user_name }}}},\nWe received your payment for {_TXN}. We are sending the money now.",
        T,
    ),
    _short(
        "transaction_bdt_received",
        "push",
        "transactions",
        "Payment received",
        "We received {{ total_bdt }} BDT for {{ internal_tran_id }}.",
        ["internal_tran_id", "total_bdt"],
    ),
    _email(
        "transaction_completed",
        "transactions",
        "Transfer {{ internal_tran_id }} completed",
        f"Hello {{{{ user_name }}}},\nYour transfer {_TXN} is complete.",
        T,
    ),
    _email(
        "transaction_completed",
        "transactions",
        "লেনদেন {{ internal_tran_id }} সম্পন্ন",
        f"প্রিয় {{{{ user_name }}}},\nআপনার লেনদেন {_TXN} সম্পন্ন হয়েছে।",
        T,
        "bn",
    ),
    _short(
        "transaction_completed",
        "sms",
        "transactions",
        "",
        f"{APP}: transfer {{{{ internal_tran_id }}}} of {{{{ foreign_amount }}}} {{{{ foreign_currency }}}} completed.",
        ["internal_tran_id", "foreign_amount", "foreign_currency"],
    ),
    _short(
        "transaction_completed",
        "sms",
        "transactions",
        "",
        f"{APP}: লেনদেন {{{{ internal_tran_id }}}} ({{{{ foreign_amount }}}} {{{{ foreign_currency }}}}) সম্পন্ন হয়েছে।",
        ["internal_tran_id", "foreign_amount", "foreign_currency"],
        "bn",
    ),
    _short(
        "transaction_completed",
        "push",
        "transactions",
        "Transfer completed",
        "{{ foreign_amount }} {{ foreign_currency }} sent ({{ internal_tran_id }}).",
        ["internal_tran_id", "foreign_amount", "foreign_currency"],
    ),
    _email(
        "transaction_failed",
        "transactions",
        "Transfer {{ internal_tran_id }} failed",
        f"Hello {{{{ user_name }}}},\nYour transfer {_TXN} failed: {{{{ reason }}}}.\nIf you were charged, the amount will be refunded.",
        [*T, "reason"],
    ),
    _short(
        "transaction_failed",
        "sms",
        "transactions",
        "",
        f"{APP}: transfer {{{{ internal_tran_id }}}} failed: {{{{ reason }}}}.",
        ["internal_tran_id", "reason"],
    ),
    _short(
        "transaction_failed",
        "sms",
        "transactions",
        "",
        f"{APP}: লেনদেন {{{{ internal_tran_id }}}} ব্যর্থ হয়েছে: {{{{ reason }}}}।",
        ["internal_tran_id", "reason"],
        "bn",
    ),
    _short(
        "transaction_failed",
        "push",
        "transactions",
        "Transfer failed",
        "Transfer {{ internal_tran_id }} failed: {{ reason }}.",
        ["internal_tran_id", "reason"],
    ),
    _email(
        "transaction_refunded",
        "transactions",
        "Refund for {{ internal_tran_id }}",
        f"Hello {{{{ user_name }}}},\nWe refunded {{{{ total_bdt }}}} BDT for {_TXN}.",
        T,
    ),
    _short(
        "transaction_refunded",
        "sms",
        "transactions",
        "",
        f"{APP}: {{{{ total_bdt }}}} BDT refunded for {{{{ internal_tran_id }}}}.",
        ["internal_tran_id", "total_bdt"],
    ),
    _email(
        "transaction_expired",
        "transactions",
        "Transfer {{ internal_tran_id }} expired",
        f"Hello {{{{ user_name }}}},\nYour transfer {_TXN} expired before payment. Nothing was charged; create a new transfer when ready.",
        T,
    ),
]
