"""Admin Service: Runtime settings, user management, dashboards, reports and system operations."""

__version__ = "0.1.0"
