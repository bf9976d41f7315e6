"""The personalization client: timeouts, the one retry, breaker, cache, over fake transports."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from core.cache import MemoryCache
from personalization_client.breaker import BreakerPolicy
from personalization_client.client import ClientPolicy, PersonalizationClient
from personalization_client.errors import (
    BatchUnsupported,
    RecommenderError,
    RecommenderTimeout,
    RecommenderUnavailable,
)
from personalization_client.transports import HttpTransport
from personalization_client.values import Recommendation, RecRequest


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class ScriptedTransport:
    """Answers (or fails) from a script and advances the fake clock by each call's cost."""

    name = "scripted"
    is_remote = True
    supports_batch = False
    model_version = ""

    def __init__(self, clock: Clock, script: list[tuple[float, object]]) -> None:
        self.clock, self.script, self.timeouts = clock, list(script), []

    def recommend(self, request: RecRequest, timeout: float) -> list[Recommendation]:
        self.timeouts.append(timeout)
        cost, outcome = self.script.pop(0)
        self.clock.now += cost
        if isinstance(outcome, Exception):
            raise outcome
        return [Recommendation(i, 1.0, "r") for i in outcome]  # type: ignore[attr-defined]

    def recommend_batch(self, requests: list[RecRequest], timeout: float) -> list[Any]:
        raise BatchUnsupported("scripted per query")

    def close(self) -> None:
        return None


PERSONAL = RecRequest("personalized", "shopper-1", 4, "US")
POPULAR = RecRequest("popular", None, 48, "US")


def make(
    clock: Clock, script: list[tuple[float, object]], **breaker: float
) -> tuple[PersonalizationClient, ScriptedTransport]:
    transport = ScriptedTransport(clock, script)
    policy = BreakerPolicy(**{"min_calls": 100, **breaker})  # type: ignore[arg-type]
    client = PersonalizationClient(
        transport, MemoryCache(clock=clock), ClientPolicy(call_timeout_s=0.1), policy, clock=clock
    )
    return client, transport


def test_fast_failure_is_retried_once_when_the_deadline_allows() -> None:
    clock = Clock()
    client, transport = make(clock, [(0.002, RecommenderError("HTTP 500")), (0.01, ["a", "b"])])
    result = client.fetch(PERSONAL, deadline=clock.now + 0.150)
    assert [c.item_id for c in result.candidates or ()] == ["a", "b"]
    assert len(transport.timeouts) == 2


def test_timeout_is_not_retried_and_call_timeout_is_capped_by_the_deadline() -> None:
    clock = Clock()
    client, transport = make(clock, [(0.05, RecommenderTimeout("slow"))])
    result = client.fetch(PERSONAL, deadline=clock.now + 0.05)
    assert result.candidates is None and result.error is not None and result.error.startswith("timeout")
    assert transport.timeouts == [pytest.approx(0.05)]


def test_no_retry_when_a_second_attempt_would_not_fit() -> None:
    clock = Clock()
    client, transport = make(clock, [(0.08, RecommenderUnavailable("refused"))])
    assert client.fetch(PERSONAL, deadline=clock.now + 0.150).error == "unavailable: refused"
    assert len(transport.timeouts) == 1


def test_open_breaker_fails_fast_without_calling() -> None:
    clock = Clock()
    client, transport = make(clock, [(0.001, RecommenderError("x"))] * 2, min_calls=2, failure_ratio=0.5)
    client.fetch(PERSONAL, deadline=clock.now + 0.150)
    result = client.fetch(PERSONAL, deadline=clock.now + 0.150)
    assert result.error is not None and result.error.startswith("circuit open")
    assert len(transport.timeouts) == 2


def test_non_personal_answers_are_cached_and_served_stale_while_failing() -> None:
    clock = Clock()
    client, transport = make(clock, [(0.01, ["p1", "p2"]), (0.001, RecommenderTimeout("slow"))])
    first = client.fetch(POPULAR, deadline=clock.now + 0.15)
    again = client.fetch(POPULAR, deadline=clock.now + 0.15)
    assert again.cached and again.candidates == first.candidates
    clock.now += 120  # past freshness: asks again, fails, serves the stale copy
    stale = client.fetch(POPULAR, deadline=clock.now + 0.15)
    assert stale.candidates == first.candidates and stale.error is not None
    assert len(transport.timeouts) == 2


def test_personal_answers_are_not_reused_unless_the_policy_says_so() -> None:
    clock = Clock()
    client, transport = make(clock, [(0.01, ["a"]), (0.01, ["b"])])
    client.fetch(PERSONAL, deadline=clock.now + 0.15)
    assert [c.item_id for c in client.fetch(PERSONAL, deadline=clock.now + 0.15).candidates or ()] == ["b"]


def test_a_reused_personal_answer_is_keyed_by_purchases_model_and_time_and_forgotten_with_the_shopper() -> None:
    clock = Clock()
    transport = ScriptedTransport(clock, [(0.01, [str(n)]) for n in range(6)])
    client = PersonalizationClient(transport, MemoryCache(clock=clock), ClientPolicy(personal_fresh_s=30.0),
                                   clock=clock)  # fmt: skip

    def first_item(request: RecRequest) -> str:
        found = client.fetch_fresh_cached(request) or client.fetch(request, deadline=clock.now + 0.15)
        return (found.candidates or ())[0].item_id

    assert first_item(PERSONAL) == "0" and first_item(PERSONAL) == "0"  # reused: one call
    bought = RecRequest("personalized", "shopper-1", 4, "US", exclude=("gc-1",))
    assert first_item(bought) == "1"  # a new purchase is a new question
    transport.model_version = "retrained"
    assert first_item(PERSONAL) == "2"  # a new model answers afresh
    client.forget_shopper("shopper-1")
    assert first_item(PERSONAL) == "3"  # an opt-out or erasure drops what was kept
    clock.now += 31
    assert first_item(PERSONAL) == "4"  # and answers age out
    assert len(transport.timeouts) == 5


def http_transport(handler) -> HttpTransport:  # type: ignore[no-untyped-def]
    return HttpTransport("http://recommender.test", httpx.MockTransport(handler))


def test_http_transport_speaks_the_contract() -> None:
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["path"], seen["body"] = request.url.path, request.read()
        return httpx.Response(200, json={"items": [{"item_id": "gc-1", "score": 0.5, "reason": "Because"}]})

    found = http_transport(handler).recommend(PERSONAL, 0.1)
    assert found == [Recommendation("gc-1", 0.5, "Because")]
    assert seen["path"] == "/v1/recommendations/personalized"


@pytest.mark.parametrize(
    ("response", "error"),
    [(httpx.Response(503), "RecommenderError"), (httpx.Response(400, text="bad"), "RecommenderRejected"),
     (httpx.Response(200, text="not json"), "RecommenderError"),
     (httpx.Response(200, text='{"items": [{"item_id": "gc-1", "score": NaN}]}'), "RecommenderError")],
)  # fmt: skip
def test_http_transport_maps_failures_to_the_exception_tree(response: httpx.Response, error: str) -> None:
    with pytest.raises(RecommenderError) as raised:
        http_transport(lambda _request: response).recommend(PERSONAL, 0.1)
    assert type(raised.value).__name__ == error


def test_http_transport_maps_timeouts() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(RecommenderTimeout):
        http_transport(handler).recommend(PERSONAL, 0.1)


def batch_client(handler) -> PersonalizationClient:  # type: ignore[no-untyped-def]
    return PersonalizationClient(http_transport(handler), policy=ClientPolicy(call_timeout_s=0.1))


def test_batch_answers_every_query_in_one_round_trip_each_on_its_own() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(200, json={"results": [
            {"status": 200, "items": [{"item_id": "gc-1", "score": 1, "reason": "r"}]},
            {"status": 400, "error": "bad_request", "message": "anchor_item_id: unknown item"},
        ]})  # fmt: skip

    client = batch_client(handler)
    first, second = client.fetch_batch([PERSONAL, POPULAR], deadline=__import__("time").monotonic() + 1) or []
    assert calls == ["/v1/recommendations:batch"]
    assert [c.item_id for c in first.candidates or ()] == ["gc-1"]
    assert second.candidates is None and second.error is not None and second.error.startswith("rejected")


def test_recommender_without_batch_endpoint_is_asked_per_query_from_then_on() -> None:
    client = batch_client(lambda _request: httpx.Response(404, json={"error": "not_found"}))
    assert client.can_batch
    assert client.fetch_batch([PERSONAL], deadline=__import__("time").monotonic() + 1) is None
    assert not client.can_batch


def test_failed_batch_fails_each_query_and_serves_stale_non_personal_answers() -> None:
    clock = Clock()
    client, _ = make(clock, [(0.01, ["p1"])])
    client.fetch(POPULAR, deadline=clock.now + 0.15)
    clock.now += 120

    class Failing:
        name, is_remote, supports_batch = "failing", True, True

        def recommend_batch(self, requests: list[RecRequest], timeout: float) -> list[object]:
            raise RecommenderTimeout("slow")

    client.transport = Failing()  # type: ignore[assignment]
    personal, popular = client.fetch_batch([PERSONAL, POPULAR], deadline=clock.now + 0.15) or []
    assert personal.candidates is None and popular.candidates is not None and popular.error is not None


def test_unexpected_error_in_a_half_open_probe_is_recorded_so_the_breaker_recovers() -> None:
    clock = Clock()
    script: list[tuple[float, object]] = [(0.001, RecommenderError("500")), (0.001, KeyError("bug")), (0.001, ["a"])]
    client, _ = make(clock, script, min_calls=1, open_s=5)
    client.fetch(PERSONAL, deadline=clock.now + 0.15)  # opens
    clock.now += 5
    probe = client.fetch(PERSONAL, deadline=clock.now + 0.15)
    assert probe.error is not None and "unexpected KeyError" in probe.error
    clock.now += 5
    assert [c.item_id for c in client.fetch(PERSONAL, deadline=clock.now + 0.15).candidates or ()] == ["a"]


def test_rejected_queries_do_not_open_the_breaker_for_everyone() -> None:
    from personalization_client.errors import RecommenderRejected

    clock = Clock()
    client, _ = make(clock, [(0.001, RecommenderRejected("400"))] * 5 + [(0.001, ["ok"])], min_calls=2)
    for _ in range(5):
        client.fetch(PERSONAL, deadline=clock.now + 0.15)
    assert client.breaker("personalized").state == "closed"
    assert client.fetch(PERSONAL, deadline=clock.now + 0.15).candidates is not None
