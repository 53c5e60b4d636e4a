"""Signatures over checkpoints: HMAC-SHA256 with a shared secret, or Ed25519 (the public key is
published in the checkpoint export so an auditor can verify without any secret)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

HMAC, ED25519 = "hmac-sha256", "ed25519"


def checkpoint_message(entry_id: int, entry_hash: str, created_at: datetime) -> bytes:
    """The exact bytes signed: `audit-checkpoint/v1|<entry_id>|<entry_hash>|<created_at UTC ISO>`."""
    stamp = created_at.astimezone(UTC).isoformat(timespec="microseconds")
    return f"audit-checkpoint/v1|{entry_id}|{entry_hash}|{stamp}".encode()


def _load_ed25519(key: str) -> Ed25519PrivateKey:
    raw = key.strip()
    if raw.startswith("-----BEGIN"):
        loaded = serialization.load_pem_private_key(raw.encode(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ValueError("AUDIT_CHECKPOINT_KEY is not an Ed25519 private key")
        return loaded
    seed = base64.b64decode(raw)
    if len(seed) != 32:
        raise ValueError("AUDIT_CHECKPOINT_KEY must be a PEM key or base64 of a 32-byte Ed25519 seed")
    return Ed25519PrivateKey.from_private_bytes(seed)


class CheckpointSigner:
    def __init__(self, algorithm: str, key: str, key_id: str) -> None:
        if algorithm not in (HMAC, ED25519):
            raise ValueError(f"unknown checkpoint algorithm {algorithm!r}")
        if not key:
            raise ValueError("AUDIT_CHECKPOINT_KEY is required")
        self.algorithm = algorithm
        self.key_id = key_id
        self._secret = key.encode()
        self._private: Ed25519PrivateKey | None = _load_ed25519(key) if algorithm == ED25519 else None
        self._public: Ed25519PublicKey | None = self._private.public_key() if self._private else None

    def sign(self, message: bytes) -> str:
        if self._private is not None:
            return base64.b64encode(self._private.sign(message)).decode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def verify(self, message: bytes, signature: str, *, algorithm: str, key_id: str) -> bool:
        if algorithm != self.algorithm or key_id != self.key_id:
            return False  # signed with a key this instance does not hold
        if self._public is not None:
            try:
                self._public.verify(base64.b64decode(signature), message)
            except (InvalidSignature, ValueError):
                return False
            return True
        return hmac.compare_digest(self.sign(message), signature)

    def public_key_pem(self) -> str | None:
        if self._public is None:
            return None
        return self._public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
