"""Read-only internal views for admin-service: row streams for reports and dashboards, held
transactions, per-user summaries (service API key)."""
