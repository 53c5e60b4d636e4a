"""Templates: bad templates fail at creation/preview (never at send time), HTML is escaped, the
sandbox refuses unsafe expressions, and a new version is what the next send uses."""

from __future__ import annotations

import uuid

from notification_service.templates.render import render


def _tpl(**overrides):
    body = {
        "key": "promo_offer",
        "channel": "email",
        "language": "en",
        "category": "marketing",
        "subject": "Offer for {{ user_name }}",
        "body_text": "Hi {{ user_name }}, {{ offer }}",
        "body_html": "<p>Hi {{ user_name }}, {{ offer }}</p>",
        "required_variables": ["user_name", "offer"],
    }
    body.update(overrides)
    return body


async def test_template_using_undeclared_variable_is_refused_at_creation(service) -> None:
    resp = await service.client.post(
        "/api/v1/templates", json=_tpl(required_variables=["user_name"]), headers=service.admin()
    )
    assert resp.status_code == 422
    assert resp.json()["code"] == "invalid_template"
    assert "undeclared variables: offer" in resp.json()["detail"]


async def test_template_requiring_variable_events_do_not_provide_is_refused(service) -> None:
    body = _tpl(
        key="transaction_completed", category="transactions", required_variables=["user_name", "offer"]
    )
    resp = await service.client.post("/api/v1/templates", json=body, headers=service.admin())
    assert resp.status_code == 422
    assert "not provided by the events of 'transaction_completed': offer" in resp.json()["detail"]


async def test_template_syntax_error_is_refused_at_creation(service) -> None:
    resp = await service.client.post(
        "/api/v1/templates", json=_tpl(body_text="Hi {{ user_name "), headers=service.admin()
    )
    assert resp.status_code == 422
    assert "syntax error" in resp.json()["detail"]


async def test_preview_missing_required_variable_fails_clearly(service) -> None:
    created = await service.client.post("/api/v1/templates", json=_tpl(), headers=service.admin())
    assert created.status_code == 201, created.text
    resp = await service.client.post(
        f"/api/v1/templates/{created.json()['id']}/preview",
        json={"variables": {"user_name": "Rahim"}},
        headers=service.admin(),
    )
    assert resp.status_code == 422
    assert resp.json()["code"] == "template_render_failed"
    assert resp.json()["detail"] == "missing required variables: offer"


async def test_preview_escapes_html_but_not_text(service) -> None:
    resp = await service.client.post(
        "/api/v1/templates/preview",
        json={"template": _tpl(), "variables": {"user_name": "<script>x</script>", "offer": "a & b"}},
        headers=service.admin(),
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["body_html"] == "<p>Hi &lt;script&gt;x&lt;/script&gt;, a &amp; b</p>"
    assert body["body_text"] == "Hi <script>x</script>, a & b"


async def test_sandbox_refuses_unsafe_attribute_access(service) -> None:
    bad = _tpl(body_text="{{ user_name.__class__.__mro__ }} {{ offer }}")
    resp = await service.client.post(
        "/api/v1/templates/preview",
        json={"template": bad, "variables": {"user_name": "x", "offer": "y"}},
        headers=service.admin(),
    )
    assert resp.status_code == 422
    assert "unsafe" in resp.json()["detail"] or "undefined" in resp.json()["detail"]


async def test_user_name_with_markup_is_escaped_in_sent_email(service, users, smtp) -> None:
    user = users.add(full_name="<b>Eve</b>")
    await service.event("user.registered", {"user_id": user["id"]})
    await service.deliver_all()
    mail = smtp.store.messages[0]
    assert "&lt;b&gt;Eve&lt;/b&gt;" in mail["html"]
    assert "<b>Eve</b>" not in mail["html"]
    assert "Hello <b>Eve</b>" in mail["text"]


async def test_new_version_is_used_for_next_send(service, users, smtp) -> None:
    body = _tpl(
        key="welcome",
        category="account",
        subject="Hello again {{ user_name }}",
        body_text="v2 for {{ username }}",
        body_html=None,
        required_variables=["user_name", "username"],
    )
    created = await service.client.post("/api/v1/templates", json=body, headers=service.admin())
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 2
    user = users.add()
    await service.event("user.registered", {"user_id": user["id"]})
    await service.deliver_all()
    assert smtp.store.messages[0]["subject"] == "Hello again Rahim Uddin"
    assert smtp.store.messages[0]["html"] is None
    listed = await service.client.get("/api/v1/templates?key=welcome&language=en", headers=service.admin())
    assert [t["version"] for t in listed.json()] == [2]


async def test_only_admins_create_templates(service) -> None:
    resp = await service.client.post(
        "/api/v1/templates", json=_tpl(), headers=service.user(str(uuid.uuid4()))
    )
    assert resp.status_code == 403


async def test_seeded_defaults_render_with_event_variables(service) -> None:
    listed = await service.client.get("/api/v1/templates", headers=service.admin())
    keys = {(t["key"], t["channel"], t["language"]) for t in listed.json()}
    assert ("transaction_created", "email", "en") in keys
    assert ("transaction_completed", "sms", "bn") in keys
    assert render({"subject": "{{ a }}", "body_text": "x", "body_html": None}, ["a"], {"a": 1}).subject == "1"
