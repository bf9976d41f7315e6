"""Admin screens over HTTP: people and tokens, admins only, audited."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select

from core.audit import AuditEvent
from core.auth import ApiToken
from core.users import User


def test_only_admins_see_the_admin_screen(client: Any, sign_in: Any) -> None:
    sign_in("publisher")
    assert client.get("/admin").status_code == 403


def test_admin_adds_a_person_and_changes_their_role(
    client: Any, db_session: Any, sign_in: Any, admin_headers: dict[str, str]
) -> None:
    token = sign_in("admin")
    added = client.post("/admin/users", data={"csrf_token": token, "email": "New@Example.com",
                                              "password": "long enough pw", "role": "viewer"})  # fmt: skip
    assert added.status_code == 303
    user = db_session.scalars(select(User).where(User.email == "new@example.com")).one()
    client.post(f"/admin/users/{user.id}/role", data={"csrf_token": token, "role": "publisher"})
    db_session.expire_all()
    assert db_session.get(User, user.id).role == "publisher"
    actions = [e["action"] for e in client.get("/api/v1/audit", headers=admin_headers).get_json()["events"]]
    assert actions[:2] == ["role_changed", "user_created"]
    short = client.post("/admin/users", data={"csrf_token": token, "email": "x@example.com", "password": "short",
                                              "role": "viewer"})  # fmt: skip
    assert short.status_code == 422 and "at least 10 characters" in short.get_data(as_text=True)


def test_admin_creates_a_token_shown_once_and_revokes_it(client: Any, sign_in: Any) -> None:
    token = sign_in("admin")
    created = client.post("/admin/tokens", data={"csrf_token": token, "name": "storefront", "scopes": ["admin"]})
    secret = re.search(r'<code id="new-token">([^<]+)</code>', created.get_data(as_text=True))
    assert created.status_code == 201 and secret
    bearer = {"Authorization": f"Bearer {secret.group(1)}"}
    assert client.get("/api/v1/pages", headers=bearer).status_code == 200
    assert secret.group(1) not in client.get("/admin").get_data(as_text=True)
    token_id = re.search(r"/admin/tokens/(\d+)/revoke", client.get("/admin").get_data(as_text=True))
    assert token_id
    client.post(f"/admin/tokens/{token_id.group(1)}/revoke", data={"csrf_token": token})
    assert client.get("/api/v1/pages", headers=bearer).status_code == 401


@contextmanager
def audit_writes_fail() -> Iterator[None]:
    """Every audit insert fails at flush, as a full disk or a broken constraint would."""

    def refuse(*_args: Any) -> None:
        raise RuntimeError("the audit log cannot be written")

    event.listen(AuditEvent, "before_insert", refuse)
    try:
        yield
    finally:
        event.remove(AuditEvent, "before_insert", refuse)


def test_a_user_whose_audit_entry_fails_is_not_created(client: Any, db_session: Any, sign_in: Any) -> None:
    """Before: the user was committed, then the view wrote the audit entry in a second commit."""
    token = sign_in("admin")
    with audit_writes_fail(), pytest.raises(RuntimeError, match="audit log"):
        client.post("/admin/users", data={"csrf_token": token, "email": "orphan@example.com",
                                          "password": "long enough pw", "role": "viewer"})  # fmt: skip
    db_session.expire_all()
    assert db_session.scalars(select(User).where(User.email == "orphan@example.com")).first() is None


def test_a_token_whose_audit_entry_fails_is_not_created(client: Any, db_session: Any, sign_in: Any) -> None:
    token = sign_in("admin")
    with audit_writes_fail(), pytest.raises(RuntimeError, match="audit log"):
        client.post("/admin/tokens", data={"csrf_token": token, "name": "orphan", "scopes": ["events"]})
    db_session.expire_all()
    assert db_session.scalars(select(ApiToken).where(ApiToken.name == "orphan")).first() is None
