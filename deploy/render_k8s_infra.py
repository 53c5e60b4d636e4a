"""Kubernetes infrastructure objects: namespace, default-deny policy, PostgreSQL and Redis
StatefulSets, the Ingress, secret templates and the kustomize overlays."""

from __future__ import annotations

from typing import Any

from common import (
    DB_NAME,
    HEADER,
    NAMESPACE,
    OPERATOR_CONFIG,
    POSTGRES_IMAGE,
    PROD_CONFIG,
    REDIS_IMAGE,
    TLS_CONFIG,
    TMP,
    app_services,
    db_services,
    extra_secret_keys,
)

from shared.topology import ServiceSpec

POSTGRES_COMMENT = """\
PostgreSQL 16 for small clusters: one database, one schema + one least-privilege role per service
(init script in the ConfigMap, run on the first start). To use a managed PostgreSQL instead: delete
this file's objects (or drop it from the Kustomization), create the roles/schemas with the same script
against the managed server, and point each <service>-secrets DATABASE_URL at it."""
REDIS_COMMENT = """\
Redis 7 for small clusters (rate limits, caches, token denylist), password from redis-credentials.
Managed Redis instead: drop this file and set REDIS_URL in each <service>-secrets."""
INGRESS_COMMENT = """\
Only the gateway is exposed (ingress class nginx). TLS and the host name: see the production overlay
(deploy/k8s/overlays/production). /internal/* is refused by the gateway itself."""
SECRETS_COMMENT = """\
TEMPLATE ONLY, no real values: never apply as is. Create real secrets with
  .venv/bin/python deploy/make_secrets.py k8s | kubectl apply -f -
(random values, consistent DATABASE_URLs/passwords), or fill a copy of this file from your vault."""

PG_LABELS = {"app.kubernetes.io/name": "postgres", "app.kubernetes.io/component": "database",
             "app.kubernetes.io/part-of": "payment-gateway"}
REDIS_LABELS = {"app.kubernetes.io/name": "redis", "app.kubernetes.io/component": "cache",
                "app.kubernetes.io/part-of": "payment-gateway"}
SECURITY = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]}}
POD_SECURITY_999 = {"runAsNonRoot": True, "runAsUser": 999, "runAsGroup": 999, "fsGroup": 999,
                    "seccompProfile": {"type": "RuntimeDefault"}}


def _meta(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"name": name, "namespace": NAMESPACE, "labels": labels}


def service_secret_keys(s: ServiceSpec) -> list[str]:
    keys = ["REDIS_URL", "SERVICE_API_KEY", "SERVICE_API_KEYS", "EVENT_SEAL_KEY", *extra_secret_keys(s.name)]
    return (["DATABASE_URL"] if s.schema else []) + keys


def postgres_secret_keys() -> list[str]:
    return ["POSTGRES_PASSWORD"] + [f"{s.schema.upper()}_DB_PASSWORD" for s in db_services() if s.schema]


def namespace() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": NAMESPACE, "labels": {
                "app.kubernetes.io/part-of": "payment-gateway",
                # Every pod here meets the "restricted" Pod Security Standard; the API server enforces it.
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
            }}}


def default_deny() -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny-ingress", "namespace": NAMESPACE},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}


def _np(name: str, labels: dict[str, str], clients: list[str], port: int) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": _meta(f"{name}-ingress", labels),
        "spec": {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "policyTypes": ["Ingress"],
            "ingress": [{
                "from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": c}}} for c in clients],
                "ports": [{"protocol": "TCP", "port": port}],
            }],
        },
    }


def _statefulset(name: str, labels: dict[str, str], container: dict[str, Any], volumes: list[Any],
                 storage: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": _meta(name, labels),
        "spec": {
            "serviceName": name,
            "replicas": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"automountServiceAccountToken": False, "securityContext": POD_SECURITY_999,
                         "containers": [container], "volumes": volumes},
            },
            "volumeClaimTemplates": [{
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}},
            }],
        },
    }


def _headless(name: str, labels: dict[str, str], port: int) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(name, labels),
            "spec": {"clusterIP": "None", "selector": {"app.kubernetes.io/name": name},
                     "ports": [{"name": name, "port": port, "targetPort": port, "protocol": "TCP"}]}}


def postgres(init_script: str) -> list[dict[str, Any]]:
    ready = {"exec": {"command": ["pg_isready", "-U", "postgres", "-d", DB_NAME]}}
    container = {
        "name": "postgres", "image": POSTGRES_IMAGE,
        "ports": [{"name": "postgres", "containerPort": 5432}],
        "env": [{"name": "POSTGRES_DB", "value": DB_NAME}, {"name": "POSTGRES_USER", "value": "postgres"},
                {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"}],
        "envFrom": [{"secretRef": {"name": "postgres-credentials"}}],
        "readinessProbe": {**ready, "periodSeconds": 10, "timeoutSeconds": 5},
        "livenessProbe": {**ready, "initialDelaySeconds": 30, "periodSeconds": 20, "timeoutSeconds": 5},
        "resources": {"requests": {"cpu": "250m", "memory": "512Mi"},
                      "limits": {"cpu": "2", "memory": "2Gi"}},
        "securityContext": SECURITY,
        "volumeMounts": [
            {"name": "data", "mountPath": "/var/lib/postgresql/data"},
            {"name": "init", "mountPath": "/docker-entrypoint-initdb.d", "readOnly": True},
            {"name": "run", "mountPath": "/var/run/postgresql"},
            {"name": "tmp", "mountPath": TMP},
        ],
    }
    volumes = [
        {"name": "init", "configMap": {"name": "postgres-init", "defaultMode": 0o555}},
        {"name": "run", "emptyDir": {}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
    ]
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta("postgres-init", PG_LABELS),
         "data": {"10-init-schemas.sh": init_script}},
        _headless("postgres", PG_LABELS, 5432),
        _statefulset("postgres", PG_LABELS, container, volumes, "10Gi"),
        _np("postgres", PG_LABELS, [s.name for s in db_services()], 5432),
    ]


def redis() -> list[dict[str, Any]]:
    ping_cmd = 'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli ping | grep -q PONG'
    ping = {"exec": {"command": ["sh", "-c", ping_cmd]}}
    container = {
        "name": "redis", "image": REDIS_IMAGE,
        "args": ["--appendonly", "yes", "--save", "60 1000", "--requirepass", "$(REDIS_PASSWORD)"],
        "ports": [{"name": "redis", "containerPort": 6379}],
        "env": [{"name": "REDIS_PASSWORD",
                 "valueFrom": {"secretKeyRef": {"name": "redis-credentials", "key": "REDIS_PASSWORD"}}}],
        "readinessProbe": {**ping, "periodSeconds": 10, "timeoutSeconds": 3},
        "livenessProbe": {**ping, "initialDelaySeconds": 15, "periodSeconds": 20, "timeoutSeconds": 3},
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                      "limits": {"cpu": "1", "memory": "512Mi"}},
        "securityContext": SECURITY,
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
    }
    return [
        _headless("redis", REDIS_LABELS, 6379),
        _statefulset("redis", REDIS_LABELS, container, [], "2Gi"),
        _np("redis", REDIS_LABELS, [s.name for s in app_services(with_sandbox=False)], 6379),
    ]


def ingress() -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {**_meta("gateway", {"app.kubernetes.io/name": "gateway",
                                         "app.kubernetes.io/part-of": "payment-gateway"}),
                     "annotations": {
                         # Same limits as nginx/nginx.conf.template in compose.
                         "nginx.ingress.kubernetes.io/proxy-body-size": "10m",
                         "nginx.ingress.kubernetes.io/proxy-read-timeout": "35",
                         "nginx.ingress.kubernetes.io/proxy-send-timeout": "35",
                         "nginx.ingress.kubernetes.io/proxy-connect-timeout": "5"}},
        "spec": {
            "ingressClassName": "nginx",
            "rules": [{"http": {"paths": [{
                "path": "/", "pathType": "Prefix",
                "backend": {"service": {"name": "gateway", "port": {"number": 8000}}}}]}}],
        },
    }


def secret_templates() -> list[dict[str, Any]]:
    def secret(name: str, keys: list[str]) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": name, "namespace": NAMESPACE},
                "stringData": dict.fromkeys(keys, "")}

    docs = [secret("postgres-credentials", postgres_secret_keys()),
            secret("redis-credentials", ["REDIS_PASSWORD"])]
    docs += [secret(f"{s.name}-secrets", service_secret_keys(s))
             for s in app_services(with_sandbox=True)]
    return docs


PRODUCTION_OVERLAY = """\
# {header}
# Production overlay: your registry and release tag, the public host name with TLS (cert-manager).
#   kubectl kustomize deploy/k8s/overlays/production | kubectl apply -f -   (or kubectl apply -k …)
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../../../k8s
images:
{images}patches:
  - target:
      kind: Ingress
      name: gateway
    patch: |-
      - op: add
        path: /metadata/annotations/cert-manager.io~1cluster-issuer
        value: letsencrypt
      - op: add
        path: /spec/tls
        value:
          - hosts: [api.example.com]
            secretName: gateway-tls
      - op: add
        path: /spec/rules/0/host
        value: api.example.com
  # TLS in front of the gateway: HSTS on its answers.
  - target:
      kind: ConfigMap
      name: gateway-config
    patch: |-
{gateway_ops}  # The providers' accounts and our public URL (SSLCommerz posts the IPN there): edit these.
  - target:
      kind: ConfigMap
      name: payment-service-config
    patch: |-
{payment_ops}"""

SANDBOX_OVERLAY = """\
# {header}
# Trial cluster: the base plus the provider-sandbox (offline PayPal/SSLCommerz doubles). Never in
# production. payment-service's provider hosts point at it instead of the live ones.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../../../k8s
  - provider-sandbox.yaml
patches:
{sandbox_patches}"""


def overlays() -> dict[str, str]:
    payment_ops = "".join(
        f"      - op: add\n        path: /data/{key}\n        value: {value}\n"
        for key, value in OPERATOR_CONFIG["payment-service"].items()
    )
    gateway_ops = "".join(
        f"      - op: add\n        path: /data/{key}\n        value: \"{value}\"\n"
        for key, value in TLS_CONFIG["gateway"].items()
    )
    sandbox_patches = "".join(
        f"  - target:\n      kind: ConfigMap\n      name: {name}-config\n    patch: |-\n"
        + "".join(f"      - op: replace\n        path: /data/{key}\n        value: http://provider-sandbox:8099\n"
                  for key in config)
        for name, config in PROD_CONFIG.items()
    )
    images = "".join(
        f"  - name: payment-gateway/{s.name}\n    newName: registry.example.com/payment-gateway/{s.name}\n"
        f"    newTag: \"1.0.0\"\n"
        for s in app_services(with_sandbox=False)
    )
    return {
        "deploy/k8s/overlays/production/kustomization.yaml": PRODUCTION_OVERLAY.format(
            header=HEADER, images=images, payment_ops=payment_ops, gateway_ops=gateway_ops),
        "deploy/k8s/overlays/sandbox/kustomization.yaml": SANDBOX_OVERLAY.format(
            header=HEADER, sandbox_patches=sandbox_patches),
    }

