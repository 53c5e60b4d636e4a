"""Token signing keys: loading, generation, JWKS publication and rotation.

Two sources, chosen by configuration:

- `JWT_PRIVATE_KEY` / `JWT_PRIVATE_KEY_FILE` (PEM), plus `JWT_PREVIOUS_KEYS(_FILE)` (a PEM bundle of
  keys still published for verification). Rotating means changing those values and restarting.
- Otherwise the key directory (`JWT_KEY_DIR`, default `DATA_DIR/jwt-keys`): `current.pem` signs,
  `previous/<retired-epoch>-<kid>.pem` are still published. In development/test a key is generated
  there once if none exists; production refuses to start without a key. `python -m user_service
  rotate-keys` retires the current key and creates a new one; running processes notice the change
  within `JWT_KEY_RELOAD_INTERVAL` seconds. A retired key is pruned only once every token it signed
  has expired (retired longer ago than the refresh-token lifetime), so a rotation logs nobody out.

`kid` is the RFC 7638 JWK thumbprint of the public key.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from jwt import PyJWK
from jwt.algorithms import OKPAlgorithm, RSAAlgorithm

from shared.logging import get_logger
from user_service.settings import Settings

log = get_logger(__name__)

_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----.+?-----END \1-----", re.DOTALL)
CURRENT_FILE = "current.pem"
PREVIOUS_DIR = "previous"


class KeyConfigError(RuntimeError):
    """The signing key configuration is missing or unusable (the message never holds key material)."""


@dataclass
class SigningKey:
    kid: str
    algorithm: str  # "EdDSA" or "RS256"
    public_key: Any
    private_key: Any = None  # None for a previous key given as a public key only
    _pyjwk: PyJWK | None = field(default=None, repr=False)

    def jwk(self) -> dict[str, Any]:
        data: dict[str, Any]
        if self.algorithm == "EdDSA":
            data = OKPAlgorithm.to_jwk(self.public_key, as_dict=True)
        else:
            data = RSAAlgorithm.to_jwk(self.public_key, as_dict=True)
        data.update({"kid": self.kid, "alg": self.algorithm, "use": "sig"})
        return data

    def pyjwk(self) -> PyJWK:
        if self._pyjwk is None:
            self._pyjwk = PyJWK.from_dict(self.jwk())
        return self._pyjwk


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256) of the public key's required members."""
    required = ("crv", "kty", "x") if jwk["kty"] == "OKP" else ("e", "kty", "n")
    canonical = json.dumps({k: jwk[k] for k in required}, separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode()).digest())


def key_from_pem(pem: str | bytes) -> SigningKey:
    raw = pem.encode() if isinstance(pem, str) else pem
    private: Any = None
    try:
        if b"PRIVATE KEY" in raw:
            private = serialization.load_pem_private_key(raw, password=None)
            public: Any = private.public_key()
        else:
            public = serialization.load_pem_public_key(raw)
    except (ValueError, TypeError) as exc:
        raise KeyConfigError("a configured JWT key is not a readable unencrypted PEM key") from exc
    if isinstance(public, ed25519.Ed25519PublicKey):
        algorithm = "EdDSA"
        jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
    elif isinstance(public, rsa.RSAPublicKey):
        if public.key_size < 2048:
            raise KeyConfigError("RSA signing keys must have at least 2048 bits")
        algorithm = "RS256"
        jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
    else:
        raise KeyConfigError("JWT keys must be Ed25519 (EdDSA) or RSA (RS256)")
    return SigningKey(kid=thumbprint(jwk), algorithm=algorithm, public_key=public, private_key=private)


def keys_from_bundle(text: str) -> list[SigningKey]:
    return [key_from_pem(m.group(0)) for m in _PEM_BLOCK.finditer(text)]


def generate_pem(algorithm: str) -> bytes:
    private: Any = (
        ed25519.Ed25519PrivateKey.generate()
        if algorithm == "EdDSA"
        else rsa.generate_private_key(public_exponent=65537, key_size=3072)
    )
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_private(path: Path, data: bytes, *, exclusive: bool) -> bool:
    """Write atomically with mode 0600. `exclusive`: never replace an existing file (False if one
    was there — another process won the race)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o600)
        if exclusive:
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
        else:
            os.replace(tmp, path)
            tmp = ""
        return True
    finally:
        if tmp:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def rotate_key_dir(
    key_dir: Path, *, algorithm: str, keep_seconds: float, now: float | None = None
) -> SigningKey:
    """Retire `current.pem` into `previous/`, create a new current key, prune keys retired more than
    `keep_seconds` ago. Returns the new key."""
    now = time.time() if now is None else now
    current_path = key_dir / CURRENT_FILE
    previous_dir = key_dir / PREVIOUS_DIR
    if current_path.exists():
        old_pem = current_path.read_bytes()
        old = key_from_pem(old_pem)
        # Keep the old key published before the new one starts signing.
        _write_private(previous_dir / f"{int(now)}-{old.kid}.pem", old_pem, exclusive=False)
    new_pem = generate_pem(algorithm)
    _write_private(current_path, new_pem, exclusive=False)
    for path in previous_dir.glob("*.pem") if previous_dir.exists() else []:
        retired = path.name.split("-", 1)[0]
        if retired.isdigit() and int(retired) < now - keep_seconds:
            path.unlink(missing_ok=True)
    return key_from_pem(new_pem)


class KeyStore:
    """The signing key and the keys still published. Thread-safe reloads from the key directory."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.current: SigningKey | None = None
        self.previous: list[SigningKey] = []
        self._by_kid: dict[str, SigningKey] = {}
        self._dir_signature: tuple[Any, ...] | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    @property
    def uses_key_dir(self) -> bool:
        s = self.settings
        return not (s.jwt_private_key.get_secret_value() or s.jwt_private_key_file)

    def load(self) -> None:
        s = self.settings
        if not self.uses_key_dir:
            pem = s.jwt_private_key.get_secret_value()
            if not pem and s.jwt_private_key_file:
                pem = Path(s.jwt_private_key_file).read_text()
            current = key_from_pem(pem)
            previous_text = s.jwt_previous_keys
            if s.jwt_previous_keys_file:
                previous_text += "\n" + Path(s.jwt_previous_keys_file).read_text()
            self._install(current, keys_from_bundle(previous_text))
            return
        self._load_dir()

    def _signature(self) -> tuple[Any, ...]:
        key_dir = self.settings.key_dir
        try:
            current = (key_dir / CURRENT_FILE).stat().st_mtime_ns
        except FileNotFoundError:
            current = None
        prev_dir = key_dir / PREVIOUS_DIR
        names = tuple(sorted(p.name for p in prev_dir.glob("*.pem"))) if prev_dir.exists() else ()
        return (current, names)

    def _load_dir(self) -> None:
        key_dir = self.settings.key_dir
        current_path = key_dir / CURRENT_FILE
        if not current_path.exists():
            if self.settings.environment == "production":
                raise KeyConfigError(
                    "no JWT signing key: set JWT_PRIVATE_KEY / JWT_PRIVATE_KEY_FILE or run "
                    "`python -m user_service rotate-keys` to create one in JWT_KEY_DIR"
                )
            if _write_private(current_path, generate_pem(self.settings.jwt_key_algorithm), exclusive=True):
                log.info("jwt_key_generated", key_dir=str(key_dir))
        signature = self._signature()
        current = key_from_pem(current_path.read_bytes())
        previous_dir = key_dir / PREVIOUS_DIR
        previous = (
            [key_from_pem(p.read_bytes()) for p in sorted(previous_dir.glob("*.pem"), reverse=True)]
            if previous_dir.exists()
            else []
        )
        self._install(current, previous)
        self._dir_signature = signature

    def _install(self, current: SigningKey, previous: list[SigningKey]) -> None:
        if current.private_key is None:
            raise KeyConfigError("the current JWT key must be a private key")
        previous = [k for k in previous if k.kid != current.kid]
        by_kid = {k.kid: k for k in previous}
        by_kid[current.kid] = current
        with self._lock:
            self.current, self.previous, self._by_kid = current, previous, by_kid
        log.info("jwt_keys_loaded", kid=current.kid, previous=len(previous))

    def maybe_reload(self) -> None:
        """Pick up a rotation done by another process (cheap: a stat() at most every interval)."""
        if not self.uses_key_dir:
            return
        now = time.monotonic()
        if now - self._checked_at < self.settings.jwt_key_reload_interval:
            return
        self._checked_at = now
        if self._signature() != self._dir_signature:
            self._load_dir()

    def signing_key(self) -> SigningKey:
        self.maybe_reload()
        assert self.current is not None, "KeyStore.load() not called"
        return self.current

    def get(self, kid: str) -> SigningKey | None:
        key = self._by_kid.get(kid)
        if key is None:
            self.maybe_reload()
            key = self._by_kid.get(kid)
        return key

    def jwks(self) -> dict[str, Any]:
        self.maybe_reload()
        keys = [self.current, *self.previous] if self.current else []
        return {"keys": [k.jwk() for k in keys]}


class LocalJWKS:
    """The verifier's key source (`shared.auth.KeySource`) inside user-service: its own key store,
    no HTTP round trip."""

    def __init__(self, store: KeyStore) -> None:
        self.store = store

    async def get(self, kid: str) -> PyJWK | None:
        key = self.store.get(kid)
        return key.pyjwk() if key is not None else None
