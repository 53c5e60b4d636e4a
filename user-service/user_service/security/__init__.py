"""Password hashing, signing keys and token minting."""
