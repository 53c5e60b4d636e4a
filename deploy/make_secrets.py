"""Generate the platform's secrets with random values (consistent passwords and URLs).

    .venv/bin/python deploy/make_secrets.py compose deploy/compose/secrets   # files for compose prod
    .venv/bin/python deploy/make_secrets.py k8s | kubectl apply -f -         # Kubernetes Secrets

Values are hex or Fernet keys, never placeholders (the services refuse to start in production with
a missing, short or placeholder-looking secret). Existing compose files are kept unless --force.
Generated too: user-service's JWT signing key (Ed25519 PEM, one for all replicas), audit-service's
checkpoint key and admin-service's settings encryption key (Fernet). Provider credentials
(SSLCOMMERZ_STORE_PASSWORD, PAYPAL_CLIENT_SECRET, rate API keys) cannot be generated: they are
taken from this script's environment when set, else left empty, and payment-service then refuses
to start in production until they are filled in.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import sys
from pathlib import Path

from common import (
    DB_NAME,
    GENERATED_SECRETS,
    NAMESPACE,
    OPERATOR_SECRETS,
    app_services,
    db_services,
    dump_plain,
)
from render_k8s_infra import postgres_secret_keys, service_secret_keys

from shared.settings import PLACEHOLDER_MARKERS
from shared.topology import ServiceSpec


def _token() -> str:
    return secrets.token_hex(32)


def _fernet_key() -> str:
    while True:
        key = base64.urlsafe_b64encode(os.urandom(32)).decode()
        if not any(m in key.lower() for m in PLACEHOLDER_MARKERS):
            return key


def _ed25519_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


GENERATORS = {
    "JWT_PRIVATE_KEY": _ed25519_pem,
    "AUDIT_CHECKPOINT_KEY": _token,
    "ADMIN_SETTINGS_KEY": _fernet_key,
}


def generate(*, pg_host: str = "postgres", redis_host: str = "redis") -> dict[str, dict[str, str]]:
    """`{owner: {VARIABLE: value}}` for postgres, redis and every service."""
    services = app_services(with_sandbox=True)
    db_pw = {s.name: _token() for s in db_services()}
    redis_pw = _token()
    keys = {s.name: _token() for s in services}
    accepted = ",".join(f"{name}={key}" for name, key in keys.items())
    seal = _fernet_key()
    out: dict[str, dict[str, str]] = {
        "postgres": {"POSTGRES_PASSWORD": _token()}
        | {f"{s.schema.upper()}_DB_PASSWORD": db_pw[s.name] for s in db_services() if s.schema},
        "redis": {"REDIS_PASSWORD": redis_pw},
    }
    for s in services:
        values: dict[str, str] = {}
        if s.schema:
            values["DATABASE_URL"] = f"postgresql://{s.package}:{db_pw[s.name]}@{pg_host}:5432/{DB_NAME}"
        values |= {
            "REDIS_URL": f"redis://:{redis_pw}@{redis_host}:6379/0",
            "SERVICE_API_KEY": keys[s.name],
            "SERVICE_API_KEYS": accepted,
            "EVENT_SEAL_KEY": seal,
        }
        values |= {key: GENERATORS[key]() for key in GENERATED_SECRETS.get(s.name, ())}
        values |= {key: os.environ.get(key, "") for key in OPERATOR_SECRETS.get(s.name, ())}
        out[s.name] = values
    return out


def missing_operator_secrets(values: dict[str, dict[str, str]]) -> list[str]:
    return [f"{name}: {key}" for name, keys in OPERATOR_SECRETS.items() for key in keys
            if not values[name][key] and name == "payment-service"]


def compose_files(values: dict[str, dict[str, str]]) -> dict[str, str]:
    """File name → content, as docker-compose.prod.yml's top-level `secrets:` names them."""
    files = {"postgres_password": values["postgres"]["POSTGRES_PASSWORD"],
             "redis_password": values["redis"]["REDIS_PASSWORD"]}
    by_name: dict[str, ServiceSpec] = {s.name: s for s in app_services(with_sandbox=False)}
    gateway = values["gateway"]
    files |= {"redis_url": gateway["REDIS_URL"], "service_api_keys": gateway["SERVICE_API_KEYS"],
              "event_seal_key": gateway["EVENT_SEAL_KEY"]}
    for s in db_services():
        if s.schema:
            files[f"{s.schema}_db_password"] = values["postgres"][f"{s.schema.upper()}_DB_PASSWORD"]
            files[f"{s.package}_database_url"] = values[s.name]["DATABASE_URL"]
    for name, s in by_name.items():
        files[f"{s.package}_service_api_key"] = values[name]["SERVICE_API_KEY"]
        for key in (*GENERATED_SECRETS.get(name, ()), *OPERATOR_SECRETS.get(name, ())):
            files[f"{s.package}_{key.lower()}"] = values[name][key]
    return files


def k8s_secrets(values: dict[str, dict[str, str]]) -> list[dict[str, object]]:
    def secret(name: str, data: dict[str, str]) -> dict[str, object]:
        return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": name, "namespace": NAMESPACE}, "stringData": data}

    docs: list[dict[str, object]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        secret("postgres-credentials", {k: values["postgres"][k] for k in postgres_secret_keys()}),
        secret("redis-credentials", values["redis"]),
    ]
    for s in app_services(with_sandbox=True):
        keys = service_secret_keys(s)
        docs.append(secret(f"{s.name}-secrets", {k: values[s.name][k] for k in keys}))
    return docs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="target", required=True)
    c = sub.add_parser("compose", help="write one file per secret into a folder")
    c.add_argument("folder", type=Path)
    c.add_argument("--force", action="store_true", help="overwrite existing files")
    sub.add_parser("k8s", help="print Secret manifests (pipe into kubectl apply -f -)")
    args = parser.parse_args(argv)
    values = generate()
    for missing in missing_operator_secrets(values):
        sys.stderr.write(f"note: {missing} is empty (set it in the environment or fill it in later)\n")
    if args.target == "k8s":
        sys.stdout.write(dump_plain(k8s_secrets(values)))
        return 0
    folder: Path = args.folder
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)  # the folder guards the files on the host
    existing = [n for n in compose_files(values) if (folder / n).exists()]
    if existing and not args.force:
        sys.stderr.write(f"{len(existing)} secret files exist in {folder}; keep them or pass --force\n")
        return 1
    for name, value in compose_files(values).items():
        path = folder / name
        path.write_text(value if value.endswith("\n") or not value else value + "\n")
        # Readable by the containers' unprivileged users (bind-mounted as is by compose).
        path.chmod(0o644)
    sys.stdout.write(f"wrote {len(compose_files(values))} secret files to {folder}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
