#!/bin/sh
# Container entrypoint of every service image: export each mounted secret file whose name is an
# environment variable name (/run/secrets/DATABASE_URL → DATABASE_URL), then run the command.
# docker compose `secrets:` (with `target: NAME`) mount such files; values never appear in
# `docker inspect` or the compose file. Kubernetes passes secrets as variables (envFrom) instead.
# SECRETS_DIR (default /run/secrets) exists for the deployment tests.
set -eu
secrets_dir="${SECRETS_DIR:-/run/secrets}"
if [ -d "$secrets_dir" ]; then
  for file in "$secrets_dir"/*; do
    [ -f "$file" ] || continue
    name="${file##*/}"
    case "$name" in
      ''|[0-9]*|*[!A-Z0-9_]*) continue ;;
    esac
    value="$(cat "$file")"
    export "$name=$value"
  done
fi
exec "$@"
