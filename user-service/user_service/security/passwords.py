"""Password hashing (argon2id, bcrypt verified for imported hashes) and the password policy.

Hashing is CPU- and memory-bound: it runs in worker threads (argon2-cffi releases the GIL) behind
a semaphore, so at most `password_hash_concurrency` hashes are in flight per process (memory stays
bounded at N × argon2 memory cost under a login flood) and the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import re
import secrets

import anyio.to_thread
from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher

from shared.errors import Unprocessable
from user_service.settings import Settings

_SPECIAL = re.compile(r"[^A-Za-z0-9]")


class PasswordHasher:
    def __init__(self, settings: Settings) -> None:
        self._hash = PasswordHash(
            (
                Argon2Hasher(
                    time_cost=settings.argon2_time_cost,
                    memory_cost=settings.argon2_memory_cost_kib,
                    parallelism=settings.argon2_parallelism,
                ),
                BcryptHasher(),
            )
        )
        self._limit = asyncio.Semaphore(max(1, settings.password_hash_concurrency))
        # Verified against when the user does not exist, so an unknown login costs the same time.
        self._dummy_hash = self._hash.hash(secrets.token_urlsafe(16))

    def hash_sync(self, password: str) -> str:
        return self._hash.hash(password)

    async def hash(self, password: str) -> str:
        async with self._limit:
            return await anyio.to_thread.run_sync(self._hash.hash, password)

    async def verify(self, password: str, hashed: str | None) -> tuple[bool, str | None]:
        """(valid, new hash if the stored one should be upgraded — bcrypt or older parameters)."""
        async with self._limit:
            if hashed is None:
                await anyio.to_thread.run_sync(self._hash.verify, password, self._dummy_hash)
                return False, None
            try:
                return await anyio.to_thread.run_sync(self._hash.verify_and_update, password, hashed)
            except (ValueError, UnknownHashError):
                # bcrypt refuses passwords over 72 bytes; an unreadable stored hash matches nothing.
                return False, None


def policy_problems(password: str, settings: Settings, *, username: str = "", email: str = "") -> list[str]:
    """What is wrong with `password` (empty list → acceptable). Messages never echo the password."""
    problems: list[str] = []
    if len(password) < settings.password_min_length:
        problems.append(f"at least {settings.password_min_length} characters")
    if len(password) > settings.password_max_length:
        problems.append(f"at most {settings.password_max_length} characters")
    if settings.password_require_upper and not any(c.isupper() for c in password):
        problems.append("an upper-case letter")
    if settings.password_require_lower and not any(c.islower() for c in password):
        problems.append("a lower-case letter")
    if settings.password_require_digit and not any(c.isdigit() for c in password):
        problems.append("a digit")
    if settings.password_require_special and not _SPECIAL.search(password):
        problems.append("a special character")
    lowered = password.lower()
    if (username and lowered == username.lower()) or (email and lowered == email.lower()):
        problems.append("must differ from the username and e-mail")
    return problems


def check_policy(
    password: str, settings: Settings, *, username: str = "", email: str = "", field: str = "password"
) -> None:
    problems = policy_problems(password, settings, username=username, email=email)
    if problems:
        raise Unprocessable(
            "The password does not meet the policy: " + "; ".join(problems) + ".",
            code="weak_password",
            extra={
                "errors": [
                    {"field": field, "location": "body", "message": p, "type": "password_policy"}
                    for p in problems
                ]
            },
        )
