"""Runtime settings: the typed registry, encryption of secrets, storage, history and events."""
