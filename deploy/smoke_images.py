"""Replay each Dockerfile's build steps without Docker, then import and build the app.

    .venv/bin/python deploy/smoke_images.py [service …]     # default: every service

For each service: a fresh folder with what the image's builder stage copies (root pyproject.toml,
uv.lock, every member's pyproject.toml, then shared/ and the service without tests), the same two
`uv sync --frozen --no-dev … --package <service>` commands into a fresh virtualenv, then
`create_app()` in that virtualenv, from the image's working directory. It catches what the
workspace venv hides: a dependency that only another member declares. Needs uv and PyPI (or uv's
cache); not part of `make test` (a minute or two per service on this machine).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import ROOT, workspace_members

from shared.topology import BY_NAME, SERVICES

IGNORE = shutil.ignore_patterns("tests", "__pycache__", "*.pyc", ".env", ".data", "*.db")


def smoke(name: str, python: str) -> tuple[bool, str]:
    spec = BY_NAME[name]
    with tempfile.TemporaryDirectory(prefix=f"smoke-{name}-") as tmp:
        src, venv = Path(tmp) / "src", Path(tmp) / "venv"
        src.mkdir()
        shutil.copy(ROOT / "pyproject.toml", src)
        shutil.copy(ROOT / "uv.lock", src)
        for member in workspace_members():
            (src / member).mkdir()
            shutil.copy(ROOT / member / "pyproject.toml", src / member)
        env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON": python,
               "UV_PYTHON_DOWNLOADS": "never", "UV_LINK_MODE": "copy"}
        env.pop("VIRTUAL_ENV", None)
        uv = shutil.which("uv") or "uv"
        steps = [[uv, "sync", "--frozen", "--no-dev", "--no-install-workspace", "--package", name],
                 [uv, "sync", "--frozen", "--no-dev", "--no-editable", "--package", name]]
        out = subprocess.run(steps[0], cwd=src, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        if out.returncode != 0:
            return False, out.stderr[-2000:]
        for folder in ("shared", name):
            shutil.rmtree(src / folder)
            shutil.copytree(ROOT / folder, src / folder, ignore=IGNORE)
        out = subprocess.run(steps[1], cwd=src, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        if out.returncode != 0:
            return False, out.stderr[-2000:]
        workdir = Path(tmp) / "app"
        workdir.mkdir()
        code = f"from {spec.package}.main import create_app; create_app(); print('ok')"
        run_env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL"))}
        run_env |= {"DATA_DIR": str(Path(tmp) / "data"), "PYTHONDONTWRITEBYTECODE": "1"}
        out = subprocess.run([str(venv / "bin" / "python"), "-c", code], cwd=workdir, env=run_env,  # noqa: S603
                             capture_output=True, text=True, check=False, timeout=300)
        return out.returncode == 0, (out.stdout + out.stderr)[-2000:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("services", nargs="*", default=[s.name for s in SERVICES])
    parser.add_argument("--python", default=os.path.realpath(sys.executable), help="base interpreter")
    args = parser.parse_args(argv)
    failed = []
    for name in args.services:
        ok, detail = smoke(name, args.python)
        sys.stdout.write(f"{'ok  ' if ok else 'FAIL'} {name}\n")
        if not ok:
            failed.append(name)
            sys.stdout.write("     " + detail.strip().replace("\n", "\n     ") + "\n")
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
