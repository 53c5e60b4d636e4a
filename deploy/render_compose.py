"""`docker-compose.yml` (development) and `docker-compose.prod.yml` (one host, production)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from common import (
    ANY_HOST,
    DB_NAME,
    DEPLOY_CONFIG,
    NGINX_IMAGE,
    OPERATOR_CONFIG,
    POSTGRES_IMAGE,
    PROD_CONFIG,
    REDIS_IMAGE,
    ROOT,
    SANDBOX,
    TLS_CONFIG,
    TMP,
    UID,
    app_services,
    db_services,
    dump_yaml,
    extra_secret_keys,
    health_cmd,
    image,
    url_env,
)

from shared.topology import ServiceSpec

INIT_MOUNT = "./deploy/postgres/init-schemas.sh:/docker-entrypoint-initdb.d/10-init-schemas.sh:ro"
# nginx/nginx.conf.template (gateway folder) is a whole nginx.conf with ${UPPER_CASE} placeholders:
# the nginx image's entrypoint renders /etc/nginx/templates/*.template with envsubst into
# NGINX_ENVSUBST_OUTPUT_DIR (a tmpfs here), and nginx runs with the rendered file.
NGINX_TEMPLATE = "./nginx/nginx.conf.template:/etc/nginx/templates/nginx.conf.template:ro"
NGINX_RENDERED = "/etc/nginx/rendered"
NGINX_ENV = {
    "NGINX_ENVSUBST_OUTPUT_DIR": NGINX_RENDERED,
    "NGINX_LISTEN_PORT": "80",
    "GATEWAY_UPSTREAM": "gateway:8000",
    "NGINX_WORKER_PROCESSES": "auto",
    # Clients' X-Forwarded-For is believed only from here: TEST-NET (nobody) when nginx is the edge;
    # set the load balancer's CIDR when one sits in front.
    "NGINX_REAL_IP_FROM": "192.0.2.1/32",
    "NGINX_CLIENT_MAX_BODY": "10m",
    "NGINX_REQ_RATE": "100r/s",
    "NGINX_REQ_BURST": "200",
    "NGINX_ACCESS_LOG": "/dev/stdout json",
}
SMTP_SINK_PORT = 1025

DEV_COMMENT = """\
Development stack: `cp <service>/.env.example <service>/.env` (optional overrides), then
  docker compose up --build        → http://localhost/ (nginx → gateway), /nginx-health
PostgreSQL 16 (one schema + one least-privilege role per service, deploy/postgres/init-schemas.sh),
Redis 7, one migration container per service (must complete before the service starts), the
provider-sandbox instead of PayPal/SSLCommerz and an SMTP sink. Development-only passwords below."""

PROD_COMMENT = """\
Production on one host. Before the first start:
  .venv/bin/python deploy/make_secrets.py compose deploy/compose/secrets   (random secrets, once)
  cp deploy/compose/env/payment-service.env.example deploy/compose/env/payment-service.env  (providers)
  put the TLS certificate in deploy/compose/certs/ (tls.crt, tls.key)
  IMAGE_TAG=1.0.0 docker compose -f docker-compose.prod.yml up -d --build
No sandbox or SMTP sink; secrets as files under /run/secrets (the image's entrypoint exports them);
read-only root filesystems; only nginx publishes ports (80, 443)."""


def _dev_password(schema: str) -> str:
    return f"dev-{schema}-db-password"


def _service_env(s: ServiceSpec, *, prod: bool) -> dict[str, str]:
    env: dict[str, str] = {
        "ENVIRONMENT": "production" if prod else "development",
        "HOST": ANY_HOST,
        "PORT": str(s.port),
    }
    if s.schema:
        env["DB_SCHEMA"] = s.schema
        if not prod:
            env["DATABASE_URL"] = (
                f"postgresql://{s.package}:{_dev_password(s.schema)}@postgres:5432/{DB_NAME}"
            )
    if not prod:
        env["REDIS_URL"] = "redis://redis:6379/0"
    env.update(url_env(lambda t: t.name))
    env.update(DEPLOY_CONFIG.get(s.name, {}))
    if prod:
        env.update(PROD_CONFIG.get(s.name, {}))
        env.update(TLS_CONFIG.get(s.name, {}))
    if not prod and s.name == "notification-service":
        # SMTP sink of the dev stack (setting names to be confirmed by notification-service).
        env["SMTP_HOST"] = "smtp-sink"
        env["SMTP_PORT"] = str(SMTP_SINK_PORT)
    return env


def _secrets_for(s: ServiceSpec) -> list[dict[str, str]]:
    out = [
        {"source": f"{s.package}_service_api_key", "target": "SERVICE_API_KEY"},
        {"source": "service_api_keys", "target": "SERVICE_API_KEYS"},
        {"source": "event_seal_key", "target": "EVENT_SEAL_KEY"},
        {"source": "redis_url", "target": "REDIS_URL"},
    ]
    if s.schema:
        out.insert(0, {"source": f"{s.package}_database_url", "target": "DATABASE_URL"})
    out += [{"source": f"{s.package}_{key.lower()}", "target": key} for key in extra_secret_keys(s.name)]
    return out


def _env_files(s: ServiceSpec, *, prod: bool) -> list[Any]:
    if prod:
        return [
            f"./{s.name}/.env.example",
            {"path": f"./deploy/compose/env/{s.name}.env", "required": s.name == "payment-service"},
        ]
    return [f"./{s.name}/.env.example", {"path": f"./{s.name}/.env", "required": False}]


def _hardening(limit_cpus: str, limit_mem: str) -> dict[str, Any]:
    return {
        "restart": "unless-stopped",
        "read_only": True,
        "tmpfs": [f"{TMP}:size=64m"],
        "security_opt": ["no-new-privileges:true"],
        "logging": {"driver": "json-file", "options": {"max-size": "10m", "max-file": "5"}},
        "deploy": {
            "resources": {
                "limits": {"cpus": limit_cpus, "memory": limit_mem},
                "reservations": {"cpus": "0.1", "memory": "128M"},
            }
        },
    }


def _build(s: ServiceSpec) -> dict[str, str]:
    return {"context": ".", "dockerfile": f"{s.name}/Dockerfile"}


def _app(s: ServiceSpec, *, prod: bool) -> dict[str, dict[str, Any]]:
    tag = "${IMAGE_TAG:?set IMAGE_TAG to the release tag}" if prod else "dev"
    deps: dict[str, Any] = {"redis": {"condition": "service_healthy"}}
    out: dict[str, dict[str, Any]] = {}
    if s.schema:
        deps["postgres"] = {"condition": "service_healthy"}
        migrate: dict[str, Any] = {
            "build": _build(s),
            "image": image(s, tag),
            "command": ["alembic", "-c", "alembic.ini", "upgrade", "head"],
            "env_file": _env_files(s, prod=prod),
            "environment": _service_env(s, prod=prod),
            "depends_on": {"postgres": {"condition": "service_healthy"}},
            "restart": "no",
            # One-shot: no readiness to report; compose waits for it to exit 0.
            "healthcheck": {"disable": True},
        }
        if prod:
            migrate |= {k: v for k, v in _hardening("0.5", "256M").items() if k != "restart"}
            migrate["cap_drop"] = ["ALL"]
            migrate["secrets"] = _secrets_for(s)
        out[f"{s.name}-migrate"] = migrate
        deps[f"{s.name}-migrate"] = {"condition": "service_completed_successfully"}
    if s.name == "gateway":
        for other in app_services(with_sandbox=False):
            if other.name != "gateway":
                deps[other.name] = {"condition": "service_started"}
    svc: dict[str, Any] = {
        "build": _build(s),
        "image": image(s, tag),
        "env_file": _env_files(s, prod=prod),
        "environment": _service_env(s, prod=prod),
        "expose": [str(s.port)],
        "depends_on": deps,
        "healthcheck": {
            "test": health_cmd(s),
            "interval": "15s",
            "timeout": "5s",
            "retries": 5,
            "start_period": "30s",
        },
        "restart": "unless-stopped",
    }
    if prod:
        svc |= _hardening("1.0", "512M")
        svc["cap_drop"] = ["ALL"]
        svc["user"] = f"{UID}:{UID}"
        svc["secrets"] = _secrets_for(s)
    out[s.name] = svc
    return out


def _postgres(*, prod: bool) -> dict[str, Any]:
    env: dict[str, str] = {"POSTGRES_DB": DB_NAME, "POSTGRES_USER": "postgres"}
    pg: dict[str, Any] = {
        "image": POSTGRES_IMAGE,
        "environment": env,
        "volumes": ["postgres-data:/var/lib/postgresql/data", INIT_MOUNT],
        "healthcheck": {
            "test": ["CMD-SHELL", f"pg_isready -U postgres -d {DB_NAME}"],
            "interval": "5s",
            "timeout": "5s",
            "retries": 20,
        },
        "restart": "unless-stopped",
    }
    if prod:
        env["POSTGRES_PASSWORD_FILE"] = "/run/secrets/postgres_password"
        pg["secrets"] = ["postgres_password"] + [f"{s.schema}_db_password" for s in db_services()]
        pg |= _hardening("2.0", "2G")
        pg["tmpfs"] = [f"{TMP}:size=64m", "/var/run/postgresql:size=8m"]
        pg["shm_size"] = "256m"
    else:
        env["POSTGRES_PASSWORD"] = "dev-postgres-password"
        env.update({f"{s.schema.upper()}_DB_PASSWORD": _dev_password(s.schema) for s in db_services()})
    return pg


def _redis(*, prod: bool) -> dict[str, Any]:
    redis: dict[str, Any] = {
        "image": REDIS_IMAGE,
        "command": ["redis-server", "--appendonly", "yes", "--save", "60 1000"],
        "volumes": ["redis-data:/data"],
        "healthcheck": {
            "test": ["CMD", "redis-cli", "ping"], "interval": "5s", "timeout": "3s", "retries": 20,
        },
        "restart": "unless-stopped",
    }
    if prod:
        # The password comes from a secret file; `$$` escapes compose interpolation.
        redis["command"] = [
            "sh", "-c",
            'exec redis-server --appendonly yes --save "60 1000"'
            ' --requirepass "$$(cat /run/secrets/redis_password)"',
        ]
        redis["healthcheck"]["test"] = [
            "CMD-SHELL", 'REDISCLI_AUTH="$$(cat /run/secrets/redis_password)" redis-cli ping | grep -q PONG',
        ]
        redis["secrets"] = ["redis_password"]
        redis |= _hardening("0.5", "512M")
    return redis


def _nginx(*, prod: bool) -> dict[str, Any]:
    nginx: dict[str, Any] = {
        "image": NGINX_IMAGE,
        "command": ["nginx", "-c", f"{NGINX_RENDERED}/nginx.conf", "-g", "daemon off;"],
        "ports": ["80:80", "443:443"] if prod else ["80:80"],
        "volumes": [NGINX_TEMPLATE],
        "tmpfs": [f"{NGINX_RENDERED}:size=1m"],
        "environment": dict(NGINX_ENV),
        "depends_on": {"gateway": {"condition": "service_healthy"}},
        "healthcheck": {
            "test": ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1/nginx-health || exit 1"],
            "interval": "15s",
            "timeout": "5s",
            "retries": 5,
        },
        "restart": "unless-stopped",
    }
    if prod:
        # TLS: the certificate and key (tls.crt, tls.key) for the 443 server block (nginx/README).
        nginx["volumes"] = [
            NGINX_TEMPLATE,
            "./nginx/tls.conf:/etc/nginx/tls.d/tls.conf:ro",
            "./deploy/compose/certs:/etc/nginx/certs:ro",
        ]
        nginx |= _hardening("1.0", "256M")
        nginx["tmpfs"] = [f"{TMP}:size=64m", "/var/cache/nginx:size=64m", "/var/run:size=1m",
                          f"{NGINX_RENDERED}:size=1m"]
    return nginx


def _sandbox_and_sink() -> dict[str, dict[str, Any]]:
    sandbox = next(s for s in app_services(with_sandbox=True) if s.name == SANDBOX)
    notification = next(s for s in app_services(with_sandbox=True) if s.name == "notification-service")
    services = _app(sandbox, prod=False)
    services["smtp-sink"] = {
        # Offline mail catcher, provided by notification-service as `python -m
        # notification_service.smtp_sink` (listens on SMTP_SINK_PORT); same image as the service.
        "image": image(notification, "dev"),
        "command": ["python", "-m", "notification_service.smtp_sink"],
        "environment": {"HOST": ANY_HOST, "SMTP_SINK_PORT": str(SMTP_SINK_PORT)},
        "expose": [str(SMTP_SINK_PORT)],
        "depends_on": {"notification-service": {"condition": "service_started"}},
        "healthcheck": {
            "test": [
                "CMD", "python", "-c",
                f"import socket; socket.create_connection(('127.0.0.1', {SMTP_SINK_PORT}), 3).close()",
            ],
            "interval": "15s",
            "timeout": "5s",
            "retries": 5,
        },
        "restart": "unless-stopped",
    }
    return services


def _compose(*, prod: bool) -> dict[str, Any]:
    services: dict[str, Any] = {"postgres": _postgres(prod=prod), "redis": _redis(prod=prod)}
    for s in app_services(with_sandbox=False):
        services.update(_app(s, prod=prod))
    if not prod:
        services.update(_sandbox_and_sink())
    services["nginx"] = _nginx(prod=prod)
    doc: dict[str, Any] = {
        "name": "payment-gateway",
        "services": services,
        "volumes": {"postgres-data": {}, "redis-data": {}},
    }
    if prod:
        names = ["postgres_password", "redis_password", "redis_url", "service_api_keys", "event_seal_key"]
        names += [f"{s.schema}_db_password" for s in db_services()]
        names += [f"{s.package}_database_url" for s in db_services()]
        names += [f"{s.package}_service_api_key" for s in app_services(with_sandbox=False)]
        for s in app_services(with_sandbox=False):
            names += [f"{s.package}_{key.lower()}" for key in extra_secret_keys(s.name)]
        doc["secrets"] = {n: {"file": f"./deploy/compose/secrets/{n}"} for n in names}
    return doc


def render(_init_script: str) -> dict[Path, str]:
    files = {
        ROOT / "docker-compose.yml": dump_yaml(_compose(prod=False), DEV_COMMENT),
        ROOT / "docker-compose.prod.yml": dump_yaml(_compose(prod=True), PROD_COMMENT),
    }
    for s in app_services(with_sandbox=False):
        files[ROOT / "deploy" / "compose" / "env" / f"{s.name}.env.example"] = (
            f"# Production settings of {s.name} that are not secrets (copy to {s.name}.env).\n"
            f"# Secrets are files under deploy/compose/secrets/ (deploy/make_secrets.py).\n"
            f"# Every setting of {s.name}/.env.example may be overridden here.\n"
            + "LOG_LEVEL=INFO\n"
            + "".join(f"{k}={v}\n" for k, v in OPERATOR_CONFIG.get(s.name, {}).items())
        )
    return files
