"""Cross-service tests: real processes on free loopback ports."""
