"""Render every deployment file from the service table (`shared/shared/topology.py`).

    .venv/bin/python deploy/render.py          # (re)write the files
    .venv/bin/python deploy/render.py --check  # exit 1 and list the files that are out of date

Written: `*/Dockerfile`, `docker-compose.yml`, `docker-compose.prod.yml`, `k8s/*` and the files under
`deploy/` that repeat the service list (postgres init script, secret templates, overlays). Adding a
service to the topology and re-running this keeps compose, Kubernetes and the images in step; the
deployment tests fail when a committed file differs from what this renders.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import render_compose
import render_k8s
from common import (
    HEADER,
    PYTHON_IMAGE,
    ROOT,
    UV_IMAGE,
    app_services,
    workspace_members,
)

from shared.topology import SERVICES, ServiceSpec

DOCKERFILE = """\
# syntax=docker/dockerfile:1
# {title} image. {header}
# Build from the repository root (the uv workspace is the build context):
#   docker build -f {name}/Dockerfile -t payment-gateway/{name}:dev .

FROM {uv_image} AS uv

# ---- build stage: resolve from the lock, install shared + {name} as wheels into /app/.venv
FROM {python_image} AS builder
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \\
    UV_LINK_MODE=copy \\
    UV_NO_CACHE=1 \\
    UV_PYTHON_DOWNLOADS=never \\
    UV_PYTHON=/usr/local/bin/python3.12 \\
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# Dependencies first, in a layer that changes only with the lock: uv reads the whole workspace
# (every member's pyproject.toml) to use uv.lock, but installs only what {name} needs.
COPY pyproject.toml uv.lock ./
{member_copies}
RUN uv sync --frozen --no-dev --no-install-workspace --package {name}
# Then the code, installed as wheels (not editable), so the runtime image needs no source tree.
COPY shared/ shared/
COPY {name}/ {name}/
RUN uv sync --frozen --no-dev --no-editable --package {name}

# ---- runtime stage: the interpreter, the virtualenv and {runtime_files}; no uv, no compilers, no caches
FROM {python_image} AS runtime
# A fixed unprivileged id: Kubernetes' runAsUser and the compose files use the same 10001.
RUN groupadd --system --gid 10001 app \\
 && useradd --system --no-log-init --uid 10001 --gid 10001 --no-create-home \\
      --home-dir /nonexistent --shell /usr/sbin/nologin app
ENV PATH="/app/.venv/bin:$PATH" \\
    PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    HOST=0.0.0.0 \\
    PORT={port} \\
    DATA_DIR=/tmp/data
WORKDIR /app/{name}
COPY --from=builder /app/.venv /app/.venv
{alembic_copies}COPY --chmod=0755 deploy/docker/entrypoint.sh /usr/local/bin/docker-entrypoint
COPY --chmod=0644 deploy/docker/healthcheck.py /usr/local/bin/healthcheck.py
USER 10001:10001
EXPOSE {port}
# Readiness (database, cache, dependencies) with the interpreter: slim images have no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \\
    CMD ["python", "/usr/local/bin/healthcheck.py", "/health/ready"]
# The entrypoint turns mounted secret files (/run/secrets/NAME) into environment variables.
ENTRYPOINT ["docker-entrypoint"]
CMD ["python", "-m", "{package}"]
"""

ALEMBIC_COPIES = """\
# Migrations: `alembic -c alembic.ini upgrade head` from this folder (the compose/k8s migrate step).
COPY {name}/alembic.ini ./alembic.ini
COPY {name}/alembic/ ./alembic/
"""

INIT_SCRIPT = """\
#!/bin/bash
# One schema and one least-privilege login role per service. {header}
#
# Runs once, as the superuser, when the PostgreSQL data directory is first created (the postgres
# image executes /docker-entrypoint-initdb.d/*.sh); it is idempotent, so it can be re-run by hand:
#   docker compose exec postgres bash /docker-entrypoint-initdb.d/10-init-schemas.sh
# Each role owns only its schema (tables, sequences and the Alembic version table live there), has
# search_path set to it and cannot read or change any other service's schema.
# Passwords: <SCHEMA>_DB_PASSWORD from the environment, else the file /run/secrets/<schema>_db_password.
# DB_ROLE_PREFIX (default empty) prefixes every role name (the deployment tests use it).
set -euo pipefail

# role:schema pairs, from shared/shared/topology.py
SERVICES="{pairs}"
PREFIX="${{DB_ROLE_PREFIX:-}}"
DB="${{POSTGRES_DB:-postgres}}"

password_for() {{
  local var="${{1^^}}_DB_PASSWORD" file="/run/secrets/${{1}}_db_password"
  if [[ -n "${{!var:-}}" ]]; then
    printf '%s' "${{!var}}"
  elif [[ -r "$file" ]]; then
    tr -d '\\n' < "$file"
  else
    echo "init-schemas: set $var or mount $file" >&2
    return 1
  fi
}}

run_psql() {{
  psql -v ON_ERROR_STOP=1 -X -q --username "${{POSTGRES_USER:-postgres}}" --dbname "$DB" "$@"
}}

# Nobody but the owner and the granted roles connects; nobody creates objects in `public`.
run_psql -v db="$DB" <<'SQL'
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
SQL

for pair in $SERVICES; do
  role="${{PREFIX}}${{pair%%:*}}"
  schema="${{pair##*:}}"
  password="$(password_for "$schema")"
  run_psql -v db="$DB" -v role="$role" -v schema="$schema" -v pw="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \\gexec
ALTER ROLE :"role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION
  NOBYPASSRLS CONNECTION LIMIT 40 PASSWORD :'pw';
CREATE SCHEMA IF NOT EXISTS :"schema" AUTHORIZATION :"role";
ALTER SCHEMA :"schema" OWNER TO :"role";
REVOKE ALL ON SCHEMA :"schema" FROM PUBLIC;
-- CONNECT to the database and CREATE on it: shared.alembic_env issues
-- `CREATE SCHEMA IF NOT EXISTS <schema>`, which PostgreSQL refuses without CREATE on the
-- database even when the schema exists. Drop the CREATE grant once alembic_env skips that
-- statement for an existing schema (requested); the role still cannot touch other schemas.
GRANT CONNECT, CREATE ON DATABASE :"db" TO :"role";
ALTER ROLE :"role" IN DATABASE :"db" SET search_path = :"schema";
SQL
  echo "init-schemas: role $role owns schema $schema"
done
"""


def dockerfile(s: ServiceSpec) -> str:
    members = workspace_members()
    copies = "\n".join(f"COPY {m}/pyproject.toml {m}/" for m in members)
    alembic = ALEMBIC_COPIES.format(name=s.name) if s.schema else ""
    return DOCKERFILE.format(
        title=s.title,
        header=HEADER,
        name=s.name,
        package=s.package,
        port=s.port,
        uv_image=UV_IMAGE,
        python_image=PYTHON_IMAGE,
        member_copies=copies,
        alembic_copies=alembic,
        runtime_files="the migrations" if s.schema else "two helper scripts",
    )


def init_script() -> str:
    pairs = " ".join(f"{s.package}:{s.schema}" for s in SERVICES if s.schema)
    return INIT_SCRIPT.format(header=HEADER, pairs=pairs)


def render_all() -> dict[Path, str]:
    files: dict[Path, str] = {}
    for s in SERVICES:
        files[ROOT / s.name / "Dockerfile"] = dockerfile(s)
    files[ROOT / "deploy" / "postgres" / "init-schemas.sh"] = init_script()
    files.update(render_compose.render(init_script()))
    for rel, text in render_k8s.render(init_script()).items():
        files[ROOT / rel] = text
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report files that differ")
    args = parser.parse_args(argv)
    assert [s.name for s in app_services(with_sandbox=True)] == [s.name for s in SERVICES]
    stale: list[str] = []
    for path, text in render_all().items():
        current = path.read_text() if path.exists() else None
        if current == text:
            continue
        stale.append(str(path.relative_to(ROOT)))
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            if path.suffix == ".sh":
                path.chmod(0o755)
    verb = "out of date (run .venv/bin/python deploy/render.py)" if args.check else "written"
    for rel in stale:
        sys.stdout.write(f"{verb}: {rel}\n")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    raise SystemExit(main())
