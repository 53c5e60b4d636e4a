"""Deployment checks: fixtures that load the compose files, the Kubernetes manifests (plain, and as
kustomize renders them) and the service list derived from the uv workspace. All offline: schemas
come from installed packages (kubernetes-validate, check-jsonschema), never from the network."""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import all_versions, major_minor, schema_contents
from packaging.version import Version
from referencing import Registry, Resource

from shared.topology import BY_NAME, ServiceSpec

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
OVERLAYS = ROOT / "deploy" / "k8s" / "overlays"
SANDBOX = "provider-sandbox"
# Kubernetes versions the manifests must be valid for: the oldest supported and the newest bundled.
K8S_VERSIONS = ("1.29", "latest")


@functools.cache
def _validator(version: str, kind: str, api_version: str) -> Any:
    """kubernetes_validate.validate(strict=True), with the schemas loaded once per kind (the
    library re-reads its 1 MB definitions file for every object)."""
    wanted = kubernetes_validate.latest_version() if version == "latest" else version
    resolved = [v for v in all_versions() if Version(major_minor(v)) <= Version(major_minor(wanted))][-1]
    folder = f"kubernetes-json-schema/v{resolved}-local-strict"
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = schema_contents(f"{folder}/{kind.lower()}-{api}.json", wanted)
    except FileNotFoundError:
        raise AssertionError(f"no Kubernetes {resolved} schema for {api_version} {kind}") from None
    registry = Resource.from_contents(schema) @ Registry()
    registry = Resource.from_contents(schema_contents(f"{folder}/_definitions.json", wanted)) @ registry
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def k8s_errors(doc: dict[str, Any], version: str) -> list[str]:
    validator = _validator(version, doc["kind"], doc["apiVersion"])
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


def load_docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def workspace_services() -> list[ServiceSpec]:
    """The deployable services: the uv workspace members except the `shared` library."""
    members = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]["members"]
    return [BY_NAME[m] for m in members if m != "shared"]


def kustomize(folder: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize <folder>` when kubectl is installed, else a Python stand-in that resolves
    `resources` (files and folders, recursively) and applies `namespace` — enough for these
    overlays; images/patches are then not applied (the objects still validate)."""
    kubectl = shutil.which("kubectl")
    if kubectl:
        out = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True,
                             check=False, timeout=60)
        assert out.returncode == 0, f"kubectl kustomize {folder} failed:\n{out.stderr}"
        return [d for d in yaml.safe_load_all(out.stdout) if d]
    return _kustomize_py(folder)


def kustomization_file(folder: Path) -> Path:
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        if (folder / name).is_file():
            return folder / name
    raise AssertionError(f"{folder} has no kustomization file")


def _kustomize_py(folder: Path) -> list[dict[str, Any]]:
    spec = yaml.safe_load(kustomization_file(folder).read_text())
    docs: list[dict[str, Any]] = []
    for res in spec.get("resources", []):
        target = (folder / res).resolve()
        assert target.exists(), f"{folder}: resource {res} does not exist"
        docs += _kustomize_py(target) if target.is_dir() else load_docs(target)
    if ns := spec.get("namespace"):
        for d in docs:
            if d["kind"] != "Namespace":
                d.setdefault("metadata", {})["namespace"] = ns
    return docs


@pytest.fixture(scope="session")
def services() -> list[ServiceSpec]:
    return workspace_services()


@pytest.fixture(scope="session")
def compose_dev() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="session")
def compose_prod() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.prod.yml").read_text())


@pytest.fixture(scope="session")
def k8s_docs() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += load_docs(path)
    return docs


@pytest.fixture(scope="session")
def sandbox_docs() -> list[dict[str, Any]]:
    return load_docs(OVERLAYS / "sandbox" / "provider-sandbox.yaml")


@pytest.fixture(scope="session")
def compose_schema() -> dict[str, Any]:
    """The Compose specification's JSON schema as vendored by check-jsonschema."""
    ref = resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    return json.loads(ref.read_text(encoding="utf-8"))


def find(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    for d in docs:
        if d["kind"] == kind and d["metadata"]["name"] == name:
            return d
    raise AssertionError(f"no {kind} named {name}")


@pytest.fixture(scope="session")
def find_doc() -> Any:
    return find


@pytest.fixture(scope="session")
def render_kustomize() -> Any:
    return kustomize


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def validate_k8s() -> Any:
    """`validate_k8s(docs, where)`: every object valid (strict) for each of K8S_VERSIONS."""

    def check(docs: list[dict[str, Any]], where: str) -> None:
        assert docs, f"{where}: no objects"
        for version in K8S_VERSIONS:
            for doc in docs:
                errors = k8s_errors(doc, version)
                name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
                assert not errors, f"{where}: {name} invalid for Kubernetes {version}: {errors[:3]}"

    return check


@pytest.fixture(scope="session")
def k8s_error_list() -> Any:
    return k8s_errors
