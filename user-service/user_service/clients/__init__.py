"""API clients for the client-credentials grant (admin only)."""
