"""The audit log records saves, publishes, rollbacks and sign-ins, and filters them."""

from __future__ import annotations

import re
from typing import Any

import pytest

from core import audit
from core.audit import AuditAction
from tests.integration.test_experiments_api import create as create_experiment
from tests.integration.test_experiments_api import page  # noqa: F401  (a fixture)
from tests.integration.test_pages_api import create_page, save


def publish(client: Any, headers: dict[str, str], number: int) -> Any:
    etag = client.get("/api/v1/pages/birthday/versions?marketplace=US", headers=headers).headers["ETag"]
    return client.post(
        "/api/v1/pages/birthday/publish?marketplace=US", json={"version": number}, headers={**headers, "If-Match": etag}
    )


def test_saves_publishes_and_rollbacks_are_logged_with_who_and_what(
    client: Any, admin_headers: dict[str, str], make_layout: Any, catalog: list[str]
) -> None:
    create_page(client, admin_headers)
    save(client, admin_headers, make_layout())
    save(client, admin_headers, make_layout(title="Two"))
    publish(client, admin_headers, 2)
    publish(client, admin_headers, 1)
    events = client.get("/api/v1/audit?target=US/birthday", headers=admin_headers).get_json()["events"]
    assert [(e["action"], e["details"]["version"]) for e in events] == [
        ("rollback", 1), ("publish", 2), ("save", 2), ("save", 1)]  # fmt: skip
    assert {e["actor"] for e in events} == {events[0]["actor"]} and events[0]["actor"].startswith("admin-")


def test_invalid_saves_and_refused_publishes_leave_no_trace(
    client: Any, admin_headers: dict[str, str], make_layout: Any
) -> None:
    create_page(client, admin_headers)
    assert save(client, admin_headers, {"schema_version": 9}).status_code == 422
    assert client.get("/api/v1/audit?target=US/birthday", headers=admin_headers).get_json()["events"] == []


def test_sign_ins_are_logged_and_shown_to_admins_only(client: Any, sign_in: Any) -> None:
    client.post("/sign-in", data={"email": "nobody@example.com", "password": "x"})  # refused: no CSRF token
    token = sign_in("viewer")
    viewer_page = client.get("/audit").get_data(as_text=True)
    assert "sign in" not in viewer_page
    client.post("/sign-out", data={"csrf_token": token})
    sign_in("admin")
    admin_page = client.get("/audit?action=sign_in").get_data(as_text=True)
    assert admin_page.count("<td>sign in</td>") == 2


@pytest.mark.usefixtures("page")
def test_the_filter_offers_every_action_and_finds_experiment_starts(
    client: Any, admin_headers: dict[str, str], sign_in: Any
) -> None:
    assert create_experiment(client, admin_headers).status_code == 201
    assert client.post("/api/v1/experiments/bday-trending/start", headers=admin_headers).status_code == 200
    sign_in("admin")
    screen = client.get("/audit").get_data(as_text=True)
    offered = re.findall(r'<option value="([a-z_]+)"', screen)
    assert offered == [a.value for a in AuditAction]
    started = client.get("/audit?action=experiment_started").get_data(as_text=True)
    assert started.count("<td>experiment started</td>") == 1 and "<td>experiment created</td>" not in started


def test_an_action_the_log_does_not_know_is_refused(db_session: Any) -> None:
    with pytest.raises(ValueError):
        audit.record(db_session, "someone", "page_renamed", "US/home")
    assert AuditAction("campaign_paused") is AuditAction.CAMPAIGN_PAUSED
