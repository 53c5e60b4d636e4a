"""Provider Sandbox: offline doubles of the SSLCommerz and PayPal APIs (and of the SMS, push and FX
providers) used by the platform in tests and `make run`."""

__version__ = "0.1.0"
