"""PayPal double: OAuth2 tokens, Payouts v1 and signed webhooks (Webhooks v1 verification)."""
