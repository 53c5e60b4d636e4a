"""Audit Service: Tamper-evident, masked audit trail with search, analytics and compliance reports."""

__version__ = "0.1.0"
