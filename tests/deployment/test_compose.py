"""Both compose files validate against the Compose specification's JSON schema (as shipped by
check-jsonschema) and have the shape the issue asks for (dev: migrations first, sandbox, SMTP sink,
nginx on 80; prod: secrets, limits, read-only filesystems, only nginx published)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
FILES = ["docker-compose.yml", "docker-compose.prod.yml"]
INFRA = {"postgres", "redis", "nginx", "smtp-sink"}


def _errors(schema: dict[str, Any], doc: dict[str, Any]) -> list[str]:
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in cls(schema).iter_errors(doc)]


@pytest.mark.parametrize("name", FILES)
def test_compose_file_validates_against_compose_spec(name: str, compose_schema: dict[str, Any]) -> None:
    doc = yaml.safe_load((ROOT / name).read_text())
    assert _errors(compose_schema, doc) == []


def test_compose_schema_rejects_a_broken_file(compose_dev: dict[str, Any],
                                              compose_schema: dict[str, Any]) -> None:
    broken = copy.deepcopy(compose_dev)
    broken["services"]["gateway"]["depends_on"]["redis"]["condition"] = "service_finished"
    broken["services"]["gateway"]["healthchek"] = {}
    assert len(_errors(compose_schema, broken)) >= 2


def _app_services(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in doc["services"].items() if n not in INFRA and not n.endswith("-migrate")}


@pytest.mark.parametrize("name", FILES)
def test_database_services_start_only_after_their_migration_completed(name: str) -> None:
    doc = yaml.safe_load((ROOT / name).read_text())
    for svc_name, svc in _app_services(doc).items():
        migrate = doc["services"].get(f"{svc_name}-migrate")
        if svc["environment"].get("DB_SCHEMA"):
            assert migrate is not None, svc_name
            assert migrate["command"] == ["alembic", "-c", "alembic.ini", "upgrade", "head"]
            assert migrate["restart"] == "no" and migrate["image"] == svc["image"]
            assert svc["depends_on"][f"{svc_name}-migrate"] == {"condition": "service_completed_successfully"}
            assert migrate["depends_on"]["postgres"] == {"condition": "service_healthy"}


@pytest.mark.parametrize("name", FILES)
def test_every_long_running_container_has_a_healthcheck(name: str) -> None:
    doc = yaml.safe_load((ROOT / name).read_text())
    for svc_name, svc in doc["services"].items():
        if svc_name.endswith("-migrate"):
            continue
        test = svc["healthcheck"]["test"]
        assert test and not svc["healthcheck"].get("disable"), svc_name
        if svc_name in _app_services(doc):
            # Python in the image, since slim images have no curl.
            assert test[:3] == ["CMD", "python", "/usr/local/bin/healthcheck.py"], svc_name
            assert test[3].endswith("/health/ready"), svc_name


def test_dev_stack_has_nginx_on_80_sandbox_smtp_sink_and_named_volumes(compose_dev: dict[str, Any]) -> None:
    services = compose_dev["services"]
    assert services["nginx"]["ports"] == ["80:80"]
    assert services["nginx"]["depends_on"]["gateway"] == {"condition": "service_healthy"}
    assert "provider-sandbox" in services and "smtp-sink" in services
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert any("docker-entrypoint-initdb.d" in v for v in services["postgres"]["volumes"])
    assert set(compose_dev["volumes"]) == {"postgres-data", "redis-data"}
    published = [n for n, s in services.items() if s.get("ports")]
    assert published == ["nginx"]


@pytest.mark.parametrize("name", FILES)
def test_services_read_their_env_example(name: str) -> None:
    doc = yaml.safe_load((ROOT / name).read_text())
    for svc_name, svc in _app_services(doc).items():
        first = svc["env_file"][0]
        assert first == f"./{svc_name}/.env.example" and (ROOT / first).is_file(), svc_name


def test_prod_has_no_sandbox_and_publishes_only_nginx(compose_prod: dict[str, Any]) -> None:
    services = compose_prod["services"]
    assert "provider-sandbox" not in services and "smtp-sink" not in services
    assert {n for n, s in services.items() if s.get("ports")} == {"nginx"}
    assert sorted(services["nginx"]["ports"]) == ["443:443", "80:80"]
    assert any("/etc/nginx/certs" in v for v in services["nginx"]["volumes"])


def test_prod_is_hardened(compose_prod: dict[str, Any]) -> None:
    for name, svc in compose_prod["services"].items():
        assert svc["read_only"] is True, name
        assert svc["logging"]["options"]["max-size"], name
        assert svc["deploy"]["resources"]["limits"]["memory"], name
        assert any(t.startswith("/tmp") for t in svc["tmpfs"]), name
        if not name.endswith("-migrate"):
            assert svc["restart"] in ("unless-stopped", "always"), name
        assert "${IMAGE_TAG" in svc["image"] or ":" in svc["image"], name
        assert not svc["image"].endswith(":latest"), name


def test_prod_secrets_are_files_and_no_secret_is_inline(compose_prod: dict[str, Any]) -> None:
    declared = compose_prod["secrets"]
    for name, svc in compose_prod["services"].items():
        for ref in svc.get("secrets", []):
            source = ref["source"] if isinstance(ref, dict) else ref
            assert source in declared, f"{name}: undeclared secret {source}"
        for key, value in (svc.get("environment") or {}).items():
            secret_like = any(w in key for w in ("PASSWORD", "SECRET", "API_KEY", "SEAL_KEY"))
            if secret_like and not key.endswith("_FILE"):
                pytest.fail(f"{name}: {key} set inline ({value!r}); use a secret file")
        assert "DATABASE_URL" not in (svc.get("environment") or {}), name
    for spec in declared.values():
        assert spec["file"].startswith("./deploy/compose/secrets/")
    assert (ROOT / "deploy" / "compose" / "secrets" / ".gitignore").read_text().count("*") >= 1


@pytest.mark.parametrize("name", FILES)
def test_depends_on_names_existing_services_without_cycles(name: str) -> None:
    services = yaml.safe_load((ROOT / name).read_text())["services"]
    graph = {n: set(s.get("depends_on", {})) for n, s in services.items()}
    for n, deps in graph.items():
        assert deps <= set(services), f"{n} depends on unknown {deps - set(services)}"
    done: set[str] = set()

    def visit(n: str, path: tuple[str, ...]) -> None:
        assert n not in path, f"dependency cycle: {' → '.join((*path, n))}"
        if n not in done:
            for d in graph[n]:
                visit(d, (*path, n))
            done.add(n)

    for n in graph:
        visit(n, ())
