"""A shopper's held page is answered before Flask (`storefront.held_pages`): the same answer, id,
access line and metrics as the route, and only while the page may be reused; everything else goes
to Flask as before."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.integration.test_campaigns_api import an_order, post_events
from tests.integration.test_experiments_api import page as page  # noqa: F401 - the fixture
from tests.integration.test_metrics import sample, scrape

URL = "/api/v1/pages/birthday/resolve"


@pytest.fixture
def flask_requests(app: Any) -> list[str]:
    """The paths Flask itself served (its before-request hooks ran for them)."""
    seen: list[str] = []
    app.before_request_funcs.setdefault(None, []).append(lambda: seen.append(_path()))
    return seen


def _path() -> str:
    from flask import request

    return request.path


def get(client: Any, user: str, **params: str) -> Any:
    return client.get(URL, query_string={"marketplace": "US", "user_id": user, **params})


def test_a_repeat_visit_is_answered_before_flask_with_the_same_page_and_headers(
    client: Any, page: None, flask_requests: list[str]
) -> None:
    first = get(client, "held-1")
    again = get(client, "held-1", marketplace="US")
    assert first.status_code == again.status_code == 200
    assert again.data == first.data
    assert {k: v for k, v in again.headers.items() if k != "X-Request-ID"} == {
        k: v for k, v in first.headers.items() if k != "X-Request-ID"
    }
    assert again.headers["X-Request-ID"] != first.headers["X-Request-ID"]
    assert flask_requests == [URL]  # the second never reached Flask


def test_the_held_answer_keeps_the_proxys_request_id_and_writes_one_access_line(
    client: Any, page: None, caplog: pytest.LogCaptureFixture
) -> None:
    get(client, "held-2")
    with caplog.at_level(logging.INFO, logger="tessera.access"):
        again = client.get(URL, query_string={"marketplace": "US", "user_id": "held-2"},
                           headers={"X-Request-ID": "edge-7.a"})  # fmt: skip
    assert again.headers["X-Request-ID"] == "edge-7.a"
    lines = [r for r in caplog.records if r.name == "tessera.access" and r.request_id == "edge-7.a"]  # type: ignore[attr-defined]
    assert [(r.request_id, r.route, r.status, r.endpoint) for r in lines] == [  # type: ignore[attr-defined]
        ("edge-7.a", "/api/v1/pages/<slug>/resolve", 200, "storefront.resolve_page")
    ]
    assert "held-2" not in lines[0].getMessage()


def test_held_answers_are_counted_as_reused_requests(client: Any, page: None) -> None:
    get(client, "held-3")
    text = scrape(client)
    reused = sample(text, "tessera_resolves_total", outcome="reused")
    timed = sample(text, "tessera_http_request_duration_seconds_count", surface="storefront",
                   route="/api/v1/pages/<slug>/resolve", method="GET", status="2xx")  # fmt: skip
    get(client, "held-3")
    text = scrape(client)
    assert sample(text, "tessera_resolves_total", outcome="reused") == reused + 1
    assert sample(text, "tessera_http_request_duration_seconds_count", surface="storefront", route="/api/v1/pages/<slug>/resolve",
                  method="GET", status="2xx") == timed + 1  # fmt: skip


def test_an_order_ends_the_held_page(
    client: Any, page: None, admin_headers: dict[str, str], catalog: list[str], flask_requests: list[str]
) -> None:
    get(client, "held-4")
    post_events(client, admin_headers, [an_order("held-4", catalog[0])])
    flask_requests.clear()
    get(client, "held-4")
    assert flask_requests == [URL]  # the stored shopper changed: resolved afresh


def test_previews_traces_and_bad_queries_go_to_flask(
    client: Any, page: None, admin_headers: dict[str, str], flask_requests: list[str]
) -> None:
    get(client, "held-5")
    flask_requests.clear()
    bearer = {"Authorization": admin_headers["Authorization"]}
    traced = client.get(URL, query_string={"marketplace": "US", "user_id": "held-5", "explain": "1"}, headers=bearer)
    assert traced.status_code == 200 and "timing_ms" in traced.get_json()
    assert get(client, "held-5", explain="1").status_code in (401, 403)  # still refused without a token
    bad = client.get(URL, query_string={"marketplace": "US", "user_id": "held-5", "device": "toaster"})
    assert bad.status_code == 400 and "device" in str(bad.get_json())
    assert client.get(URL + "?marketplace=XX&user_id=held-5").status_code == 400
    assert client.get(URL + "?marketplace=US&user_id=held-5%FF").status_code in (200, 400)
    assert len(flask_requests) == 5
