"""Signing in to the config UI: passwords, throttling, CSRF, roles, cookies — over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from core.users import create_user, may
from tests.support.builders import csrf_token_of

PASSWORD = "correct horse battery"


@pytest.fixture
def editor(db_session: Any) -> str:
    email = create_user(db_session, "Editor@Example.com", PASSWORD, "editor").email
    db_session.commit()
    return email


def post_sign_in(client: Any, email: str, password: str, **extra: str) -> Any:
    token = csrf_token_of(client, "/sign-in")
    return client.post("/sign-in", data={"email": email, "password": password, "csrf_token": token, **extra})


def test_strangers_are_sent_to_sign_in_and_back_afterwards(client: Any, editor: str) -> None:
    response = client.get("/?marketplace=US")
    assert response.status_code == 302 and "/sign-in?next=" in response.headers["Location"]
    signed_in = post_sign_in(client, "editor@example.com", PASSWORD, next="/?marketplace=US")
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == "/?marketplace=US"
    assert client.get("/").status_code == 200


def test_session_cookie_is_http_only_and_same_site(client: Any, editor: str) -> None:
    response = post_sign_in(client, editor, PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client: Any, editor: str) -> None:
    wrong = post_sign_in(client, editor, "not the password")
    unknown = post_sign_in(client, "nobody@example.com", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert "do not match" in wrong.get_data(as_text=True)


def test_repeated_failures_are_throttled_even_with_the_right_password(make_app: Any, editor: str) -> None:
    still = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)  # the app's clock stands still: the wait never ends
    client = make_app(clock=lambda: still).test_client()
    for _ in range(5):
        post_sign_in(client, editor, "guess")
    response = post_sign_in(client, editor, PASSWORD)
    assert response.status_code == 429 and "Too many failed attempts" in response.get_data(as_text=True)
    assert response.headers["Retry-After"] == "1"


def test_forms_without_the_csrf_token_are_refused(client: Any, editor: str) -> None:
    client.get("/sign-in")
    response = client.post("/sign-in", data={"email": editor, "password": PASSWORD})
    assert response.status_code == 400
    forged = client.post("/sign-in", data={"email": editor, "password": PASSWORD, "csrf_token": "forged"})
    assert forged.status_code == 400


def test_sign_out_needs_the_csrf_token_and_ends_the_session(client: Any, sign_in: Any) -> None:
    token = sign_in("viewer")
    assert client.post("/sign-out").status_code == 400
    assert client.post("/sign-out", data={"csrf_token": token}).status_code == 303
    assert client.get("/").status_code == 302


def test_next_never_leaves_the_site(client: Any, editor: str) -> None:
    response = post_sign_in(client, editor, PASSWORD, next="//evil.example/")
    assert response.headers["Location"] == "/"


def test_roles_are_ordered() -> None:
    assert may("admin", "publisher") and may("publisher", "editor") and may("editor", "viewer")
    assert not may("viewer", "editor") and not may("editor", "publisher") and not may("unknown", "viewer")


def test_users_create_asks_for_the_password_and_checks_it(runner: Any) -> None:
    created = runner.invoke(
        args=["users", "create", "pm@example.com", "--role", "publisher"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert created.exit_code == 0 and "publisher" in created.output
    short = runner.invoke(args=["users", "create", "x@example.com"], input="short\nshort\n")
    assert short.exit_code != 0 and "at least 10 characters" in short.output
    again = runner.invoke(args=["users", "create", "PM@example.com"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert again.exit_code != 0 and "exists already" in again.output


@pytest.mark.parametrize(
    "target",
    [
        "/\t/evil.example/",
        "/\n/evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
        " /x",
        "/x\r\nSet-Cookie: a=b",
        "evil.example",
        "/%2F%2Fevil",
        "/%2f/evil.example/",
        "/%5Cevil.example",
        "/%09/evil.example/",
        "/%0a",
        "/pages\\..\\evil",
        "/x y",
        "",
    ],  # fmt: skip
)
def test_next_after_sign_in_is_only_a_same_site_path(client: Any, editor: str, target: str) -> None:
    """`next=/%09/evil.example/` went to //evil.example/ (browsers drop the tab); a newline was a 500."""
    response = post_sign_in(client, editor, PASSWORD, next=target)
    assert response.status_code == 303 and response.headers["Location"] == "/", response.headers.get("Location")


@pytest.mark.parametrize("target", ["/?marketplace=US", "/pages/home/editor?marketplace=DE", "/audit?q=a%20b"])
def test_next_after_sign_in_keeps_a_same_site_path(client: Any, editor: str, target: str) -> None:
    response = post_sign_in(client, editor, PASSWORD, next=target)
    assert response.status_code == 303 and response.headers["Location"] == target


def test_signing_out_ends_the_session_for_a_copied_cookie_too(client: Any, app: Any, editor: str) -> None:
    post_sign_in(client, editor, PASSWORD)
    copy = app.test_client()
    cookie = client.get_cookie("session")
    assert cookie is not None
    copy.set_cookie("session", cookie.value)
    assert copy.get("/").status_code == 200  # the copy works while the session lasts...
    client.post("/sign-out", data={"csrf_token": csrf_token_of(client, "/")})
    assert copy.get("/").status_code == 302  # ...and not after its user signed out


def test_a_role_or_password_change_ends_every_session_of_that_user(
    client: Any, app: Any, db_session: Any, editor: str
) -> None:
    from sqlalchemy import select

    from core.users import User, set_password, set_role

    user_id = db_session.scalar(select(User.id).where(User.email == editor))
    post_sign_in(client, editor, PASSWORD)
    assert client.get("/").status_code == 200
    set_role(db_session, user_id, "viewer", "admin@example.com")
    db_session.commit()
    assert client.get("/").status_code == 302
    post_sign_in(client, editor, PASSWORD)
    assert client.get("/").status_code == 200
    set_password(db_session, user_id, "another long password", "admin@example.com")
    db_session.commit()
    assert client.get("/").status_code == 302
    assert post_sign_in(client, editor, "another long password").status_code == 303
