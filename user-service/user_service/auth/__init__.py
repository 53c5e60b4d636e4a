"""Login (password and client credentials), refresh, logout, sessions, e-mail verification, password reset."""
