"""A shopper's own visit is answered before Flask (`storefront.resolve_edge`): the same answer, id,
access line and metrics as the route; previews, traces, bad queries and failures go to Flask as before."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from werkzeug.test import Client

from tests.integration.test_campaigns_api import an_order, post_events
from tests.integration.test_experiments_api import page as page  # noqa: F401 - the fixture
from tests.integration.test_metrics import sample, scrape
from tests.support.builders import storefront

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
    return client.get(URL, query_string={"marketplace": "US", "user_id": user, **params}, headers=storefront(client))


def test_a_visit_is_answered_before_flask_with_the_page_and_headers_flask_gives(
    app: Any, client: Any, page: None, flask_requests: list[str]
) -> None:
    flask_only = Client(app.wsgi_app.app)  # the same app without the edge in front
    fresh = get(client, "edge-1")
    held = get(client, "edge-1", marketplace="US")
    by_flask = flask_only.get(URL, query_string={"marketplace": "US", "user_id": "edge-1"}, headers=storefront(client))
    assert fresh.status_code == held.status_code == by_flask.status_code == 200
    assert fresh.data == held.data == by_flask.data
    assert without_id(fresh.headers) == without_id(held.headers) == without_id(by_flask.headers)
    assert len({fresh.headers["X-Request-ID"], held.headers["X-Request-ID"], by_flask.headers["X-Request-ID"]}) == 3
    assert flask_requests == [URL]  # only the request sent past the edge reached Flask


def without_id(headers: Any) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k != "X-Request-ID"}


def test_the_held_answer_keeps_the_proxys_request_id_and_writes_one_access_line(
    client: Any, page: None, caplog: pytest.LogCaptureFixture
) -> None:
    get(client, "edge-2")
    with caplog.at_level(logging.INFO, logger="tessera.access"):
        again = client.get(URL, query_string={"marketplace": "US", "user_id": "edge-2"},
                           headers={"X-Request-ID": "edge-7.a", **storefront(client)})  # fmt: skip
    assert again.headers["X-Request-ID"] == "edge-7.a"
    lines = [r for r in caplog.records if r.name == "tessera.access" and r.request_id == "edge-7.a"]  # type: ignore[attr-defined]
    assert [(r.request_id, r.route, r.status, r.endpoint) for r in lines] == [  # type: ignore[attr-defined]
        ("edge-7.a", "/api/v1/pages/<slug>/resolve", 200, "storefront.resolve_page")
    ]
    assert "edge-2" not in lines[0].getMessage()


def test_held_answers_are_counted_as_reused_requests(client: Any, page: None) -> None:
    get(client, "edge-3")
    text = scrape(client)
    reused = sample(text, "tessera_resolves_total", outcome="reused")
    timed = sample(text, "tessera_http_request_duration_seconds_count", surface="storefront",
                   route="/api/v1/pages/<slug>/resolve", method="GET", status="2xx")  # fmt: skip
    get(client, "edge-3")
    text = scrape(client)
    assert sample(text, "tessera_resolves_total", outcome="reused") == reused + 1
    assert sample(text, "tessera_http_request_duration_seconds_count", surface="storefront", route="/api/v1/pages/<slug>/resolve",
                  method="GET", status="2xx") == timed + 1  # fmt: skip


def test_an_order_ends_the_held_page(
    client: Any, page: None, admin_headers: dict[str, str], catalog: list[str]
) -> None:
    get(client, "edge-4")
    post_events(client, admin_headers, [an_order("edge-4", catalog[0])])
    reused = sample(scrape(client), "tessera_resolves_total", outcome="reused")
    get(client, "edge-4")
    assert sample(scrape(client), "tessera_resolves_total", outcome="reused") == reused  # resolved afresh


def test_a_visit_whose_resolve_fails_is_answered_by_flask_as_before(
    app: Any, client: Any, page: None, flask_requests: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from layout_engine.service import PageResolver

    def broken(*_args: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(PageResolver, "resolve", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # as in production: Flask answers the 500
    answer = get(client, "edge-6")
    assert answer.status_code == 500 and answer.is_json
    assert flask_requests == [URL]


def test_previews_traces_and_bad_queries_go_to_flask(
    client: Any, page: None, admin_headers: dict[str, str], flask_requests: list[str]
) -> None:
    get(client, "edge-5")
    flask_requests.clear()
    bearer = {"Authorization": admin_headers["Authorization"]}
    traced = client.get(URL, query_string={"marketplace": "US", "user_id": "edge-5", "explain": "1"}, headers=bearer)
    assert traced.status_code == 200 and "timing_ms" in traced.get_json()
    assert get(client, "edge-5", explain="1").status_code == 403  # a storefront token may not trace
    bad = client.get(URL, query_string={"marketplace": "US", "user_id": "edge-5", "device": "toaster"},
                     headers=storefront(client))  # fmt: skip
    assert bad.status_code == 400 and "device" in str(bad.get_json())
    assert client.get(URL + "?marketplace=XX&user_id=held-5", headers=storefront(client)).status_code == 400
    stranger = client.get(URL, query_string={"marketplace": "US", "user_id": "edge-5"})
    assert stranger.status_code == 401 and stranger.headers["WWW-Authenticate"]  # no token: Flask's 401
    revoked = client.get(URL, query_string={"marketplace": "US", "user_id": "edge-5"},
                         headers={"Authorization": "Bearer tsr_not-a-token"})  # fmt: skip
    assert revoked.status_code == 401
    assert len(flask_requests) == 6


def test_a_revoked_token_stops_resolving_at_once(client: Any, db_session: Any, page: None) -> None:
    """The edge remembers a token it allowed only until the published state changes, which revoking does."""
    from core.auth import ApiToken, create_token, revoke_token

    token = create_token(db_session, "shop-to-revoke", frozenset({"storefront"}))
    db_session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(2):  # the second is answered from what the edge remembers
        assert (
            client.get(URL, query_string={"marketplace": "US", "user_id": "edge-9"}, headers=headers).status_code == 200
        )
    token_id = db_session.query(ApiToken.id).filter(ApiToken.name == "shop-to-revoke").scalar()
    revoke_token(db_session, token_id, "admin@example.com")
    db_session.commit()
    assert client.get(URL, query_string={"marketplace": "US", "user_id": "edge-9"}, headers=headers).status_code == 401
