"""Channels behind one interface: a `Provider` sends one `Outgoing` message and returns the
provider's message id or raises `ProviderError` (retryable or permanent)."""
