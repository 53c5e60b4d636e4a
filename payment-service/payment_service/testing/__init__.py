"""Test support for the Payment Service (recorded provider payloads, a provider fake for
`httpx.MockTransport`, and a contract stub of transaction-service). Imported by tests only."""
