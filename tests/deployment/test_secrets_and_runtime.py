"""Secrets and the images' helper scripts: deploy/make_secrets.py produces exactly the secrets that
compose prod and the Kubernetes Deployments reference, with values every service accepts in
production; the entrypoint turns secret files into variables; the health check script exits 0 only
on a 2xx answer."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from shared.devstack import free_port
from shared.topology import SERVICES

ROOT = Path(__file__).resolve().parents[2]
MAKE_SECRETS = ROOT / "deploy" / "make_secrets.py"
ENTRYPOINT = ROOT / "deploy" / "docker" / "entrypoint.sh"
HEALTHCHECK = ROOT / "deploy" / "docker" / "healthcheck.py"
# What an operator supplies (provider credentials), simulated here.
OPERATOR_ENV = {
    "SSLCOMMERZ_STORE_PASSWORD": "a1b2c3d4e5f6a7b8c9d0",
    "PAYPAL_CLIENT_SECRET": "f0e1d2c3b4a5968778695a4b",
}


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, check=False, timeout=60,
                          env={**os.environ, **(env or {})}, cwd=ROOT)


@pytest.fixture(scope="module")
def k8s_secrets() -> list[dict[str, Any]]:
    out = _run(str(MAKE_SECRETS), "k8s", env=OPERATOR_ENV)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def test_compose_secret_files_are_exactly_those_compose_prod_declares(tmp_path: Path,
                                                                        compose_prod: dict[str, Any]) -> None:
    folder = tmp_path / "secrets"
    out = _run(str(MAKE_SECRETS), "compose", str(folder))
    assert out.returncode == 0, out.stderr
    declared = {Path(spec["file"]).name for spec in compose_prod["secrets"].values()}
    assert {p.name for p in folder.iterdir()} == declared
    assert folder.stat().st_mode & 0o077 == 0
    again = _run(str(MAKE_SECRETS), "compose", str(folder))
    assert again.returncode == 1 and "--force" in again.stderr  # never overwrites silently
    db_url = (folder / "user_service_database_url").read_text().strip()
    password = (folder / "users_db_password").read_text().strip()
    assert db_url == f"postgresql://user_service:{password}@postgres:5432/payment_gateway"


def test_k8s_secrets_validate_and_match_the_templates_and_deployments(
    k8s_secrets: list[dict[str, Any]], k8s_docs: list[dict[str, Any]], sandbox_docs: list[dict[str, Any]]
) -> None:
    templates = yaml.safe_load_all((ROOT / "deploy" / "k8s" / "secrets.example.yaml").read_text())
    shape = {d["metadata"]["name"]: sorted(d["stringData"]) for d in templates}
    made = {d["metadata"]["name"]: sorted(d["stringData"]) for d in k8s_secrets if d["kind"] == "Secret"}
    assert made == shape
    for doc in k8s_secrets:
        kubernetes_validate.validate(doc, "1.29", strict=True)
    referenced = set()
    for dep in k8s_docs + sandbox_docs:
        if dep["kind"] in ("Deployment", "StatefulSet"):
            for c in dep["spec"]["template"]["spec"]["containers"]:
                referenced |= {e["secretRef"]["name"] for e in c.get("envFrom", []) if "secretRef" in e}
                env = [e for e in c.get("env", []) if "valueFrom" in e]
                referenced |= {e["valueFrom"]["secretKeyRef"]["name"] for e in env}
    assert referenced == set(shape)


def _production_env(k8s_docs: list[dict[str, Any]], secrets: list[dict[str, Any]], name: str,
                    sandbox_docs: list[dict[str, Any]]) -> dict[str, str]:
    docs = k8s_docs + sandbox_docs + secrets
    config = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == f"{name}-config")
    secret = next(d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"] == f"{name}-secrets")
    return {**config["data"], **secret["stringData"]}


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_each_service_accepts_its_kubernetes_config_in_production(
    spec: Any, k8s_secrets: list[dict[str, Any]], k8s_docs: list[dict[str, Any]],
    sandbox_docs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    env = _production_env(k8s_docs, k8s_secrets, spec.name, sandbox_docs)
    assert env["ENVIRONMENT"] == "production"
    settings_cls = importlib.import_module(f"{spec.package}.settings").Settings
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = settings_cls()  # raises on a missing or placeholder secret
    assert settings.port == spec.port and settings.environment == "production"
    monkeypatch.setenv("SERVICE_API_KEY", "")
    with pytest.raises(ValueError, match="SERVICE_API_KEY"):
        settings_cls()


def test_entrypoint_exports_secret_files_as_variables(tmp_path: Path) -> None:
    (tmp_path / "DATABASE_URL").write_text("postgresql://u:p@postgres:5432/db\n")
    (tmp_path / "JWT_PRIVATE_KEY").write_text("-----BEGIN-----\nabc\n-----END-----\n")
    (tmp_path / "not_a_variable").write_text("ignored")
    code = "import os, json; print(json.dumps({k: os.environ.get(k) for k in "
    code += "('DATABASE_URL', 'JWT_PRIVATE_KEY', 'not_a_variable')}))"
    out = subprocess.run(["sh", str(ENTRYPOINT), sys.executable, "-c", code], capture_output=True, text=True,
                         check=False, timeout=30, env={**os.environ, "SECRETS_DIR": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert yaml.safe_load(out.stdout) == {
        "DATABASE_URL": "postgresql://u:p@postgres:5432/db",
        "JWT_PRIVATE_KEY": "-----BEGIN-----\nabc\n-----END-----",
        "not_a_variable": None,
    }


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(200 if self.path == "/health/ready" else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[int]:
    port = free_port()
    server = HTTPServer(("127.0.0.1", port), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield port
    server.shutdown()
    server.server_close()


def test_healthcheck_script_passes_on_ready_and_fails_on_503_or_no_server(health_server: int) -> None:
    ok = _run(str(HEALTHCHECK), "/health/ready", env={"PORT": str(health_server)})
    assert ok.returncode == 0, ok.stderr
    not_ready = _run(str(HEALTHCHECK), f"http://127.0.0.1:{health_server}/health/other")
    assert not_ready.returncode == 1
    nothing = _run(str(HEALTHCHECK), f"http://127.0.0.1:{free_port()}/health/ready")
    assert nothing.returncode == 1
    assert _run(str(HEALTHCHECK), "http://example.org/health").returncode == 2
