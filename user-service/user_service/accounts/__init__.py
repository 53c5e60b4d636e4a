"""Users: registration, profiles, staff administration and the internal lookup."""
