"""Per-user preferences by category and channel, and optional quiet hours."""
