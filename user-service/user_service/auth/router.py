"""HTTP routes for authentication, sessions, e-mail verification and password reset."""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response, status

from shared.auth import CurrentPrincipal, Principal, current_principal, oauth2_scheme
from shared.errors import BadRequest, ProblemError, ProblemResponse, problem_response, problem_responses
from user_service.accounts import service as accounts
from user_service.auth import recovery, service
from user_service.auth.revocation import active_sessions
from user_service.auth.schemas import (
    Accepted,
    EmailIn,
    OptionalEmailIn,
    PasswordChangeIn,
    PasswordResetIn,
    RefreshIn,
    SessionOut,
    TokenIn,
    TokenOut,
    VerifiedOut,
)
from user_service.clients import service as clients
from user_service.deps import CtxDep

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
me_router = APIRouter(prefix="/api/v1/users/me", tags=["profile"])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
ACCEPTED_DETAIL = "If the address belongs to an account, a message is on its way."


def _problem(request: Request, exc: ProblemError) -> ProblemResponse:
    """Answer with the problem *without* raising, so the request's transaction still commits what
    the failure recorded (failed-login counter, lockout, audit events, a revoked session)."""
    return problem_response(
        exc.status,
        code=exc.code,
        detail=exc.detail,
        title=exc.title,
        instance=request.url.path,
        headers=exc.headers,
        extra=exc.extra,
    )


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = raw.partition(":")
    return (client_id, secret) if sep else None


async def optional_principal(
    request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Principal | None:
    return await current_principal(request, token) if token else None


@router.post(
    "/login",
    response_model=TokenOut,
    response_model_exclude_none=True,
    summary="OAuth2 token endpoint: password grant (username = e-mail or username) or client_credentials",
    responses=problem_responses(400, 401, 403, 423),
)
async def login(
    request: Request,
    response: Response,
    ctx: CtxDep,
    grant_type: Annotated[str, Form()] = "password",
    username: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    scope: Annotated[str, Form(max_length=1000)] = "",
    client_id: Annotated[str, Form(max_length=100)] = "",
    client_secret: Annotated[str, Form(max_length=200)] = "",
) -> TokenOut | ProblemResponse:
    try:
        if grant_type == "password":
            tokens = await service.login(ctx, username, password)
        elif grant_type == "client_credentials":
            basic = _basic_credentials(request)
            cid, secret = basic if basic else (client_id, client_secret)
            tokens = await clients.token(ctx, cid, secret, scope)
        else:
            raise BadRequest(
                "Supported grant types: password, client_credentials.", code="unsupported_grant_type"
            )
    except ProblemError as exc:
        return _problem(request, exc)
    response.headers.update(NO_STORE)
    return tokens


@router.post(
    "/refresh",
    response_model=TokenOut,
    response_model_exclude_none=True,
    summary="Exchange a refresh token for a new pair (the old one stops working)",
    responses=problem_responses(401),
)
async def refresh(
    body: RefreshIn, request: Request, response: Response, ctx: CtxDep
) -> TokenOut | ProblemResponse:
    try:
        tokens = await service.refresh(ctx, body.refresh_token)
    except ProblemError as exc:
        return _problem(request, exc)
    response.headers.update(NO_STORE)
    return tokens


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="End this session now",
    responses=problem_responses(401),
)
async def logout(principal: CurrentPrincipal, ctx: CtxDep) -> None:
    await service.logout(ctx, principal)


@router.post(
    "/verify-email/request",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    summary="Send (again) the verification link: for the caller's account, or for `email`",
)
async def request_verification(
    ctx: CtxDep,
    principal: Annotated[Principal | None, Depends(optional_principal)],
    body: OptionalEmailIn | None = None,
) -> Accepted:
    if principal is not None and not principal.is_client:
        await recovery.request_verification(ctx, await accounts.me(ctx, principal))
    elif body is not None and body.email:
        await recovery.request_verification_by_email(ctx, body.email)
    return Accepted(detail=ACCEPTED_DETAIL)


@router.post(
    "/verify-email",
    response_model=VerifiedOut,
    summary="Confirm an e-mail address with the mailed token",
    responses=problem_responses(400, 409),
)
async def verify_email(body: TokenIn, ctx: CtxDep) -> VerifiedOut:
    user = await recovery.verify_email(ctx, body.token)
    return VerifiedOut(email_verified=user.email_verified)


@router.post(
    "/password-reset/request",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    summary="Mail a password-reset link (same answer whether or not the address is known)",
)
async def request_password_reset(body: EmailIn, ctx: CtxDep) -> Accepted:
    await recovery.request_password_reset(ctx, body.email)
    return Accepted(detail=ACCEPTED_DETAIL)


@router.post(
    "/password-reset",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Set a new password with the mailed token (ends every session)",
    responses=problem_responses(400, 422),
)
async def reset_password(body: PasswordResetIn, ctx: CtxDep) -> None:
    await recovery.reset_password(ctx, body.token, body.new_password)


@me_router.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Change my password (ends my other sessions)",
    responses=problem_responses(400, 401, 422),
)
async def change_password(
    body: PasswordChangeIn, principal: CurrentPrincipal, request: Request, ctx: CtxDep
) -> Response:
    user = await accounts.me(ctx, principal)
    try:
        await service.change_password(ctx, user, principal, body.current_password, body.new_password)
    except ProblemError as exc:
        return _problem(request, exc)  # keeps the audit event of a wrong current password
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@me_router.get(
    "/sessions",
    response_model=list[SessionOut],
    summary="My active sessions",
    responses=problem_responses(401),
)
async def list_sessions(principal: CurrentPrincipal, ctx: CtxDep) -> list[SessionOut]:
    user = await accounts.me(ctx, principal)
    return [
        SessionOut(
            id=s.id,
            created_at=s.created_at,
            last_used_at=s.last_used_at,
            expires_at=s.expires_at,
            user_agent=s.user_agent,
            ip=s.ip,
            current=str(s.id) == principal.session_id,
        )
        for s in await active_sessions(ctx, user.id)
    ]


@me_router.delete(
    "/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="End one of my sessions",
    responses=problem_responses(401, 404),
)
async def delete_session(session_id: uuid.UUID, principal: CurrentPrincipal, ctx: CtxDep) -> None:
    await accounts.me(ctx, principal)
    await service.revoke_own_session(ctx, principal, str(session_id))
