"""The Alembic tree matches the models; settings default to the sandbox and refuse placeholder
secrets in production."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi import FastAPI

from payment_service.models import Base
from payment_service.settings import Settings
from shared.settings import ServiceSettings


async def test_migrations_create_exactly_the_model_tables(app: FastAPI) -> None:
    def diff(sync_conn):
        return compare_metadata(MigrationContext.configure(sync_conn), Base.metadata)

    async with app.state.db.engine.connect() as conn:
        changes = await conn.run_sync(diff)
    # Only tables of this metadata are compared; the version table is not part of it.
    assert [c for c in changes if not (c[0] == "remove_table" and c[1].name == "alembic_version")] == []


def test_provider_urls_default_to_the_provider_sandbox() -> None:
    s = Settings(environment="test", provider_sandbox_url="http://127.0.0.1:18099")
    assert s.sslcommerz_base_url == "http://127.0.0.1:18099"
    assert s.paypal_base_url == "http://127.0.0.1:18099"
    assert s.payment_result_url.endswith("/api/v1/webhooks/sslcommerz/result")


def test_production_refuses_the_development_provider_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError) as info:
        Settings(environment="production", service_api_key="k" * 32, service_api_keys="a=" + "k" * 32)
    message = str(info.value)
    assert "SSLCOMMERZ_STORE_PASSWORD" in message and "PAYPAL_CLIENT_SECRET" in message
    assert "qwerty" not in message


def test_production_refuses_the_test_only_certificate_trust() -> None:
    with pytest.raises(ValueError):
        Settings(
            environment="production",
            service_api_key="k" * 32,
            service_api_keys="a=" + "k" * 32,
            sslcommerz_store_password="s" * 32,
            paypal_client_secret="p" * 32,
            paypal_cert_allow_http=True,
        )
    assert issubclass(Settings, ServiceSettings)
