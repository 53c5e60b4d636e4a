"""Typed FastAPI dependencies shared by services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import httpx
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from shared.kv import KeyValueStore


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed before the response is sent, rolled back on error."""
    async for session in request.app.state.db.session():
        yield session


# scope="function": the commit happens when the endpoint returns, before the response is sent,
# so a client never sees a success whose commit then failed.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def get_kv(request: Request) -> KeyValueStore:
    return request.app.state.kv


def get_http(request: Request) -> httpx.AsyncClient:
    return request.app.state.http


KVDep = Annotated[KeyValueStore, Depends(get_kv)]
HttpDep = Annotated[httpx.AsyncClient, Depends(get_http)]
