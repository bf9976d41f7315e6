"""The pages screens over HTTP: list with status and search, create blank or as a copy, roles."""

from __future__ import annotations

from typing import Any

from tests.integration.test_pages_api import create_page, save


def test_page_list_shows_status_and_searches(
    client: Any, admin_headers: dict[str, str], make_layout: Any, sign_in: Any
) -> None:
    create_page(client, admin_headers)
    save(client, admin_headers, make_layout())
    create_page(client, admin_headers, "home", "US")
    sign_in("viewer")
    html = client.get("/?marketplace=US").get_data(as_text=True)
    assert "draft v1 pending" in html and "not published" in html
    found = client.get("/?marketplace=US&q=HOM").get_data(as_text=True)
    assert "<code>home</code>" in found and "<code>birthday</code>" not in found


def test_viewers_cannot_create_pages(client: Any, sign_in: Any) -> None:
    token = sign_in("viewer")
    assert client.get("/pages/new").status_code == 403
    response = client.post("/pages", data={"csrf_token": token, "slug": "x", "marketplace": "US", "title": "X"})
    assert response.status_code == 403


def test_editor_creates_a_blank_page(client: Any, admin_headers: dict[str, str], sign_in: Any) -> None:
    token = sign_in("editor")
    response = client.post("/pages", data={"csrf_token": token, "slug": "wedding", "marketplace": "US",
                                           "title": "Wedding gift cards", "source": ""})  # fmt: skip
    assert response.status_code == 303 and response.headers["Location"] == "/pages/US/wedding/edit"
    version = client.get("/api/v1/pages/wedding/versions/1?marketplace=US", headers=admin_headers).get_json()
    assert version["document"] == {"schema_version": 1, "title": "Wedding gift cards", "slots": []}
    assert version["author"].startswith("editor-")
    assert "v1" in client.get("/pages/US/wedding").get_data(as_text=True)


def test_editor_copies_a_page_to_another_marketplace_in_one_step(
    client: Any, admin_headers: dict[str, str], make_layout: Any, sign_in: Any
) -> None:
    create_page(client, admin_headers)
    save(client, admin_headers, make_layout())
    token = sign_in("editor")
    client.post("/pages", data={"csrf_token": token, "slug": "birthday", "marketplace": "DE",
                                "title": "Geburtstag", "source": "US/birthday"})  # fmt: skip
    copy = client.get("/api/v1/pages/birthday/versions/1?marketplace=DE", headers=admin_headers).get_json()
    assert copy["document"] == {**make_layout(), "title": "Geburtstag"}
    assert copy["comment"] == "Copied from US/birthday"


def test_bad_fields_are_shown_next_to_the_field_and_kept(client: Any, sign_in: Any) -> None:
    token = sign_in("editor")
    response = client.post("/pages", data={"csrf_token": token, "slug": "Not OK", "marketplace": "US",
                                           "title": "Keep me", "source": ""})  # fmt: skip
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="slug-error"' in html and 'value="Keep me"' in html and 'value="Not OK"' in html


def test_unknown_page_in_the_ui_is_a_readable_page_not_json(client: Any, sign_in: Any) -> None:
    sign_in("viewer")
    response = client.get("/pages/US/nothing-here")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "Not found" in response.get_data(as_text=True)


def test_viewers_cannot_save_drafts_or_revert(
    client: Any, admin_headers: dict[str, str], make_layout: Any, sign_in: Any
) -> None:
    create_page(client, admin_headers)
    save(client, admin_headers, make_layout())
    token = sign_in("viewer")
    for path in ("/pages/US/birthday/edit-save", "/pages/US/birthday/edit/add", "/pages/US/birthday/revert-slot"):
        assert client.post(path, data={"csrf_token": token}).status_code == 403, path
