"""Validate bodies against PayPal's own OpenAPI documents, read from `../shared/provider-specs/`
beside the repository (never copied into it). Absent folder → the check is skipped with a message."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

SPECS = Path(__file__).resolve().parents[3] / ".." / "shared" / "provider-specs"
PAYOUTS = "paypal-payments_payouts_batch_v1.json"
WEBHOOKS = "paypal-notifications_webhooks_v1.json"


@cache
def _document(name: str) -> dict[str, Any]:
    path = (SPECS / name).resolve()
    if not path.exists():
        pytest.skip(f"PayPal OpenAPI document {name} not found at {path.parent}; spec fidelity check skipped")
    return json.loads(path.read_text())


def validate(document: str, schema_name: str, instance: Any) -> None:
    """Raise `jsonschema.ValidationError` unless `instance` fits `#/components/schemas/<name>`."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    doc = _document(document)
    uri = f"urn:paypal:{document}"
    registry = Registry().with_resource(uri, Resource.from_contents(doc, default_specification=DRAFT202012))
    Draft202012Validator({"$ref": f"{uri}#/components/schemas/{schema_name}"}, registry=registry).validate(
        instance
    )
