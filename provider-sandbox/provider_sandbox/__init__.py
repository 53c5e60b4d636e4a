"""Provider Sandbox: Offline doubles of the SSLCommerz and PayPal APIs used by the platform (tests and `make run`)."""

__version__ = "0.1.0"
