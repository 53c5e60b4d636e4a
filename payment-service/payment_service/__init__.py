"""Payment Service: SSLCommerz pay-in, IPN validation, PayPal Payouts, refunds and provider webhooks."""

__version__ = "0.1.0"
