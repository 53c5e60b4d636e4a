"""SSLCommerz `verify_sign` / `verify_sign_sha2` (providers.md §2.5).

`verify_key` lists the signed fields; the signed string is `k=v&…` over those fields plus
`store_passwd = H(store_password)`, keys sorted ascending, values not URL-encoded, missing values
empty; `verify_sign = md5(string)`. The sha2 variant uses sha256 for both hashes (matches the
official README vector; its general correctness is UNCERTAIN per providers.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping

SIGNATURE_FIELDS = ("verify_sign", "verify_sign_sha2", "verify_key")


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()  # the provider's algorithm, not ours


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def signed_string(
    fields: Mapping[str, str | None], store_password: str, hasher: Callable[[bytes], str]
) -> str:
    keys = [k for k in (fields.get("verify_key") or "").split(",") if k]
    data = {k: fields.get(k) or "" for k in keys}
    data["store_passwd"] = hasher(store_password.encode())
    return "&".join(f"{k}={data[k]}" for k in sorted(data))


def verify_sign(fields: Mapping[str, str | None], store_password: str) -> str:
    return _md5(signed_string(fields, store_password, _md5).encode())


def verify_sign_sha2(fields: Mapping[str, str | None], store_password: str) -> str:
    return _sha256(signed_string(fields, store_password, _sha256).encode())


def sign(fields: dict[str, str], store_password: str) -> dict[str, str]:
    """Return `fields` plus `verify_key` (every field, sorted), `verify_sign`, `verify_sign_sha2`."""
    out = {k: v for k, v in fields.items() if k not in SIGNATURE_FIELDS}
    out["verify_key"] = ",".join(sorted(out))
    out["verify_sign"] = verify_sign(out, store_password)
    out["verify_sign_sha2"] = verify_sign_sha2(out, store_password)
    return out
