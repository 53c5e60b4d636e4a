"""Templates: versioned rows, sandboxed Jinja2 rendering, admin CRUD and preview."""
