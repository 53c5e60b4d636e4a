"""Start the whole platform as local processes: `make run` and the end-to-end tests use this.

    python -m shared.devstack            # embedded default: SQLite under .data/, no Redis
    DATABASE_URL=postgresql://… REDIS_URL=redis://… python -m shared.devstack   # full stack

It migrates every service database, starts all nine processes with prefixed logs, waits until each
`/health/ready` answers, prints the URLs, and stops everything on Ctrl-C — or as soon as one
process dies during start-up, showing its last output.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.settings import default_data_dir
from shared.topology import SERVICES, ServiceSpec

COLORS = ["36", "32", "33", "35", "34", "31", "96", "92", "93", "95"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sqlite_url(data_dir: Path, spec: ServiceSpec) -> str:
    return f"sqlite+aiosqlite:///{data_dir / (spec.package + '.db')}"


@dataclass
class Proc:
    name: str
    ready_url: str  # answers 200 once the process is ready
    popen: subprocess.Popen[bytes]
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=40))


class Stack:
    """A set of running service processes on loopback ports."""

    def __init__(
        self,
        *,
        ports: Mapping[str, int] | None = None,
        env: Mapping[str, str] | None = None,
        per_service_env: Mapping[str, Mapping[str, str]] | None = None,
        data_dir: Path | None = None,
        services: Sequence[ServiceSpec] = SERVICES,
        echo: bool = True,
        color: bool = True,
    ) -> None:
        self.services = list(services)
        self.ports = {s.name: (ports or {}).get(s.name, s.port) for s in SERVICES}
        self.base_env = dict(env or {})
        self.per_service_env = {k: dict(v) for k, v in (per_service_env or {}).items()}
        self.data_dir = data_dir or default_data_dir()
        self.echo = echo
        self.color = color and sys.stdout.isatty()
        self.procs: dict[str, Proc] = {}
        self._lock = threading.Lock()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def common_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.base_env)
        env.setdefault("DATA_DIR", str(self.data_dir))
        for s in SERVICES:
            env[f"{s.env_prefix}_URL"] = self.url(s.name)
        env["JWKS_URL"] = f"{self.url('user-service')}/.well-known/jwks.json"
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def service_env(self, spec: ServiceSpec) -> dict[str, str]:
        env = self.common_env()
        env["PORT"] = str(self.ports[spec.name])
        env["HOST"] = "127.0.0.1"
        shared_db = env.get("DATABASE_URL", "")
        if spec.schema:
            # One PostgreSQL database with a schema per service, or one SQLite file per service.
            env["DATABASE_URL"] = shared_db or sqlite_url(self.data_dir, spec)
            env["DB_SCHEMA"] = spec.schema
        env.update(self.per_service_env.get(spec.name, {}))
        return env

    def migrate(self) -> None:
        for spec in self.services:
            if not spec.schema:
                continue
            env = self.service_env(spec)
            backend = "postgresql" if env["DATABASE_URL"].startswith("postgres") else "sqlite"
            self._say("migrate", f"{spec.name}: alembic upgrade head ({backend})")
            folder = Path(__file__).resolve().parents[2] / spec.name
            result = subprocess.run(  # noqa: S603 - fixed command, our own interpreter
                [sys.executable, "-m", "alembic", "-c", str(folder / "alembic.ini"), "upgrade", "head"],
                env=env,
                cwd=folder,
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                raise RuntimeError(f"migration of {spec.name} failed:\n{result.stderr[-3000:]}")

    def _say(self, name: str, line: str) -> None:
        if not self.echo:
            return
        idx = [s.name for s in SERVICES].index(name) if name in self.ports else 9
        prefix = f"{name:>22} | "
        if self.color:
            prefix = f"\x1b[{COLORS[idx % len(COLORS)]}m{prefix}\x1b[0m"
        with self._lock:
            sys.stdout.write(prefix + line + "\n")
            sys.stdout.flush()

    def _pump(self, proc: Proc) -> None:
        assert proc.popen.stdout is not None
        for raw in iter(proc.popen.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip()
            proc.tail.append(line)
            self._say(proc.name, line)

    def start(self, timeout: float = 60.0) -> None:
        for spec in self.services:
            self.start_one(spec)
        self.wait_ready(timeout=timeout)

    def start_one(self, spec: ServiceSpec) -> Proc:
        return self._spawn(
            spec.name, spec.package, self.service_env(spec), f"{self.url(spec.name)}/health/ready"
        )

    def start_extra(self, name: str, module: str, env: Mapping[str, str], ready_url: str) -> Proc:
        """A helper process that is not a service (e.g. the SMTP sink of the embedded mode)."""
        return self._spawn(name, module, {**self.common_env(), **env}, ready_url)

    def _spawn(self, name: str, module: str, env: dict[str, str], ready_url: str) -> Proc:
        popen = subprocess.Popen(  # noqa: S603 - fixed command, our own interpreter
            [sys.executable, "-m", module],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        proc = Proc(name, ready_url, popen)
        self.procs[name] = proc
        threading.Thread(target=self._pump, args=(proc,), daemon=True).start()
        return proc

    def wait_ready(self, timeout: float = 60.0, names: Sequence[str] | None = None) -> None:
        pending = set(names or self.procs)
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while pending:
                for name in sorted(pending):
                    proc = self.procs[name]
                    if proc.popen.poll() is not None:
                        raise RuntimeError(
                            f"{name} exited with code {proc.popen.returncode} during start-up:\n"
                            + "\n".join(proc.tail)
                        )
                    try:
                        if client.get(proc.ready_url).status_code == 200:
                            pending.discard(name)
                    except httpx.HTTPError:
                        pass
                if pending and time.monotonic() > deadline:
                    raise TimeoutError(f"not ready after {timeout:.0f}s: {', '.join(sorted(pending))}")
                if pending:
                    time.sleep(0.2)

    def stop_one(self, name: str, *, kill: bool = False, timeout: float = 10.0) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.popen.poll() is not None:
            return
        try:
            os.killpg(proc.popen.pid, signal.SIGKILL if kill else signal.SIGTERM)
            proc.popen.wait(timeout=timeout)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.popen.wait(timeout=5)

    def stop(self) -> None:
        for name in list(self.procs):
            proc = self.procs[name]
            if proc.popen.poll() is None:
                try:
                    os.killpg(proc.popen.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 10
        for name in list(self.procs):
            proc = self.procs.pop(name)
            try:
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.popen.wait(timeout=5)

    def died(self) -> str | None:
        for name, proc in self.procs.items():
            if proc.popen.poll() is not None:
                return name
        return None


def _bootstrap_admin(env: dict[str, str], data_dir: Path) -> tuple[str, str] | None:
    """The embedded mode's first admin: taken from the environment, else generated once and kept
    in `.data/bootstrap-admin.txt` so it is the same on every `make run`."""
    if env.get("BOOTSTRAP_ADMIN_EMAIL") and env.get("BOOTSTRAP_ADMIN_PASSWORD"):
        return None
    path = data_dir / "bootstrap-admin.txt"
    if path.exists():
        email, password = path.read_text().split("\n")[:2]
    else:
        email, password = "admin@example.com", "Adm1n!" + secrets.token_urlsafe(9)
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{email}\n{password}\n")
        path.chmod(0o600)
    env["BOOTSTRAP_ADMIN_EMAIL"], env["BOOTSTRAP_ADMIN_PASSWORD"] = email, password
    return email, password


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--no-migrate", action="store_true", help="skip migrations")
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for readiness")
    args = parser.parse_args(argv)

    data_dir = Path(os.environ.get("DATA_DIR") or default_data_dir())
    env: dict[str, str] = {}
    env.setdefault("PAYPAL_AUTO_COMPLETE", os.environ.get("PAYPAL_AUTO_COMPLETE", "true"))
    env["ENVIRONMENT"] = os.environ.get("ENVIRONMENT", "development")
    env["LOG_FORMAT"] = os.environ.get("LOG_FORMAT", "console")
    creds = _bootstrap_admin(env, data_dir)
    stack = Stack(env=env, data_dir=data_dir)
    mode = (
        "full stack (PostgreSQL/Redis)"
        if os.environ.get("DATABASE_URL")
        else f"embedded (SQLite in {data_dir})"
    )
    print(f"Starting the payment platform — {mode}", flush=True)
    stopping = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    sink_smtp = os.environ.get("SMTP_SINK_PORT", "8025")
    sink_http = os.environ.get("SMTP_SINK_HTTP_PORT", "8026")
    try:
        if not args.no_migrate:
            stack.migrate()
        # Mail goes to a local SMTP sink in the embedded mode (notification-service's default SMTP_PORT).
        stack.start_extra(
            "smtp-sink",
            "notification_service.smtp_sink",
            {"SMTP_SINK_PORT": sink_smtp, "SMTP_SINK_HTTP_PORT": sink_http, "HOST": "127.0.0.1"},
            f"http://127.0.0.1:{sink_http}/messages",
        )
        stack.start(timeout=args.timeout)
    except (RuntimeError, TimeoutError) as exc:
        print(f"\nStart-up failed: {exc}\nStopping everything.", file=sys.stderr, flush=True)
        stack.stop()
        return 1
    gw = stack.url("gateway")
    lines = [
        "",
        "Payment platform is up:",
        f"  API docs (gateway)   {gw}/docs",
        f"  API base             {gw}/api/v1",
    ]
    lines += [f"  {s.title:<20} {stack.url(s.name)}/docs" for s in SERVICES if s.name != "gateway"]
    lines.append(f"  Sandbox state        {stack.url('provider-sandbox')}/sandbox/state")
    lines.append(
        f"  Mail (SMTP sink)     http://127.0.0.1:{sink_http}/messages  (SMTP on 127.0.0.1:{sink_smtp})"
    )
    if creds:
        lines.append(
            f"  Bootstrap admin      {creds[0]} / {creds[1]}  (kept in {data_dir}/bootstrap-admin.txt)"
        )
    lines.append("Press Ctrl-C to stop.")
    print("\n".join(lines), flush=True)
    while not stopping.is_set():
        dead = stack.died()
        if dead:
            print(f"\n{dead} stopped unexpectedly; stopping everything.", file=sys.stderr, flush=True)
            stack.stop()
            return 1
        stopping.wait(0.5)
    print("\nStopping…", flush=True)
    stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
