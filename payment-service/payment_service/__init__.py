"""Payment Service: SSLCommerz pay-in sessions, IPN validation, PayPal Payouts, refunds and provider webhooks."""

__version__ = "0.1.0"
