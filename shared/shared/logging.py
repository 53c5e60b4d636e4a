"""structlog JSON logging with request/user/service context and masking.

`configure_logging()` routes the standard library (uvicorn, SQLAlchemy) through the same
processors, so every line is one JSON object carrying `request_id`, `user_id` and `service`.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from typing import Any

import structlog

from shared.masking import mask_text, mask_value

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
traceparent_var: ContextVar[str | None] = ContextVar("traceparent", default=None)
user_id_var: ContextVar[str | None] = ContextVar("user_id", default=None)
service_var: ContextVar[str | None] = ContextVar("service", default=None)

_RESERVED = {"event", "level", "timestamp", "logger", "request_id", "user_id", "service", "exc_info"}


def _add_context(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key, var in (("request_id", request_id_var), ("user_id", user_id_var), ("service", service_var)):
        value = var.get()
        if value is not None:
            event_dict.setdefault(key, value)
    return event_dict


def _mask(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key, value in list(event_dict.items()):
        if key in _RESERVED and key != "event":
            continue
        if key == "event" and isinstance(value, str):
            event_dict[key] = mask_text(value)
        else:
            event_dict[key] = mask_value(key, value)
    return event_dict


def configure_logging(service: str, level: str = "INFO", fmt: str = "json") -> None:
    service_var.set(service)
    shared_processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_context,
        _mask,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared_processors, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    # Our own middleware writes the access log (with request ids); uvicorn's would duplicate it.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
