"""Notification Service: Email, SMS and push notifications with templates, preferences, retries and failover."""

__version__ = "0.1.0"
