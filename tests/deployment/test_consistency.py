"""One service list, one port and one pair of health paths everywhere: the services derived from the
uv workspace appear with the topology's port and `/health` + `/health/ready` in both compose files,
the Kubernetes manifests, the nginx config and the gateway's routing table; network policies admit
every caller the contracts imply (events flow producer → subscriber)."""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from shared.events import DEFAULT_SUBSCRIPTIONS
from shared.topology import SERVICES

ROOT = Path(__file__).resolve().parents[2]
ROUTES = ROOT / "gateway" / "gateway" / "routes.toml"
NGINX = ROOT / "nginx"


def test_workspace_members_are_exactly_the_topology_services(services: list[Any]) -> None:
    assert [s.name for s in services] == [s.name for s in SERVICES]
    for s in services:
        assert (ROOT / s.name / "Dockerfile").is_file() and (ROOT / s.name / ".env.example").is_file()


def test_generated_files_are_in_sync_with_the_topology() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "deploy" / "render.py"), "--check"], cwd=ROOT,
                         capture_output=True, text=True, check=False, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("name", ["docker-compose.yml", "docker-compose.prod.yml"])
def test_compose_ports_health_paths_and_urls_match_the_topology(name: str, services: list[Any],
                                                                  request: Any) -> None:
    doc = request.getfixturevalue("compose_dev" if name == "docker-compose.yml" else "compose_prod")
    for s in services:
        if s.name == "provider-sandbox" and "prod" in name:
            assert s.name not in doc["services"]
            continue
        svc = doc["services"][s.name]
        env = svc["environment"]
        assert env["PORT"] == str(s.port) and svc["expose"] == [str(s.port)], s.name
        assert svc["healthcheck"]["test"][-1] == f"http://127.0.0.1:{s.port}/health/ready", s.name
        assert env.get("DB_SCHEMA", None) == s.schema, s.name
        for other in SERVICES:
            assert env[f"{other.env_prefix}_URL"] == f"http://{other.name}:{other.port}", (s.name, other.name)


def test_kubernetes_ports_and_health_paths_match_the_topology(
    services: list[Any], k8s_docs: list[dict[str, Any]], sandbox_docs: list[dict[str, Any]], find_doc: Any
) -> None:
    for s in services:
        docs = sandbox_docs if s.name == "provider-sandbox" else k8s_docs
        svc = find_doc(docs, "Service", s.name)
        assert [p["port"] for p in svc["spec"]["ports"]] == [s.port], s.name
        app = find_doc(docs, "Deployment", s.name)["spec"]["template"]["spec"]["containers"][0]
        assert app["ports"][0]["containerPort"] == s.port, s.name
        assert app["livenessProbe"]["httpGet"]["path"] == "/health"
        assert app["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        config = find_doc(docs, "ConfigMap", f"{s.name}-config")["data"]
        assert config["PORT"] == str(s.port) and config.get("DB_SCHEMA") == s.schema, s.name
        for other in SERVICES:
            assert config[f"{other.env_prefix}_URL"] == f"http://{other.name}:{other.port}"
        policy = find_doc(docs, "NetworkPolicy", f"{s.name}-ingress")
        assert policy["spec"]["ingress"][0]["ports"] == [{"protocol": "TCP", "port": s.port}], s.name


def test_postgres_init_script_creates_one_role_per_service_schema(services: list[Any]) -> None:
    script = (ROOT / "deploy" / "postgres" / "init-schemas.sh").read_text()
    pairs = re.search(r'^SERVICES="([^"]*)"', script, re.M)
    assert pairs is not None
    expected = [f"{s.package}:{s.schema}" for s in services if s.schema]
    assert pairs.group(1).split() == expected


def _allowed_sources(docs: list[dict[str, Any]], find_doc: Any, name: str) -> set[str]:
    policy = find_doc(docs, "NetworkPolicy", f"{name}-ingress")
    out: set[str] = set()
    for rule in policy["spec"]["ingress"]:
        for src in rule["from"]:
            if "podSelector" in src:
                out.add(src["podSelector"]["matchLabels"]["app.kubernetes.io/name"])
            else:
                out.add("ns:" + src["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"])
    return out


def _documented_producers() -> dict[str, set[str]]:
    """Event-type prefixes per producer, read from each section's `Events:` of docs/internal-api.md."""
    text = (ROOT / "docs" / "internal-api.md").read_text()
    out: dict[str, set[str]] = {}
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        name, _, body = section.partition("\n")
        events = body[body.find("Events"):] if "Events" in body else ""
        out[name.strip()] = set(re.findall(r"`([a-z_]+)\.[a-z_]+", events))
    return out


def test_network_policies_let_every_event_producer_reach_its_subscribers(
    k8s_docs: list[dict[str, Any]], find_doc: Any
) -> None:
    producers = _documented_producers()
    assert producers, "docs/internal-api.md lists no events"
    for subscriber, patterns in DEFAULT_SUBSCRIPTIONS.items():
        allowed = _allowed_sources(k8s_docs, find_doc, subscriber)
        for producer, prefixes in producers.items():
            if producer == subscriber:
                continue
            if any(fnmatch.fnmatchcase(f"{p}.x", pat) for p in prefixes for pat in patterns):
                assert producer in allowed, f"{producer} publishes events {subscriber} subscribes to"


def test_only_the_gateway_is_reachable_from_the_ingress_controller(k8s_docs: list[dict[str, Any]],
                                                                    find_doc: Any) -> None:
    for s in SERVICES:
        if s.name == "provider-sandbox":
            continue
        from_ingress = "ns:ingress-nginx" in _allowed_sources(k8s_docs, find_doc, s.name)
        assert from_ingress == (s.name == "gateway"), s.name
    deny = find_doc(k8s_docs, "NetworkPolicy", "default-deny-ingress")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}


def _routes() -> list[dict[str, Any]]:
    if not ROUTES.is_file():
        pytest.skip(f"gateway routing table {ROUTES.relative_to(ROOT)} not found (gateway folder)")
    return list(tomllib.loads(ROUTES.read_text()).get("route", []))


def test_gateway_routing_table_names_topology_services_reachable_from_the_gateway(
    k8s_docs: list[dict[str, Any]], find_doc: Any, compose_dev: dict[str, Any]
) -> None:
    routed = {r["service"] for r in _routes()}
    names = {s.name for s in SERVICES}
    assert routed <= names, f"routes.toml names unknown services: {routed - names}"
    backends = names - {"gateway", "provider-sandbox"}
    assert backends <= routed, f"services without a public route: {backends - routed}"
    gateway_env = compose_dev["services"]["gateway"]["environment"]
    for name in routed:
        assert "gateway" in _allowed_sources(k8s_docs, find_doc, name), name
        spec = next(s for s in SERVICES if s.name == name)
        assert gateway_env[f"{spec.env_prefix}_URL"].endswith(f":{spec.port}")


def _nginx_template() -> str:
    path = NGINX / "nginx.conf.template"
    if not path.is_file():
        pytest.skip("nginx/nginx.conf.template not found (gateway folder): compose mounts it")
    return path.read_text()


PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


@pytest.mark.parametrize("name", ["docker-compose.yml", "docker-compose.prod.yml"])
def test_nginx_template_fronts_the_gateway_with_every_placeholder_set(name: str, request: Any,
                                                                       k8s_docs: list[dict[str, Any]],
                                                                       find_doc: Any) -> None:
    text = _nginx_template()
    doc = request.getfixturevalue("compose_dev" if name == "docker-compose.yml" else "compose_prod")
    nginx = doc["services"]["nginx"]
    env = nginx["environment"]
    missing = set(PLACEHOLDER.findall(text)) - set(env)
    assert not missing, f"{name}: nginx placeholders without a value: {sorted(missing)}"
    gateway = next(s for s in SERVICES if s.name == "gateway")
    assert env["GATEWAY_UPSTREAM"] == f"gateway:{gateway.port}"
    assert "80:80" in nginx["ports"] and env["NGINX_LISTEN_PORT"] == "80"
    assert "/nginx-health" in text
    assert re.search(r"location[^{]*internal", text), "nginx must refuse /internal/"
    assert any(v.startswith("./nginx/nginx.conf.template:") for v in nginx["volumes"])
    ingress = find_doc(k8s_docs, "Ingress", "gateway")["metadata"]["annotations"]
    assert ingress["nginx.ingress.kubernetes.io/proxy-body-size"] == env["NGINX_CLIENT_MAX_BODY"]


def test_nginx_accepts_the_config_compose_renders(compose_dev: dict[str, Any], tmp_path: Path) -> None:
    """`nginx -t` on the template as the container renders it (upstream host made resolvable)."""
    text = _nginx_template()
    nginx_bin = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx_bin is None:
        pytest.skip("nginx binary not installed: `nginx -t` not run")
    env = dict(compose_dev["services"]["nginx"]["environment"])
    env["GATEWAY_UPSTREAM"] = env["GATEWAY_UPSTREAM"].replace("gateway", "127.0.0.1")
    env["NGINX_LISTEN_PORT"] = "127.0.0.1:8080"
    conf = tmp_path / "nginx.conf"
    conf.write_text(PLACEHOLDER.sub(lambda m: env[m.group(1)], text))
    cmd = [nginx_bin, "-t", "-q", "-p", str(tmp_path), "-c", str(conf), "-g", f"pid {tmp_path}/pid;"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=30)
    assert out.returncode == 0, out.stderr


def test_gateway_believes_forwarded_headers_from_the_proxy_in_front_of_it(
    compose_dev: dict[str, Any], compose_prod: dict[str, Any], k8s_docs: list[dict[str, Any]], find_doc: Any
) -> None:
    from gateway.settings import Settings

    if "trusted_proxies" not in Settings.model_fields:
        pytest.skip("gateway settings have no TRUSTED_PROXIES")
    envs = {
        "compose dev": compose_dev["services"]["gateway"]["environment"],
        "compose prod": compose_prod["services"]["gateway"]["environment"],
        "k8s": find_doc(k8s_docs, "ConfigMap", "gateway-config")["data"],
    }
    for where, env in envs.items():
        # nginx (docker networks: 172.16/12, 192.168/16) or the ingress controller (pod CIDRs).
        ranges = env["TRUSTED_PROXIES"].split(",")
        assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"} <= set(ranges), where


def test_each_client_drops_idle_connections_before_its_server_does() -> None:
    """A pooled keep-alive connection must be dropped by the client before the server closes it, or
    a request sent on it just then fails (a POST cannot be retried): nginx → gateway and
    gateway → services, against uvicorn's keep-alive timeout."""
    import uvicorn

    from gateway.settings import Settings as GatewaySettings

    server_timeout = uvicorn.Config(app=None).timeout_keep_alive  # what shared.server.run serves with
    template = (NGINX / "nginx.conf.template").read_text()
    upstream = re.search(r"upstream gateway \{(.*?)\n\s*\}\n", template, re.S)
    assert upstream is not None
    nginx_idle = re.search(r"keepalive_timeout\s+(\d+)s;", upstream.group(1))
    assert nginx_idle is not None and int(nginx_idle.group(1)) < server_timeout
    assert GatewaySettings.model_fields["upstream_keepalive"].default < server_timeout
