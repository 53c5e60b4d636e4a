"""HTTP routes for API clients (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from shared.auth import AdminPrincipal
from shared.errors import problem_responses
from user_service.clients import service
from user_service.clients.schemas import ApiClientCreate, ApiClientCreated, ApiClientOut
from user_service.deps import CtxDep

router = APIRouter(prefix="/api/v1/users/api-clients", tags=["api clients (admin)"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiClientCreated,
    summary="Create an API client (the secret is shown only in this answer)",
    responses=problem_responses(401, 403, 422),
)
async def create_client(body: ApiClientCreate, principal: AdminPrincipal, ctx: CtxDep) -> ApiClientCreated:
    client, secret = await service.create(ctx, body, principal)
    return ApiClientCreated(**ApiClientOut.model_validate(client).model_dump(), client_secret=secret)


@router.get(
    "", response_model=list[ApiClientOut], summary="List API clients", responses=problem_responses(401, 403)
)
async def list_clients(principal: AdminPrincipal, ctx: CtxDep) -> list[ApiClientOut]:
    return [ApiClientOut.model_validate(c) for c in await service.list_all(ctx)]


@router.delete(
    "/{client_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke an API client (its live tokens stop working at once)",
    responses=problem_responses(401, 403, 404),
)
async def revoke_client(
    client_id: Annotated[str, Path(max_length=64)], principal: AdminPrincipal, ctx: CtxDep
) -> None:
    await service.revoke(ctx, client_id, principal)
