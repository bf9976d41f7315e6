"""`/metrics`: Prometheus text with the storefront's outcomes, and never a shopper id."""

from __future__ import annotations

import re
from typing import Any

from tests.integration.test_experiments_api import page as page  # noqa: F401 - the fixture
from tests.integration.test_experiments_api import resolve


def sample(text: str, name: str, **labels: str) -> float:
    """One sample's value from an exposition page (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))  # written sorted by name
    pattern = rf"^{re.escape(name)}{{{re.escape(wanted)}}} (\S+)$" if labels else rf"^{re.escape(name)} (\S+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def scrape(client: Any) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.content_type.startswith("text/plain")
    return response.get_data(as_text=True)


def test_resolves_requests_and_events_are_counted_without_shopper_ids(
    app: Any, client: Any, admin_headers: dict[str, str], page: None
) -> None:
    before = scrape(client)
    for user in ("metrics-shopper-1", "metrics-shopper-2"):
        resolve(client, user)
    event = {"event_id": "m-1", "type": "page_view", "user_id": "metrics-shopper-1",
             "occurred_at": "2026-11-01T10:00:00Z", "page": "birthday"}  # fmt: skip
    client.post("/api/v1/events", json={"events": [event, {"type": "nope"}]}, headers=admin_headers)
    after = scrape(client)
    assert sample(after, "tessera_resolves_total", outcome="served") - sample(
        before, "tessera_resolves_total", outcome="served") == 2  # fmt: skip
    route = {"surface": "storefront", "route": "/api/v1/pages/<slug>/resolve", "method": "GET", "status": "2xx"}
    assert sample(after, "tessera_http_request_duration_seconds_count", **route) - sample(
        before, "tessera_http_request_duration_seconds_count", **route) == 2  # fmt: skip
    for outcome in ("accepted", "rejected"):
        assert sample(after, "tessera_events_total", outcome=outcome) - sample(
            before, "tessera_events_total", outcome=outcome) == 1  # fmt: skip
    assert sample(after, "tessera_published_state_version") == app.extensions["tessera"].published.version
    assert "metrics-shopper" not in after and "Bearer" not in after


def test_a_failing_dependency_is_counted(app: Any, client: Any) -> None:
    from core.logs import FailureLog

    before = sample(scrape(client), "tessera_dependency_errors_total", dependency="test dependency")
    FailureLog(__import__("logging").getLogger("tessera.test"), "test dependency").failed("a call", OSError("down"))
    assert sample(scrape(client), "tessera_dependency_errors_total", dependency="test dependency") == before + 1


def test_a_repeat_visit_is_answered_from_the_page_cache_until_something_changes(
    app: Any, client: Any, admin_headers: dict[str, str], page: None
) -> None:
    from tests.integration.test_published_state import publish

    before = sample(scrape(client), "tessera_resolves_total", outcome="reused")
    first = resolve(client, "metrics-repeat")
    assert resolve(client, "metrics-repeat") == first
    assert sample(scrape(client), "tessera_resolves_total", outcome="reused") == before + 1
    publish(client, admin_headers, 2)  # a new published state: every held page is old
    assert resolve(client, "metrics-repeat")["version"] == 2
    assert sample(scrape(client), "tessera_resolves_total", outcome="reused") == before + 1
