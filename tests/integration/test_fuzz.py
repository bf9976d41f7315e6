"""Hypothesis-driven fuzzing of the storefront and admin APIs: whatever is sent, the answer is never a
5xx, and a request that is refused (4xx) stores nothing. The strategies lean on what broke before:
NUL, lone surrogates, control characters, padding, huge and non-finite numbers, deep nesting,
ancient and far-future timestamps, and look-alike keys."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from core.audit import AuditEvent
from experiments.models import Experiment
from layout_engine.models import AudienceRow, CampaignRow, LayoutVersion, Page
from shoppers.models import EventRow, ShopperProfileRow
from tests.integration.test_resolve_api import published  # noqa: F401 - fixture
from tests.support.app_fixtures import issue_token

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TABLES = (Page, LayoutVersion, AudienceRow, CampaignRow, Experiment, EventRow, ShopperProfileRow, AuditEvent)

HOSTILE_TEXT = ["", " ", "\x00", "a\x00b", "\ud800", "x\n", " x", "x ", "\u202e", "home\n", "9" * 400, "x" * 5000,
                "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59Z", "1e400", "NaN", "-1", "²", "../etc"]  # fmt: skip
# Any code point, surrogates included (hypothesis leaves them out unless asked).
ANY_CHARACTER = st.characters(codec=None, exclude_categories=())
texts = st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(ANY_CHARACTER, max_size=30))
url_texts = texts.filter(lambda t: not any("\ud800" <= c <= "\udfff" for c in t))  # a URL is UTF-8
numbers = st.one_of(st.integers(), st.sampled_from([10**30, -(2**63), 2**53 + 1]), st.floats(allow_nan=False,
                    allow_infinity=False), st.sampled_from([1e200, 1e-300, -0.0, 19.99999]))  # fmt: skip
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
                           max_leaves=12)  # fmt: skip


def _field(names: list[str]) -> Any:
    """Objects with the endpoint's own field names (so the fuzz gets past "unknown field") and anything as values."""
    return st.dictionaries(st.sampled_from(names) | texts, json_values | scalars, max_size=len(names) + 1)


def _counts(db_session: Any) -> tuple[int, ...]:
    db_session.expire_all()
    return tuple(db_session.scalar(select(func.count()).select_from(t)) or 0 for t in TABLES)


@pytest.fixture
def shop(client: Any, db_session: Any, admin_headers: dict[str, str], published: Any) -> Iterator[dict[str, Any]]:  # noqa: F811
    events = {"Authorization": f"Bearer {issue_token(db_session, 'fuzz-shop', frozenset({'events', 'storefront'}))}"}
    yield {"client": client, "admin": admin_headers, "events": events}


def _check(response: Any, before: tuple[int, ...], db_session: Any) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if 400 <= response.status_code < 500:
        assert _counts(db_session) == before, f"a refused request ({response.status_code}) stored something"


@FUZZ
@given(slug=url_texts, params=st.dictionaries(st.sampled_from(["user_id", "marketplace", "locale", "device", "at",
                                                                 "attr.plan", "explain", "preview_variant"]) | url_texts,
                                              url_texts, max_size=4),
       token=st.sampled_from(["events", "admin"]))  # fmt: skip
def test_resolve_never_fails(
    shop: dict[str, Any], db_session: Any, slug: str, params: dict[str, str], token: str
) -> None:
    """As the storefront (its token: a plain visit; traces and time travel refused) and as an admin
    (every parameter read: previews, traces, `at`)."""
    before = _counts(db_session)
    response = shop["client"].get(f"/api/v1/pages/{quote(slug, safe='') or 'home'}/resolve",
                                  query_string={"marketplace": "US", **params}, headers=shop[token])  # fmt: skip
    _check(response, before, db_session)


EVENT_FIELDS = ["event_id", "type", "user_id", "occurred_at", "page", "slot_id", "item_id", "order_id", "revenue",
                "currency"]  # fmt: skip
events = st.fixed_dictionaries(
    {
        "event_id": texts,
        "type": st.sampled_from(["page_view", "click", "order", "teleport"]),
        "user_id": texts,
        "occurred_at": st.sampled_from(["2026-11-01T10:00:00Z", *HOSTILE_TEXT]),
        "revenue": scalars,
        "order_id": texts,
        "currency": st.sampled_from(["USD", "usd", "€€€", "\x00AB", "ZZZ"]),
    }  # fmt: skip
) | _field(EVENT_FIELDS)


@FUZZ
@given(batch=st.lists(events, max_size=5))
def test_events_never_fail_and_a_refused_batch_stores_nothing(
    shop: dict[str, Any], db_session: Any, batch: list[Any]
) -> None:
    before = _counts(db_session)
    response = shop["client"].post("/api/v1/events", json={"events": batch}, headers=shop["events"])
    _check(response, before, db_session)
    if response.status_code == 200:
        body = response.get_json()
        assert body["accepted"] + body["duplicates"] + len(body["rejected"]) == len(batch)


ADMIN_CALLS = [
    ("post", "/api/v1/pages", ["slug", "marketplace", "title", "copy_from"]),
    ("post", "/api/v1/pages/home/versions?marketplace=US", ["document", "comment", "parent"]),
    ("post", "/api/v1/pages/home/publish?marketplace=US", ["version"]),
    ("post", "/api/v1/audiences", ["key", "name", "description", "rule"]),
    ("post", "/api/v1/audiences/estimate", ["rule"]),
    ("patch", "/api/v1/campaigns/none", ["name", "effects", "paused"]),
    ("post", "/api/v1/campaigns", ["key", "name", "occasion", "marketplaces", "audience", "time_zone", "starts_at",
                                   "ends_at", "priority", "paused", "effects"]),
    ("post", "/api/v1/experiments", ["key", "page", "marketplace", "variants", "metrics", "coverage", "audience",
                                     "namespace", "ends_at", "hypothesis", "seed"]),
]  # fmt: skip


@FUZZ
@given(call=st.sampled_from(ADMIN_CALLS), data=st.data())
def test_admin_writes_never_fail_and_a_refused_one_stores_nothing(
    shop: dict[str, Any], db_session: Any, call: tuple[str, str, list[str]], data: Any
) -> None:
    method, path, names = call
    body = data.draw(_field(names) | json_values, label="body")
    before = _counts(db_session)
    headers = {**shop["admin"], "If-Match": '"*"'}
    response = getattr(shop["client"], method)(path, json=body, headers=headers)
    _check(response, before, db_session)


@FUZZ
@given(path=st.sampled_from(["/api/v1/pages/{}?marketplace=US", "/api/v1/pages/home/versions/{}?marketplace=US",
                             "/api/v1/audiences/{}", "/api/v1/campaigns/{}", "/api/v1/experiments/{}",
                             "/api/v1/experiments/{}/results", "/api/v1/experiments/plan?baseline={}&mde={}",
                             "/api/v1/pages/home/diff?marketplace=US&from={}&to={}"]),
       values=st.lists(url_texts, min_size=2, max_size=2))  # fmt: skip
def test_admin_reads_never_fail(shop: dict[str, Any], db_session: Any, path: str, values: list[str]) -> None:
    before = _counts(db_session)
    url = path.format(*(quote(v, safe="") or "x" for v in values))
    response = shop["client"].get(url, headers=shop["admin"])
    _check(response, before, db_session)
