"""A page's history over HTTP: readable diffs, publish and roll back, revert one slot, roles."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.test_pages_api import create_page, save
from tests.support.builders import storefront


@pytest.fixture
def two_versions(client: Any, admin_headers: dict[str, str], make_layout: Any, catalog: list[str]) -> dict[str, Any]:
    create_page(client, admin_headers)
    save(client, admin_headers, make_layout())
    changed = make_layout()
    changed["slots"][1]["settings"]["strategy"] = "trending"
    changed["slots"][0]["settings"]["headline"] = "Happy birthday"
    save(client, admin_headers, changed)
    return changed


def etag(client: Any, headers: dict[str, str]) -> str:
    return client.get("/api/v1/pages/birthday/versions?marketplace=US", headers=headers).headers["ETag"]


def live_version(client: Any, headers: dict[str, str]) -> int | None:
    return client.get("/api/v1/pages?marketplace=US", headers=headers).get_json()["pages"][0]["published_version"]


def test_diff_reads_in_the_words_of_the_page(client: Any, two_versions: dict[str, Any], sign_in: Any) -> None:
    sign_in("viewer")
    html = client.get("/pages/US/birthday/diff?from=1&to=2").get_data(as_text=True)
    assert "slot for-you: strategy personalized → trending" in html
    assert "Revert" not in html  # viewers cannot change anything


def test_publisher_publishes_and_rolls_back(
    client: Any, admin_headers: dict[str, str], two_versions: dict[str, Any], sign_in: Any
) -> None:
    token = sign_in("publisher")
    url = "/pages/US/birthday/publish"
    first = client.post(url, data={"csrf_token": token, "version": "2", "etag": etag(client, admin_headers)})
    assert first.status_code == 303 and live_version(client, admin_headers) == 2
    client.post(url, data={"csrf_token": token, "version": "1", "etag": etag(client, admin_headers)})
    assert live_version(client, admin_headers) == 1
    events = client.get("/api/v1/audit?target=US/birthday", headers=admin_headers).get_json()["events"]
    assert [e["action"] for e in events[:2]] == ["rollback", "publish"]


def test_stale_publish_is_refused_with_a_message_and_changes_nothing(
    client: Any, admin_headers: dict[str, str], two_versions: dict[str, Any], sign_in: Any
) -> None:
    token = sign_in("publisher")
    stale = etag(client, admin_headers)
    save(client, admin_headers, two_versions)  # someone saves meanwhile
    response = client.post(
        "/pages/US/birthday/publish", data={"csrf_token": token, "version": "2", "etag": stale}, follow_redirects=True
    )
    assert "changed since you loaded it" in response.get_data(as_text=True)
    assert live_version(client, admin_headers) is None


def test_editor_cannot_publish(
    client: Any, admin_headers: dict[str, str], two_versions: dict[str, Any], sign_in: Any
) -> None:
    token = sign_in("editor")
    response = client.post(
        "/pages/US/birthday/publish", data={"csrf_token": token, "version": "2", "etag": etag(client, admin_headers)}
    )
    assert response.status_code == 403 and live_version(client, admin_headers) is None


def test_reverting_one_slot_saves_a_new_version_and_keeps_the_others(
    client: Any, admin_headers: dict[str, str], two_versions: dict[str, Any], make_layout: Any, sign_in: Any
) -> None:
    token = sign_in("editor")
    response = client.post(
        "/pages/US/birthday/revert-slot",
        data={"csrf_token": token, "slot_id": "for-you", "version": "1", "parent": "2"},
    )
    assert response.status_code == 303
    latest = client.get("/api/v1/pages/birthday/versions/3?marketplace=US", headers=admin_headers).get_json()
    assert latest["document"]["slots"][1] == make_layout()["slots"][1]
    assert latest["document"]["slots"][0]["settings"]["headline"] == "Happy birthday"
    assert latest["comment"] == "Reverted slot for-you to version 1"
    versions = client.get("/api/v1/pages/birthday/versions?marketplace=US", headers=admin_headers).get_json()
    assert [v["number"] for v in versions["versions"]] == [3, 2, 1]  # nothing deleted


def test_any_version_can_be_viewed_as_a_shopper(client: Any, two_versions: dict[str, Any], sign_in: Any) -> None:
    sign_in("viewer")
    html = client.get("/pages/US/birthday/versions/1?user_id=shopper-3").get_data(as_text=True)
    assert "Version 1" in html and 'data-slot-id="for-you"' in html and "data-item-id=" in html


def test_a_ui_publish_whose_cache_write_fails_succeeds_and_says_invalidation_is_pending(
    app: Any, client: Any, admin_headers: dict[str, str], two_versions: dict[str, Any], sign_in: Any,
    cache_outage: Any,
) -> None:  # fmt: skip
    """Before: the publish committed, then the pointer write raised and the screen answered 500."""
    token = sign_in("publisher")
    cache_outage.begin()
    response = client.post("/pages/US/birthday/publish", follow_redirects=True,
                           data={"csrf_token": token, "version": "2", "etag": etag(client, admin_headers)})  # fmt: skip
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Version 2 is live" in html
    assert "could not be updated yet" in html  # the person is told, not shown an error
    assert live_version(client, admin_headers) == 2
    assert cache_outage.end() == 0  # the cache is back: the pending pointer write is applied
    assert resolve_version(client) == 2


def resolve_version(client: Any) -> int:
    return int(
        client.get("/api/v1/pages/birthday/resolve?marketplace=US", headers=storefront(client)).get_json()["version"]
    )
