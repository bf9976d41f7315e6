"""Small JSON calls the benchmark makes: Tessera's admin API and the fake recommender's controls."""

from __future__ import annotations

import http.client
import json
import time
from typing import Any
from urllib.parse import urlsplit

from bench.loadgen import LoadResult

SLOT_COUNT = 6


def call(
    base_url: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    """One JSON request; returns (status, response headers, decoded body or None)."""
    url = urlsplit(base_url)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port or 80, timeout=10)
    try:
        data = None if body is None else json.dumps(body).encode()
        sent = {"Content-Type": "application/json", **(headers or {})}
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        raw = response.read()
        decoded = (
            json.loads(raw) if raw and response.getheader("Content-Type", "").startswith("application/json") else None
        )
        return response.status, dict(response.getheaders()), decoded
    finally:
        connection.close()


def bench_layout(title: str) -> dict[str, Any]:
    """A layout of SLOT_COUNT personalized recommendation slots, each with a popular fallback."""
    slot = {"strategy": "personalized", "count": 8, "fallback": {"strategy": "popular"}}
    slots = [{"id": f"r{n}", "type": "recommendations", "settings": dict(slot)} for n in range(1, SLOT_COUNT + 1)]
    return {"schema_version": 1, "title": title, "slots": slots}


def publish_bench_page(base_url: str, token: str, slug: str, marketplace: str) -> int:
    """Create `slug` in `marketplace`, save the bench layout as a version and publish it; the version number."""
    auth = {"Authorization": f"Bearer {token}"}
    status, _, body = call(
        base_url, "POST", "/api/v1/pages", {"slug": slug, "marketplace": marketplace, "title": slug}, auth
    )
    _expect(status, 201, "create page", body)
    path = f"/api/v1/pages/{slug}"
    document = {"document": bench_layout(f"Benchmark page, {SLOT_COUNT} personalized slots"), "comment": "bench"}
    status, headers, body = call(base_url, "POST", f"{path}/versions?marketplace={marketplace}", document, auth)
    _expect(status, 201, "save version", body)
    version = int(body["version"])
    etag = headers.get("ETag") or headers.get("Etag") or ""
    status, _, body = call(
        base_url, "POST", f"{path}/publish?marketplace={marketplace}", {"version": version}, {**auth, "If-Match": etag}
    )
    _expect(status, 200, "publish", body)
    return version


def _expect(status: int, wanted: int, what: str, body: Any) -> None:
    if status != wanted:
        raise RuntimeError(f"{what}: HTTP {status} (wanted {wanted}): {body}")


def set_mode(fake_url: str, mode: str) -> None:
    """Switch the fake recommender to "ok", "hang" or "error"."""
    status, _, body = call(fake_url, "POST", "/_mode", {"mode": mode})
    _expect(status, 200, f"fake mode {mode}", body)


def fake_calls(fake_url: str) -> int:
    """How many recommendation calls the fake recommender has answered so far."""
    status, _, body = call(fake_url, "GET", "/")
    _expect(status, 200, "fake status", body)
    return int(body["calls"])


def direct_latency(fake_url: str, requests: int, is_page_batch: bool = False) -> LoadResult:
    """Client-side latency of the fake recommender itself, called directly and sequentially (the L baseline).
    With `is_page_batch`, one batch of the bench page's queries: what Tessera actually waits on."""
    url = urlsplit(fake_url)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port or 80, timeout=10)
    result = LoadResult(1)
    started = time.monotonic()
    try:
        for i in range(requests):
            query = {"user_id": f"shopper-{i + 1}", "count": 8, "marketplace": "US"}
            path = "/v1/recommendations/personalized"
            if is_page_batch:
                query = {"requests": [{"strategy": "personalized", **query, "count": 20}] * SLOT_COUNT}
                path = "/v1/recommendations:batch"
            body = json.dumps(query).encode()
            sent = time.perf_counter()
            connection.request("POST", path, body=body)
            response = connection.getresponse()
            response.read()
            result.latencies_ms.append((time.perf_counter() - sent) * 1000)
            result.statuses[response.status] += 1
    finally:
        connection.close()
    result.elapsed_s = time.monotonic() - started
    return result
