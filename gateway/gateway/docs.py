"""One merged OpenAPI document of every service's public routes, served at `/openapi.json` (and so
at `/docs`).

Each service's own `/openapi.json` is fetched at start-up (in the background: the gateway may start
before the services) and again, for a service that was unreachable, at most every
`DOCS_RETRY_SECONDS` when the document is asked for. Only paths the routing table sends to that
service are kept (never `/internal/*`); schema names that clash between services are prefixed with
the service; every operation uses the gateway's OAuth2 password scheme so Swagger's "Authorize"
works against the gateway. An unreachable service is listed as unavailable, never an error.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from typing import TYPE_CHECKING, Any

import httpx
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from shared.logging import get_logger

if TYPE_CHECKING:
    from gateway.runtime import GatewayRuntime

log = get_logger(__name__)

SCHEME_NAME = "OAuth2PasswordBearer"
SECURITY_SCHEME = {
    "type": "oauth2",
    "flows": {"password": {"tokenUrl": "/api/v1/auth/login", "scopes": {}}},
    "description": "Log in with your email and password; the gateway verifies the access token.",
}


def _rewrite_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and v.startswith("#/components/schemas/"):
                name = v.rsplit("/", 1)[1]
                out[k] = "#/components/schemas/" + renames.get(name, name)
            else:
                out[k] = _rewrite_refs(v, renames)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, renames) for v in node]
    return node


class MergedDocs:
    def __init__(self, runtime: GatewayRuntime, app: FastAPI, http: httpx.AsyncClient) -> None:
        self.rt = runtime
        self.app = app
        self.http = http
        self.specs: dict[str, dict[str, Any]] = {}
        self.attempted: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None
        self._merged: dict[str, Any] | None = None
        self._lock = asyncio.Lock()

    def start_background(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.refresh(force=True))

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: S110 - shutting down
                pass

    async def _fetch(self, service: str) -> None:
        self.attempted[service] = time.monotonic()
        for base in self.rt.settings.instance_urls(service):
            try:
                resp = await self.http.get(
                    f"{base}/openapi.json", timeout=self.rt.settings.docs_fetch_timeout
                )
                if resp.status_code == 200:
                    self.specs[service] = resp.json()
                    return
            except (httpx.HTTPError, ValueError):
                continue
        log.info("openapi_unavailable", service=service)

    async def refresh(self, *, force: bool = False) -> None:
        async with self._lock:
            now = time.monotonic()
            retry = self.rt.settings.docs_retry_seconds
            wanted = [
                s
                for s in self.rt.table.services
                if s not in self.specs and (force or now - self.attempted.get(s, 0.0) >= retry)
            ]
            if wanted:
                await asyncio.gather(*(self._fetch(s) for s in wanted))
                self._merged = None

    def service_came_back(self, service: str) -> None:
        """Called when a breaker closes: the next document fetch re-reads that service's spec."""
        self.specs.pop(service, None)
        self.attempted.pop(service, None)

    async def document(self) -> dict[str, Any]:
        await self.refresh()
        if self._merged is None:
            self._merged = self._merge()
        return self._merged

    def _merge(self) -> dict[str, Any]:
        own = get_openapi(
            title=self.app.title,
            version=self.app.version,
            description=self.app.description,
            routes=self.app.routes,
        )
        paths: dict[str, Any] = dict(own.get("paths", {}))
        schemas: dict[str, Any] = dict(own.get("components", {}).get("schemas", {}))
        tags: list[dict[str, Any]] = [{"name": "health", "description": "The gateway itself"}]
        unavailable: list[str] = []
        table = self.rt.table
        for service in table.services:
            spec = self.specs.get(service)
            if spec is None:
                unavailable.append(service)
                tags.append(
                    {"name": service, "description": f"{service}: unavailable (its API could not be loaded)"}
                )
                continue
            tags.append({"name": service, "description": spec.get("info", {}).get("title", service)})
            theirs = spec.get("components", {}).get("schemas", {})
            renames: dict[str, str] = {}
            for name, schema in theirs.items():
                if name in schemas and json.dumps(schemas[name], sort_keys=True) != json.dumps(
                    schema, sort_keys=True
                ):
                    renames[name] = f"{service.replace('-', '_')}__{name}"
            for name, schema in theirs.items():
                schemas[renames.get(name, name)] = _rewrite_refs(schema, renames)
            for path, item in spec.get("paths", {}).items():
                if path.startswith("/internal"):
                    continue
                kept: dict[str, Any] = {}
                for method, op in _rewrite_refs(copy.deepcopy(item), renames).items():
                    if method not in ("get", "post", "put", "patch", "delete", "head", "options"):
                        kept[method] = op  # e.g. shared `parameters`
                        continue
                    op_route = table.match(method.upper(), path)
                    if op_route is None or op_route.service != service:
                        continue  # not reachable through the gateway
                    op["tags"] = [service]
                    if op_route.auth != "public":
                        op["security"] = [{SCHEME_NAME: []}]
                    else:
                        op.pop("security", None)
                    kept[method] = op
                if any(m in kept for m in ("get", "post", "put", "patch", "delete", "head", "options")):
                    paths[path] = kept
        description = self.app.description
        if unavailable:
            description += "\n\n**Unavailable right now:** " + ", ".join(unavailable)
        return {
            "openapi": own.get("openapi", "3.1.0"),
            "info": {"title": self.app.title, "version": self.app.version, "description": description},
            "paths": paths,
            "components": {"schemas": schemas, "securitySchemes": {SCHEME_NAME: SECURITY_SCHEME}},
            "tags": tags,
            "x-unavailable-services": unavailable,
        }
