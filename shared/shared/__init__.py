"""Cross-cutting plumbing shared by every service: settings, logging, errors, database,
auth verification, service keys, HTTP clients, outbox/inbox, money, health and metrics.

Nothing here knows about a service's domain.
"""
