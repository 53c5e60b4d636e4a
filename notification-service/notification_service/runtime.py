"""Runtime settings owned by admin-service (platform-wide channel switches, default quiet hours).

Env values are the defaults (EMAIL_ENABLED, SMS_ENABLED, PUSH_ENABLED, DEFAULT_QUIET_HOURS);
admin-service's `GET /internal/settings` (polled every RUNTIME_SETTINGS_INTERVAL ≤ 60 s) and
`setting.changed` events override them without a restart (`shared.runtime_settings`). Keys are
accepted bare (`sms_enabled`) or prefixed (`notification.sms_enabled`); None resets to the env
default; invalid values are ignored and logged by key.

Effect: a switched-off channel is not sent — new messages become `suppressed` with reason
`channel_disabled` at enqueue, and the delivery worker suppresses queued ones of that channel when
they fall due (and re-checks right before each send). Default quiet hours hold non-mandatory
SMS/push of users without their own quiet hours, exactly like a user's own.
"""

from __future__ import annotations

from typing import Any

import shared.runtime_settings as rs
from notification_service.models import CHANNELS
from notification_service.settings import QuietWindow, Settings, parse_quiet_window

PARSERS: dict[str, rs.Parser] = {
    "email_enabled": rs.boolean,
    "sms_enabled": rs.boolean,
    "push_enabled": rs.boolean,
    "quiet_hours": parse_quiet_window,
}

# Bare key → Settings field holding its env default.
ENV_FIELDS = {"quiet_hours": "default_quiet_hours"}


class RuntimeSettings(rs.RuntimeSettings):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__(
            defaults=self._default,
            parsers=PARSERS,
            prefixes=("notification.", "notifications.", "notification_service."),
            admin_url=settings.url_of("admin-service"),
            interval=settings.runtime_settings_interval,
        )

    def _default(self, name: str) -> Any:
        return getattr(self.settings, ENV_FIELDS.get(name, name))

    def channel_enabled(self, channel: str) -> bool:
        """The platform-wide switch of `channel` (unknown channels have no switch)."""
        key = f"{channel}_enabled"
        return bool(self.value(key)) if key in self.parsers else True

    def disabled_channels(self) -> tuple[str, ...]:
        return tuple(c for c in CHANNELS if not self.channel_enabled(c))

    @property
    def quiet_hours(self) -> QuietWindow | None:
        """Platform default quiet hours, in `timezone`; None: no default."""
        return self.value("quiet_hours")

    @property
    def timezone(self) -> str:
        return self.settings.default_timezone
