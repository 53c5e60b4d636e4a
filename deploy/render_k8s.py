"""Kubernetes manifests: plain files at the top of `k8s/` (for `kubectl apply -f k8s/`), a
`Kustomization` file beside them (`kubectl apply -k k8s/`), overlays under `deploy/k8s/overlays/`."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import render_k8s_infra as infra
from common import (
    ANY_HOST,
    DEPLOY_CONFIG,
    HPA_SERVICES,
    NAMESPACE,
    PROD_CONFIG,
    SANDBOX,
    TMP,
    UID,
    app_services,
    dump_yaml,
    image,
    url_env,
)

from shared.events import DEFAULT_SUBSCRIPTIONS
from shared.topology import SERVICES, ServiceSpec

IMAGE_TAG = "0.1.0"
INGRESS_NAMESPACE = "ingress-nginx"
MONITORING_NAMESPACE = "monitoring"

# Event types each service produces (docs/internal-api.md). A producer's outbox POSTs them to the
# subscribers' /internal/events, so subscriber ← producer is a network edge.
PRODUCES: dict[str, tuple[str, ...]] = {
    "user-service": ("user.",),
    "transaction-service": ("transaction.",),
    "payment-service": ("payment.", "payout.", "refund."),
    "exchange-rate-service": ("rate.",),
    "admin-service": ("setting.",),
    "notification-service": ("notification.",),
    "audit-service": ("audit.",),
}
# Direct /internal/* calls (docs/internal-api.md): caller → callees. Every service that verifies
# tokens fetches the JWKS from user-service; the owning services read runtime settings from
# admin-service; admin-service (back office) acts on every other service.
BACKENDS = [s.name for s in SERVICES if s.name not in ("gateway", SANDBOX)]
CALLS: dict[str, set[str]] = {
    "gateway": set(BACKENDS),
    "transaction-service": {"payment-service", "exchange-rate-service", "user-service", "admin-service"},
    "payment-service": {"transaction-service", "user-service", "admin-service"},
    "notification-service": {"user-service", "admin-service"},
    "exchange-rate-service": {"user-service", "admin-service"},
    "user-service": {"admin-service"},
    "audit-service": {"user-service", "admin-service"},
    "admin-service": set(BACKENDS) - {"admin-service"},
}


def callers_of(name: str) -> list[str]:
    found = {caller for caller, callees in CALLS.items() if name in callees}
    for producer, prefixes in PRODUCES.items():
        patterns = DEFAULT_SUBSCRIPTIONS.get(name, ())
        if producer != name and any(fnmatch.fnmatchcase(p + "x", pat) for p in prefixes for pat in patterns):
            found.add(producer)
    return sorted(found)


def labels(name: str, component: str = "api") -> dict[str, str]:
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "payment-gateway",
    }


def meta(name: str, component: str = "api") -> dict[str, Any]:
    return {"name": name, "namespace": NAMESPACE, "labels": labels(name, component)}


def selector(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name}


CONTAINER_SECURITY = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
}


def _configmap(s: ServiceSpec) -> dict[str, Any]:
    data = {
        "ENVIRONMENT": "production",
        "HOST": ANY_HOST,
        "PORT": str(s.port),
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "json",
        "JWT_ISSUER": "payment-gateway",
        "JWT_AUDIENCE": "payment-gateway-api",
    }
    if s.schema:
        data["DB_SCHEMA"] = s.schema
    data.update(url_env(lambda t: t.name))
    data.update(DEPLOY_CONFIG.get(s.name, {}))
    data.update(PROD_CONFIG.get(s.name, {}))
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(f"{s.name}-config"), "data": data}


def _deployment(s: ServiceSpec) -> dict[str, Any]:
    env_from = [{"configMapRef": {"name": f"{s.name}-config"}}, {"secretRef": {"name": f"{s.name}-secrets"}}]
    tmp = [{"name": "tmp", "mountPath": TMP}]
    app: dict[str, Any] = {
        "name": "app",
        "image": image(s, IMAGE_TAG),
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": s.port, "protocol": "TCP"}],
        "envFrom": env_from,
        "startupProbe": {
            "httpGet": {"path": "/health", "port": "http"}, "periodSeconds": 5, "failureThreshold": 30,
        },
        "livenessProbe": {
            "httpGet": {"path": "/health", "port": "http"},
            "periodSeconds": 10, "timeoutSeconds": 3, "failureThreshold": 3,
        },
        "readinessProbe": {
            "httpGet": {"path": "/health/ready", "port": "http"},
            "periodSeconds": 10, "timeoutSeconds": 4, "failureThreshold": 3,
        },
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "1", "memory": "512Mi"},
        },
        # Let endpoints drop the pod before uvicorn stops accepting connections.
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}},
        "securityContext": CONTAINER_SECURITY,
        "volumeMounts": tmp,
    }
    pod: dict[str, Any] = {
        "serviceAccountName": s.name,
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True, "runAsUser": UID, "runAsGroup": UID, "fsGroup": UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "terminationGracePeriodSeconds": 30,
        "containers": [app],
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
    }
    if s.schema:
        # Migrations before the app starts (idempotent `upgrade head`; concurrent pods converge: a
        # loser of a race fails, restarts and finds the schema at head).
        pod["initContainers"] = [{
            "name": "migrate",
            "image": image(s, IMAGE_TAG),
            "imagePullPolicy": "IfNotPresent",
            "command": ["alembic", "-c", "alembic.ini", "upgrade", "head"],
            "envFrom": env_from,
            "resources": {
                "requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"},
            },
            "securityContext": CONTAINER_SECURITY,
            "volumeMounts": tmp,
        }]
    spec: dict[str, Any] = {
        "revisionHistoryLimit": 5,
        "selector": {"matchLabels": selector(s.name)},
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
        "template": {"metadata": {"labels": labels(s.name)}, "spec": pod},
    }
    if s.name not in HPA_SERVICES:  # the HPA owns the replica count of the others
        spec = {"replicas": 2, **spec}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(s.name), "spec": spec}


def _network_policy(s: ServiceSpec) -> dict[str, Any]:
    if s.name == "gateway":
        sources: list[dict[str, Any]] = [{
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": INGRESS_NAMESPACE}},
        }]
    elif s.name == SANDBOX:
        sources = [{"podSelector": {"matchLabels": selector("payment-service")}}]
    else:
        sources = [{"podSelector": {"matchLabels": selector(c)}} for c in callers_of(s.name)]
    # Prometheus scrapes /metrics from the monitoring namespace.
    monitoring = {"kubernetes.io/metadata.name": MONITORING_NAMESPACE}
    sources.append({"namespaceSelector": {"matchLabels": monitoring}})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta(f"{s.name}-ingress"),
        "spec": {
            "podSelector": {"matchLabels": selector(s.name)},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": sources, "ports": [{"protocol": "TCP", "port": s.port}]}],
        },
    }


def service_docs(s: ServiceSpec) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(s.name),
         "automountServiceAccountToken": False},
        _configmap(s),
        _deployment(s),
        {
            "apiVersion": "v1", "kind": "Service", "metadata": meta(s.name),
            "spec": {
                "type": "ClusterIP", "selector": selector(s.name),
                "ports": [{"name": "http", "port": s.port, "targetPort": "http", "protocol": "TCP"}],
            },
        },
        {
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta(s.name),
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector(s.name)}},
        },
        _network_policy(s),
    ]
    if s.name in HPA_SERVICES:
        docs.append({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta(s.name),
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": s.name},
                "minReplicas": 2,
                "maxReplicas": 10 if s.name == "gateway" else 6,
                "metrics": [{"type": "Resource", "resource": {
                    "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}],
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
            },
        })
    return docs


def render(init_script: str) -> dict[Path, str]:
    files: dict[str, str] = {}
    top: dict[str, tuple[list[dict[str, Any]], str]] = {
        "00-namespace.yaml": ([infra.namespace()], "The namespace of the whole platform."),
        "01-default-deny.yaml": ([infra.default_deny()], "Nothing reaches a pod unless a policy allows it."),
        "10-postgres.yaml": (infra.postgres(init_script), infra.POSTGRES_COMMENT),
        "11-redis.yaml": (infra.redis(), infra.REDIS_COMMENT),
    }
    for i, s in enumerate(app_services(with_sandbox=False)):
        top[f"{20 + i}-{s.name}.yaml"] = (service_docs(s), f"{s.title}: port {s.port}, callers "
                                          f"{', '.join(callers_of(s.name)) or 'ingress controller'}.")
    top["90-ingress.yaml"] = ([infra.ingress()], infra.INGRESS_COMMENT)
    for name, (docs, comment) in top.items():
        files[f"k8s/{name}"] = dump_yaml(docs, comment)
    files["k8s/Kustomization"] = dump_yaml(
        {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
         "namespace": NAMESPACE, "resources": list(top)},
        "kubectl apply -k k8s/ (same objects as kubectl apply -f k8s/). Overlays: deploy/k8s/overlays/.",
    )
    sandbox = next(s for s in SERVICES if s.name == SANDBOX)
    files["deploy/k8s/overlays/sandbox/provider-sandbox.yaml"] = dump_yaml(
        service_docs(sandbox), "The offline PayPal/SSLCommerz doubles, for trial clusters only.")
    files.update(infra.overlays())
    files["deploy/k8s/secrets.example.yaml"] = dump_yaml(infra.secret_templates(), infra.SECRETS_COMMENT)
    return {Path(k): v for k, v in files.items()}
