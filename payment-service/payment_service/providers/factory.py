"""Builds the provider clients from the effective runtime settings (`payment_service.runtime`).

A client is a thin object over the one provider HTTP client of the lifespan: rebuilding one on a
settings change costs nothing, and an in-flight call simply finishes on the client object it
started with (same connection pool, closed only when the lifespan ends). A new `PayPalClient`
starts with an empty token cache, so an OAuth token obtained with old credentials or from an old
base URL is never sent with the new ones.
"""

from __future__ import annotations

import httpx

from payment_service.providers.base import Recorder, no_recorder
from payment_service.providers.paypal import PayPalClient
from payment_service.providers.sslcommerz import SSLCommerzClient
from payment_service.runtime import RuntimeSettings


class ProviderFactory:
    def __init__(self, http: httpx.AsyncClient, runtime: RuntimeSettings, recorder: Recorder = no_recorder):
        self.http = http
        self.runtime = runtime
        self.recorder = recorder

    def sslcommerz(self) -> SSLCommerzClient:
        rt = self.runtime
        return SSLCommerzClient(
            self.http,
            base_url=rt.sslcommerz_base_url,
            store_id=rt.sslcommerz_store_id,
            store_password=rt.sslcommerz_store_password,
            timeout=rt.settings.sslcommerz_timeout_seconds,
            recorder=self.recorder,
        )

    def paypal(self) -> PayPalClient:
        rt = self.runtime
        return PayPalClient(
            self.http,
            base_url=rt.paypal_base_url,
            client_id=rt.paypal_client_id,
            client_secret=rt.paypal_client_secret,
            timeout=rt.settings.paypal_timeout_seconds,
            token_skew=rt.settings.paypal_token_skew_seconds,
            recorder=self.recorder,
        )
