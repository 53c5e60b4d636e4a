"""Signing keys: JWKS, rotation without logging anyone out, pruning, keys from the environment."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from fastapi import FastAPI

from shared.testing.plugin import asgi_client
from user_service.__main__ import main as cli
from user_service.main import create_app
from user_service.security.keys import KeyConfigError, KeyStore, rotate_key_dir
from user_service.settings import Settings

from .conftest import bearer, make_settings


async def test_jwks_publishes_the_signing_key(client: httpx.AsyncClient, app: FastAPI) -> None:
    resp = await client.get("/.well-known/jwks.json")

    assert resp.status_code == 200
    (key,) = resp.json()["keys"]
    assert key["kid"] == app.state.keystore.current.kid
    assert key["alg"] == "EdDSA" and key["kty"] == "OKP" and key["use"] == "sig"
    assert "d" not in key  # public part only


async def test_embedded_mode_generates_the_key_once(app: FastAPI, settings: Settings) -> None:
    path = settings.key_dir / "current.pem"
    async with asgi_client(app):
        first = path.read_bytes()
    assert (path.stat().st_mode & 0o777) == 0o600
    async with asgi_client(create_app(settings)) as c:
        kid = (await c.get("/.well-known/jwks.json")).json()["keys"][0]["kid"]
    store = KeyStore(settings)
    store.load()
    assert path.read_bytes() == first and store.current is not None and kid == store.current.kid


async def test_rotation_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_key(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, make_user
) -> None:
    user = await make_user()
    old = await user.login(client)
    old_kid = jwt.get_unverified_header(old["access_token"])["kid"]

    assert cli(["rotate-keys", "--key-dir", str(settings.key_dir)]) == 0

    kids = [k["kid"] for k in (await client.get("/.well-known/jwks.json")).json()["keys"]]
    new = await user.login(client)
    assert jwt.get_unverified_header(new["access_token"])["kid"] == kids[0] != old_kid
    assert kids[1] == old_kid
    assert (await client.get("/api/v1/users/me", headers=bearer(old["access_token"]))).status_code == 200
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": old["refresh_token"]})
    ).status_code == 200


def test_rotation_prunes_keys_only_after_their_tokens_expired(tmp_path) -> None:
    now = time.time()
    first = rotate_key_dir(tmp_path, algorithm="EdDSA", keep_seconds=100, now=now)
    rotate_key_dir(tmp_path, algorithm="EdDSA", keep_seconds=100, now=now + 10)
    assert [p.name.split("-", 1)[1] for p in (tmp_path / "previous").iterdir()] == [f"{first.kid}.pem"]

    rotate_key_dir(tmp_path, algorithm="EdDSA", keep_seconds=100, now=now + 200)

    remaining = [p.name for p in (tmp_path / "previous").iterdir()]
    assert len(remaining) == 1 and first.kid not in remaining[0]


def _pem(key: Any, private: bool = True) -> str:
    if private:
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


async def test_keys_from_the_environment_sign_rs256_and_publish_previous_keys(
    database_url: str, redis_url: str, tmp_path, make_user
) -> None:
    current = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    previous = ed25519.Ed25519PrivateKey.generate()
    key_file = tmp_path / "jwt.pem"
    key_file.write_text(_pem(current))
    settings = make_settings(
        database_url=database_url,
        redis_url=redis_url,
        data_dir=tmp_path,
        jwt_private_key_file=key_file,
        jwt_previous_keys=_pem(previous, private=False),
    )
    async with asgi_client(create_app(settings)) as c:
        keys = (await c.get("/.well-known/jwks.json")).json()["keys"]
        user = await make_user()
        token = (await user.login(c))["access_token"]
        ok = await c.get("/api/v1/users/me", headers=bearer(token))

    assert [k["alg"] for k in keys] == ["RS256", "EdDSA"]
    assert jwt.get_unverified_header(token)["alg"] == "RS256" and ok.status_code == 200


def test_production_refuses_to_start_without_a_key(tmp_path) -> None:
    strong = "k" * 8 + "9f3a1c7e5b2d4f60"
    settings = Settings(
        environment="production",
        data_dir=tmp_path,
        service_api_key=strong,
        service_api_keys=f"gateway={strong}",
        event_seal_key="x" * 44,
    )

    with pytest.raises(KeyConfigError):
        KeyStore(settings).load()
    assert not (tmp_path / "jwt-keys" / "current.pem").exists()


def test_rotate_keys_refuses_when_the_key_comes_from_the_environment(monkeypatch, capsys) -> None:
    monkeypatch.setenv("JWT_PRIVATE_KEY", _pem(ed25519.Ed25519PrivateKey.generate()))

    assert cli(["rotate-keys"]) == 2
    assert "JWT_PREVIOUS_KEYS" in capsys.readouterr().err
