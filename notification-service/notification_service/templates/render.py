"""Sandboxed Jinja2 rendering. Templates are admin-supplied text: the sandbox refuses attribute
tricks, HTML bodies are autoescaped, and undefined variables are errors (StrictUndefined)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from notification_service.catalog import KNOWN_KEYS

_html_env = SandboxedEnvironment(autoescape=True, undefined=StrictUndefined)
_text_env = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined)
_NAME = {"subject": _text_env, "body_text": _text_env, "body_html": _html_env}


class TemplateProblem(ValueError):
    """A template that cannot be used, with a message fit for the admin who wrote it."""


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    body_text: str
    body_html: str | None


@lru_cache(maxsize=512)
def _compiled(field: str, source: str) -> Template:
    """Compiling a template is the expensive part of rendering (Python bytecode generation):
    cache by source text, so each template version compiles once per process."""
    return _NAME[field].from_string(source)


def referenced_variables(parts: dict[str, str | None]) -> set[str]:
    found: set[str] = set()
    for field, source in parts.items():
        if not source:
            continue
        env = _NAME[field]
        try:
            found |= meta.find_undeclared_variables(env.parse(source))
        except TemplateSyntaxError as exc:
            raise TemplateProblem(f"{field}: syntax error on line {exc.lineno}: {exc.message}") from exc
    return found


def check_definition(key: str, parts: dict[str, str | None], required: list[str]) -> None:
    """Creation-time checks: syntax; every referenced variable is declared (or provided by the
    events of a known key); every required variable is one the sender can provide."""
    used = referenced_variables(parts)
    available = set(KNOWN_KEYS.get(key, ()))
    if key in KNOWN_KEYS:
        unknown = sorted(set(required) - available)
        if unknown:
            raise TemplateProblem(
                f"required variables not provided by the events of {key!r}: {', '.join(unknown)}"
            )
    undeclared = sorted(used - set(required) - available)
    if undeclared:
        raise TemplateProblem(f"template uses undeclared variables: {', '.join(undeclared)}")


def render(parts: dict[str, str | None], required: list[str], variables: dict[str, Any]) -> Rendered:
    missing = sorted(v for v in required if variables.get(v) in (None, ""))
    if missing:
        raise TemplateProblem(f"missing required variables: {', '.join(missing)}")
    out: dict[str, str | None] = {}
    for field in ("subject", "body_text", "body_html"):
        source = parts.get(field)
        if source is None:
            out[field] = None
            continue
        try:
            out[field] = _compiled(field, source).render(**variables)
        except UndefinedError as exc:
            raise TemplateProblem(f"{field}: {exc.message}") from exc
        except SecurityError as exc:
            raise TemplateProblem(f"{field}: unsafe template operation") from exc
        except TemplateSyntaxError as exc:
            raise TemplateProblem(f"{field}: syntax error on line {exc.lineno}: {exc.message}") from exc
    return Rendered(out["subject"] or "", out["body_text"] or "", out["body_html"])
