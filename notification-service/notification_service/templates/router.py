"""`/api/v1/templates`: admin CRUD (every change is a new version) and render preview."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from notification_service.models import Template
from notification_service.templates.render import TemplateProblem, check_definition, render
from shared.auth import AdminPrincipal, StaffPrincipal
from shared.deps import SessionDep
from shared.errors import NotFound, Unprocessable, problem_responses

router = APIRouter(prefix="/api/v1/templates", tags=["templates"])

Channel = Literal["email", "sms", "push"]
VAR = r"^[a-z_][a-z0-9_]{0,63}$"


class TemplateIn(BaseModel):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")
    channel: Channel
    language: str = Field(default="en", pattern=r"^[a-z]{2}$")
    category: Literal["security", "transactions", "account", "marketing"]
    subject: str = Field(default="", max_length=500)
    body_text: str = Field(min_length=1, max_length=20_000)
    body_html: str | None = Field(default=None, max_length=100_000)
    required_variables: list[Annotated[str, Field(pattern=VAR)]] = Field(default_factory=list, max_length=50)


class TemplateOut(TemplateIn):
    model_config = ConfigDict(from_attributes=True)
    id: int
    version: int
    is_active: bool
    created_by: str
    created_at: datetime


class PreviewIn(BaseModel):
    variables: dict[str, Any] = Field(default_factory=dict)


class DraftPreviewIn(PreviewIn):
    template: TemplateIn


class PreviewOut(BaseModel):
    subject: str
    body_text: str
    body_html: str | None


def _parts(t: TemplateIn | Template) -> dict[str, str | None]:
    return {"subject": t.subject, "body_text": t.body_text, "body_html": t.body_html}


def _validate(body: TemplateIn) -> None:
    if body.channel != "email" and body.body_html:
        raise Unprocessable("Only email templates have an HTML body.", code="invalid_template")
    try:
        check_definition(body.key, _parts(body), body.required_variables)
    except TemplateProblem as exc:
        raise Unprocessable(str(exc), code="invalid_template") from exc


def _preview(t: TemplateIn | Template, required: list[str], variables: dict[str, Any]) -> PreviewOut:
    try:
        r = render(_parts(t), required, variables)
    except TemplateProblem as exc:
        raise Unprocessable(str(exc), code="template_render_failed") from exc
    return PreviewOut(subject=r.subject, body_text=r.body_text, body_html=r.body_html)


@router.get("", response_model=list[TemplateOut], summary="Templates (latest version of each by default)")
async def list_templates(
    _: StaffPrincipal,
    session: SessionDep,
    key: str | None = None,
    channel: Channel | None = None,
    language: str | None = None,
    all_versions: Annotated[bool, Query()] = False,
) -> list[Template]:
    stmt = select(Template)
    if key:
        stmt = stmt.where(Template.key == key)
    if channel:
        stmt = stmt.where(Template.channel == channel)
    if language:
        stmt = stmt.where(Template.language == language)
    rows = list(
        (
            await session.scalars(
                stmt.order_by(Template.key, Template.channel, Template.language, Template.version)
            )
        ).all()
    )
    if all_versions:
        return rows
    latest: dict[tuple[str, str, str], Template] = {}
    for r in rows:
        latest[(r.key, r.channel, r.language)] = r
    return list(latest.values())


@router.post(
    "",
    response_model=TemplateOut,
    status_code=201,
    responses=problem_responses(401, 403, 422),
    summary="Create a template, or the next version of (key, channel, language)",
)
async def create_template(body: TemplateIn, principal: AdminPrincipal, session: SessionDep) -> Template:
    _validate(body)
    current = await session.scalar(
        select(func.max(Template.version)).where(
            Template.key == body.key, Template.channel == body.channel, Template.language == body.language
        )
    )
    row = Template(
        **body.model_dump(), version=(current or 0) + 1, is_active=True, created_by=principal.user_id[:64]
    )
    session.add(row)
    await session.flush()
    return row


@router.post(
    "/preview", response_model=PreviewOut, responses=problem_responses(422), summary="Preview a draft"
)
async def preview_draft(body: DraftPreviewIn, _: StaffPrincipal) -> PreviewOut:
    _validate(body.template)
    return _preview(body.template, body.template.required_variables, body.variables)


async def _get(session: SessionDep, template_id: int) -> Template:
    row = await session.get(Template, template_id)
    if row is None:
        raise NotFound("No such template.", code="template_not_found")
    return row


@router.get("/{template_id}", response_model=TemplateOut, responses=problem_responses(404))
async def get_template(template_id: int, _: StaffPrincipal, session: SessionDep) -> Template:
    return await _get(session, template_id)


@router.post("/{template_id}/preview", response_model=PreviewOut, responses=problem_responses(404, 422))
async def preview_template(
    template_id: int, body: PreviewIn, _: StaffPrincipal, session: SessionDep
) -> PreviewOut:
    row = await _get(session, template_id)
    return _preview(row, list(row.required_variables), body.variables)


@router.delete(
    "/{template_id}", response_model=TemplateOut, summary="Deactivate a version (kept for history)"
)
async def deactivate_template(template_id: int, _: AdminPrincipal, session: SessionDep) -> Template:
    row = await _get(session, template_id)
    row.is_active = False
    await session.flush()
    return row


@router.post("/{template_id}/activate", response_model=TemplateOut)
async def activate_template(template_id: int, _: AdminPrincipal, session: SessionDep) -> Template:
    row = await _get(session, template_id)
    row.is_active = True
    await session.flush()
    return row
