"""The schema-check helper: fails on a mismatch, and only warns where PayPal's specs are absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from provider_sandbox import testing


def test_a_body_that_breaks_the_schema_fails_the_check() -> None:
    if not (testing.specs_dir() / testing.SPEC_FILES["webhooks"]).exists():
        pytest.skip(f"PayPal OpenAPI specs not found in {testing.specs_dir()}")
    with pytest.raises(AssertionError, match="verification_status"):
        testing.check_schema(
            {"verification_status": "MAYBE"}, "webhooks", "verify_webhook_signature_response"
        )


def test_without_the_specs_folder_only_the_check_is_skipped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(testing, "specs_dir", lambda: tmp_path)
    with pytest.warns(UserWarning, match="schema check skipped"):
        testing.check_schema({"anything": 1}, "payouts", "payout")
