"""Encryption at rest of secret settings: Fernet (AES-128-CBC + HMAC-SHA256) with MultiFernet
rotation. ADMIN_SETTINGS_KEY holds comma-separated keys: the first encrypts, all decrypt; after
adding a new first key, `rotate` re-encrypts every stored secret with it so old keys can be removed."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretBoxError(ValueError):
    """A stored secret could not be decrypted with the configured keys."""


class SecretBox:
    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise SecretBoxError("ADMIN_SETTINGS_KEY is not configured")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in parts])

    def encrypt(self, clear: str) -> str:
        return self._fernet.encrypt(clear.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise SecretBoxError("cannot decrypt a stored secret (unknown key?)") from exc

    def rotate(self, token: str) -> str:
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise SecretBoxError("cannot re-encrypt a stored secret (unknown key?)") from exc
