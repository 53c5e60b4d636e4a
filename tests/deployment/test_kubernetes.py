"""Kubernetes manifests: every file at the top of k8s/, the kustomize output of k8s/ and of each
overlay, and the secret templates validate (strictly: unknown fields fail) against the Kubernetes
JSON schemas bundled by kubernetes-validate; and the objects carry the hardening the issue asks for."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
OVERLAYS = sorted(p for p in (ROOT / "deploy" / "k8s" / "overlays").iterdir() if p.is_dir())
HPA = {"gateway", "payment-service", "transaction-service"}


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


@pytest.mark.parametrize("path", sorted(K8S.glob("*.yaml")), ids=lambda p: p.name)
def test_each_top_level_manifest_validates_against_kubernetes_schemas(path: Path, validate_k8s: Any) -> None:
    validate_k8s(_docs(path), path.name)


def test_kustomize_output_of_k8s_validates_and_matches_plain_files(
    render_kustomize: Any, k8s_docs: list[dict[str, Any]], validate_k8s: Any
) -> None:
    built = render_kustomize(K8S)
    validate_k8s(built, "kustomize k8s/")
    key = lambda d: (d["kind"], d["metadata"]["name"])  # noqa: E731
    assert sorted(map(key, built)) == sorted(map(key, k8s_docs))


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.name)
def test_kustomize_output_of_each_overlay_validates(render_kustomize: Any, overlay: Path,
                                                    validate_k8s: Any) -> None:
    validate_k8s(render_kustomize(overlay), f"overlay {overlay.name}")


def test_kustomization_lists_every_top_level_manifest_and_nothing_else() -> None:
    spec = yaml.safe_load((K8S / "Kustomization").read_text())
    assert spec["kind"] == "Kustomization" and spec["namespace"] == "payment-gateway"
    assert sorted(spec["resources"]) == sorted(p.name for p in K8S.glob("*.yaml"))
    # `kubectl apply -f k8s/` reads only .yaml/.yml/.json: the Kustomization must not be one.
    assert not list(K8S.glob("kustomization.*"))


def test_secret_templates_validate_and_hold_no_values(validate_k8s: Any) -> None:
    docs = _docs(ROOT / "deploy" / "k8s" / "secrets.example.yaml")
    validate_k8s(docs, "secrets.example.yaml")
    for doc in docs:
        assert doc["kind"] == "Secret"
        assert all(v == "" for v in doc["stringData"].values()), doc["metadata"]["name"]


def test_no_secret_objects_in_k8s_folder(k8s_docs: list[dict[str, Any]]) -> None:
    # A Secret in k8s/ would overwrite the real one at every `kubectl apply -f k8s/`.
    assert [d["metadata"]["name"] for d in k8s_docs if d["kind"] == "Secret"] == []


def test_validator_rejects_a_broken_manifest(k8s_docs: list[dict[str, Any]], find_doc: Any,
                                             k8s_error_list: Any) -> None:
    good = find_doc(k8s_docs, "Deployment", "gateway")
    broken = copy.deepcopy(good)
    broken["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "http"
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGett"] = {}
    assert len(k8s_error_list(broken, "1.29")) >= 2
    # The library's own entry point agrees with the cached validator used above.
    kubernetes_validate.validate(good, "1.29", strict=True)
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.29", strict=True)


def test_every_object_is_in_the_platform_namespace(k8s_docs: list[dict[str, Any]]) -> None:
    for d in k8s_docs:
        if d["kind"] != "Namespace":
            assert d["metadata"]["namespace"] == "payment-gateway", d["metadata"]["name"]


def test_deployments_are_hardened_with_probes_resources_and_rolling_updates(
    k8s_docs: list[dict[str, Any]], sandbox_docs: list[dict[str, Any]]
) -> None:
    deployments = [d for d in k8s_docs + sandbox_docs if d["kind"] == "Deployment"]
    assert deployments
    for dep in deployments:
        name, spec = dep["metadata"]["name"], dep["spec"]
        pod = spec["template"]["spec"]
        assert spec["strategy"]["type"] == "RollingUpdate", name
        assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0, name
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] > 0
        assert pod["automountServiceAccountToken"] is False, name
        for c in pod["containers"] + pod.get("initContainers", []):
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"]["drop"] == ["ALL"], name
            assert {"cpu", "memory"} <= set(c["resources"]["requests"]) and c["resources"]["limits"], name
            assert ":" in c["image"] and not c["image"].endswith(":latest"), name
        app = pod["containers"][0]
        assert app["livenessProbe"]["httpGet"]["path"] == "/health", name
        assert app["readinessProbe"]["httpGet"]["path"] == "/health/ready", name


def test_database_services_migrate_in_an_init_container(k8s_docs: list[dict[str, Any]],
                                                        services: Any) -> None:
    for s in services:
        if s.name == "provider-sandbox":
            continue
        dep = next(d for d in k8s_docs if d["kind"] == "Deployment" and d["metadata"]["name"] == s.name)
        inits = dep["spec"]["template"]["spec"].get("initContainers", [])
        if s.schema:
            assert inits, s.name
            assert inits[0]["command"] == ["alembic", "-c", "alembic.ini", "upgrade", "head"], s.name
        else:
            assert not inits, s.name


def test_hpa_for_gateway_payment_and_transaction_and_pdb_for_every_service(
    k8s_docs: list[dict[str, Any]],
) -> None:
    hpas = {d["spec"]["scaleTargetRef"]["name"] for d in k8s_docs if d["kind"] == "HorizontalPodAutoscaler"}
    assert hpas == HPA
    deployments = {d["metadata"]["name"] for d in k8s_docs if d["kind"] == "Deployment"}
    pdbs = {d["metadata"]["name"] for d in k8s_docs if d["kind"] == "PodDisruptionBudget"}
    assert pdbs == deployments
    for d in k8s_docs:
        if d["kind"] == "Deployment":  # an HPA owns the replica count; a fixed one would fight it
            assert ("replicas" in d["spec"]) == (d["metadata"]["name"] not in HPA)


def test_postgres_and_redis_are_statefulsets_with_storage(k8s_docs: list[dict[str, Any]]) -> None:
    sets = {d["metadata"]["name"]: d for d in k8s_docs if d["kind"] == "StatefulSet"}
    assert set(sets) == {"postgres", "redis"}
    for s in sets.values():
        assert s["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
        assert s["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


def test_ingress_uses_class_nginx_and_reaches_only_the_gateway(k8s_docs: list[dict[str, Any]]) -> None:
    ingresses = [d for d in k8s_docs if d["kind"] == "Ingress"]
    assert len(ingresses) == 1 and ingresses[0]["spec"]["ingressClassName"] == "nginx"
    paths = [p for rule in ingresses[0]["spec"]["rules"] for p in rule["http"]["paths"]]
    backends = {p["backend"]["service"]["name"] for p in paths}
    assert backends == {"gateway"}
