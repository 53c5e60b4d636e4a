"""Async httpx clients for the outside world: SSLCommerz (pay-in) and PayPal (pay-out)."""
