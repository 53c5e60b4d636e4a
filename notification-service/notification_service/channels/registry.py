"""Build each channel's provider chain (primary + optional secondary) from the settings."""

from __future__ import annotations

from typing import Any

import httpx

from notification_service.channels.base import Provider, ProviderChain
from notification_service.channels.email import SmtpProvider
from notification_service.channels.push import FcmProvider
from notification_service.channels.sms import TwilioProvider
from notification_service.settings import Settings


def build_chains(settings: Settings, http: httpx.AsyncClient) -> dict[str, ProviderChain]:
    s = settings
    common: dict[str, Any] = {
        "timeout": s.smtp_timeout,
        "validate_certs": s.smtp_validate_certs,
        "sender": s.email_from,
        "message_id_domain": s.email_message_id_domain,
        "unsubscribe_url": s.unsubscribe_url,
        "unsubscribe_mailto": s.unsubscribe_mailto,
    }
    email: list[Provider] = [
        SmtpProvider(
            "smtp-primary",
            host=s.smtp_host,
            port=s.smtp_port,
            security=s.smtp_security,
            username=s.smtp_username,
            password=s.smtp_password.get_secret_value(),
            **common,
        )
    ]
    if s.smtp_secondary_host:
        email.append(
            SmtpProvider(
                "smtp-secondary",
                host=s.smtp_secondary_host,
                port=s.smtp_secondary_port,
                security=s.smtp_secondary_security,
                username=s.smtp_secondary_username,
                password=s.smtp_secondary_password.get_secret_value(),
                **common,
            )
        )
    sms: list[Provider] = [
        TwilioProvider(
            "twilio-primary",
            http=http,
            base_url=s.sms_base_url,
            account_sid=s.twilio_account_sid,
            auth_token=s.twilio_auth_token.get_secret_value(),
            sender=s.sms_from,
        )
    ]
    if s.sms_secondary_base_url:
        sms.append(
            TwilioProvider(
                "twilio-secondary",
                http=http,
                base_url=s.sms_secondary_base_url,
                account_sid=s.twilio_secondary_account_sid or s.twilio_account_sid,
                auth_token=(
                    s.twilio_secondary_auth_token.get_secret_value() or s.twilio_auth_token.get_secret_value()
                ),
                sender=s.sms_from,
            )
        )
    push: list[Provider] = [
        FcmProvider(
            "fcm-primary",
            http=http,
            base_url=s.fcm_base_url,
            project_id=s.fcm_project_id,
            access_token=s.fcm_access_token.get_secret_value(),
        )
    ]
    if s.fcm_secondary_base_url:
        push.append(
            FcmProvider(
                "fcm-secondary",
                http=http,
                base_url=s.fcm_secondary_base_url,
                project_id=s.fcm_secondary_project_id or s.fcm_project_id,
                access_token=(
                    s.fcm_secondary_access_token.get_secret_value() or s.fcm_access_token.get_secret_value()
                ),
            )
        )
    t, r = s.breaker_failure_threshold, s.breaker_reset_seconds
    return {
        "email": ProviderChain(email, t, r),
        "sms": ProviderChain(sms, t, r),
        "push": ProviderChain(push, t, r),
    }


async def close_chains(chains: dict[str, ProviderChain]) -> None:
    """Close pooled provider connections (SMTP sessions) at shutdown."""
    for chain in chains.values():
        for provider in chain.providers:
            close = getattr(provider, "close", None)
            if close is not None:
                await close()
