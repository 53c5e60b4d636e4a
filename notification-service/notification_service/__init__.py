"""Notification Service: email, SMS and push with templates, preferences, retries and failover."""

__version__ = "0.1.0"
