"""`python -m user_service [command]`

    python -m user_service                       serve the API (same as `serve`)
    python -m user_service create-admin --email a@b.c [--password …|--password-stdin] [--username …]
    python -m user_service rotate-keys [--key-dir DIR]

`rotate-keys` retires the current signing key (still published in the JWKS, so tokens it signed
stay valid until they expire) and creates a new one in JWT_KEY_DIR; running services pick it up
within JWT_KEY_RELOAD_INTERVAL seconds. Keys given through JWT_PRIVATE_KEY(_FILE) are rotated by
changing those settings instead (old key into JWT_PREVIOUS_KEYS).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Sequence
from pathlib import Path

from shared.server import run
from user_service.settings import Settings


def serve(settings: Settings) -> int:
    from user_service.main import create_app

    run(create_app(settings), settings)
    return 0


def rotate_keys(settings: Settings, key_dir: Path | None) -> int:
    from user_service.security.keys import KeyStore, rotate_key_dir

    if key_dir is None and not KeyStore(settings).uses_key_dir:
        sys.stderr.write(
            "The signing key comes from JWT_PRIVATE_KEY / JWT_PRIVATE_KEY_FILE: rotate by moving the old\n"
            "key into JWT_PREVIOUS_KEYS(_FILE) and setting a new JWT_PRIVATE_KEY, then restart.\n"
        )
        return 2
    target = key_dir or settings.key_dir
    # Keep retired keys as long as any token they signed can still be presented.
    keep = max(settings.refresh_token_ttl_seconds, settings.access_token_ttl_seconds) + 60
    new = rotate_key_dir(target, algorithm=settings.jwt_key_algorithm, keep_seconds=keep)
    sys.stdout.write(f"new signing key {new.kid} ({new.algorithm}) in {target}\n")
    return 0


def create_admin(
    settings: Settings, email: str, password: str | None, password_stdin: bool, username: str | None
) -> int:
    from shared.db import Database
    from shared.errors import ProblemError
    from user_service.bootstrap import create_admin as create
    from user_service.security.passwords import PasswordHasher

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif not password:
        password = getpass.getpass("Password for the new admin: ")

    async def run() -> int:
        db = Database(settings.database_url, schema=settings.db_schema, pool_size=1)
        try:
            user = await create(
                db,
                settings,
                PasswordHasher(settings),
                email=email,
                password=password or "",
                username=username,
            )
        except ProblemError as exc:
            sys.stderr.write(f"create-admin failed: {exc.detail}\n")
            return 1
        except ValueError:
            sys.stderr.write("create-admin failed: not a valid e-mail address\n")
            return 1
        finally:
            await db.dispose()
        assert user is not None
        sys.stdout.write(f"admin {user.username} ({user.id}) created\n")
        return 0

    return asyncio.run(run())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m user_service", description="User Service")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="serve the API (the default)")
    ca = sub.add_parser("create-admin", help="create a verified administrator")
    ca.add_argument("--email", required=True)
    ca.add_argument("--password", help="prefer --password-stdin or the prompt: arguments show in `ps`")
    ca.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    ca.add_argument("--username")
    rk = sub.add_parser("rotate-keys", help="retire the current token signing key and create a new one")
    rk.add_argument("--key-dir", type=Path, help="default: JWT_KEY_DIR (DATA_DIR/jwt-keys)")
    args = parser.parse_args(argv)

    settings = Settings()
    if args.command == "create-admin":
        return create_admin(settings, args.email, args.password, args.password_stdin, args.username)
    if args.command == "rotate-keys":
        return rotate_keys(settings, args.key_dir)
    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())
