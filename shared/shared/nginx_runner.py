"""Run the real nginx config (`nginx/nginx.conf.template`) on loopback ports: for the gateway's
tests, the cross-service end-to-end tests and the gateway benchmark.

    with NginxProcess(gateway_port=8123) as nginx:     # listens on a free port
        httpx.get(f"{nginx.url}/nginx-health")

Only the upper-case dollar-brace placeholders are filled (exactly what envsubst does in the container);
nginx runs in the foreground from a temporary prefix directory (pid, temp files, rendered config)
and is stopped (SIGQUIT, then SIGKILL) on exit.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from shared.devstack import free_port
from shared.settings import repo_root

TEMPLATE = repo_root() / "nginx" / "nginx.conf.template"
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
INSTALL_HELP = "nginx is not installed: `apt-get install -y nginx` (or set NGINX_BIN)."

# Values for a local run; production values are listed at the top of the template.
LOCAL_DEFAULTS = {
    "NGINX_WORKER_PROCESSES": "1",
    "NGINX_REAL_IP_FROM": "192.0.2.1/32",  # TEST-NET: no client is a trusted load balancer
    "NGINX_CLIENT_MAX_BODY": "10m",
    "NGINX_REQ_RATE": "100000r/s",  # tests and benchmarks drive many requests from 127.0.0.1
    "NGINX_REQ_BURST": "100000",
    "NGINX_ACCESS_LOG": "off",
}


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill the upper-case dollar-brace placeholders; a missing value is an error."""
    missing = sorted({m.group(1) for m in PLACEHOLDER.finditer(template)} - set(values))
    if missing:
        raise KeyError("no value for nginx template placeholders: " + ", ".join(missing))
    return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), template)


def nginx_binary() -> str:
    found = os.environ.get("NGINX_BIN") or shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if not found:
        raise RuntimeError(INSTALL_HELP)
    return found


class NginxProcess:
    def __init__(
        self,
        *,
        gateway_port: int | None = None,
        gateway_upstream: str | None = None,
        port: int | None = None,
        values: Mapping[str, str] | None = None,
        template: Path = TEMPLATE,
    ) -> None:
        if gateway_upstream is None:
            if gateway_port is None:
                raise ValueError("give gateway_port or gateway_upstream")
            gateway_upstream = f"127.0.0.1:{gateway_port}"
        self.port = port or free_port()
        self.values = {
            **LOCAL_DEFAULTS,
            "NGINX_LISTEN_PORT": f"127.0.0.1:{self.port}",
            "GATEWAY_UPSTREAM": gateway_upstream,
            **(values or {}),
        }
        self.template = template
        self.dir: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.error_log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> NginxProcess:
        binary = nginx_binary()
        self.dir = Path(tempfile.mkdtemp(prefix="nginx-"))
        self.dir.chmod(0o755)  # worker processes (another user when run as root) use temp dirs here
        conf = self.dir / "nginx.conf"
        conf.write_text(render(self.template.read_text(), self.values))
        args = [binary, "-p", str(self.dir), "-c", str(conf), "-e", "stderr"]
        main_directives = f"daemon off; pid {self.dir / 'nginx.pid'};"
        check = subprocess.run(  # noqa: S603 - our own binary and config
            [*args, "-t", "-q", "-g", main_directives], capture_output=True, text=True, check=False
        )
        if check.returncode != 0:
            raise RuntimeError(f"nginx rejected the rendered config:\n{check.stderr[-2000:]}")
        # nginx's own errors go to a file (a pipe nobody reads would block it once full).
        self.error_log = self.dir / "error.log"
        with open(self.error_log, "wb") as err:
            self.proc = subprocess.Popen(  # noqa: S603
                [*args, "-g", main_directives],
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                errors = (self.dir / "error.log").read_text(errors="replace")
                raise RuntimeError(f"nginx exited with code {self.proc.returncode}:\n{errors[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"nginx did not listen on {self.port} within {timeout:.0f}s")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGQUIT)  # graceful: finish in-flight requests
                proc.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=5)
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self) -> NginxProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
