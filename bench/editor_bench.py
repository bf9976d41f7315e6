"""Editor interactions' server time on the demo data, side by side with a trivial request.

    .venv/bin/python -m bench.editor_bench        # or: make bench

Runs in-process through the WSGI app (the time a worker spends on the request,
without network or browser), for: opening the editor, applying a settings field
(the htmx partial), refreshing the live preview, and `GET /healthz` as the baseline.
Budget (DESIGN.md): editor interactions p95 < 50 ms server time.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.servers import ROOT, seed_instance

RESULTS = ROOT / "bench" / "results" / "editor.json"
ROUNDS = 300
BUDGET_P95_MS = 50.0


def timed(call: Callable[[int], Any], rounds: int = ROUNDS) -> dict[str, float]:
    samples = []
    for i in range(rounds):
        started = time.perf_counter()
        response = call(i)
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code >= 400:
            raise RuntimeError(f"request failed: {response.status_code} {response.get_data(as_text=True)[:300]}")
    samples.sort()
    return {"p50_ms": round(statistics.median(samples), 2), "p95_ms": round(samples[int(len(samples) * 0.95)], 2),
            "max_ms": round(samples[-1], 2)}  # fmt: skip


def signed_in_client(app: Any) -> tuple[Any, str]:
    import re

    from core.users import create_user

    with app.extensions["tessera"].db.session() as session:
        create_user(session, "bench@example.com", "bench password 123", "editor")
        session.commit()  # services never commit; the benchmark is this unit of work's edge
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/sign-in").get_data(as_text=True))
    client.post("/sign-in", data={"email": "bench@example.com", "password": "bench password 123",
                                  "csrf_token": token.group(1) if token else ""})  # fmt: skip
    html = client.get("/pages/US/home/edit?slot=2").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    return client, token.group(1) if token else ""


def run() -> dict[str, Any]:
    from app import create_app

    with tempfile.TemporaryDirectory(prefix="tessera-editor-bench-") as tmp:
        instance = Path(tmp) / "instance"
        seed_s, _ = seed_instance(instance, 5000)
        app = create_app({"instance_path": instance})
        client, token = signed_in_client(app)
        edit, hx = "/pages/US/home/edit", {"HX-Request": "true"}
        settings = {"csrf_token": token, "slot": "2", "s.strategy": "personalized", "s.fallback.strategy": "popular"}
        results = {
            "baseline_healthz": timed(lambda i: client.get("/healthz")),
            "open_editor": timed(lambda i: client.get(f"{edit}?slot=2")),
            "apply_field": timed(lambda i: client.post(f"{edit}/settings", headers=hx,
                                                       data={**settings, "s.count": str(1 + i % 24)})),
            "refresh_preview": timed(lambda i: client.get(f"{edit}-preview?user_id=shopper-{1 + i % 5000}",
                                                          headers=hx)),
        }  # fmt: skip
        app.extensions["tessera"].executor.shutdown()
    worst = max(v["p95_ms"] for k, v in results.items() if k != "baseline_healthz")
    return {"seed_s": round(seed_s, 1), "rounds": ROUNDS, "results": results, "budget_p95_ms": BUDGET_P95_MS,
            "worst_p95_ms": worst, "pass": worst < BUDGET_P95_MS}  # fmt: skip


def main() -> None:
    report = run()
    print(f"Editor interactions, server time in-process ({report['rounds']} rounds each, demo data, 5000 shoppers)")
    print(f"  {'interaction':<18}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for name, r in report["results"].items():
        print(f"  {name:<18}{r['p50_ms']:>9.2f}{r['p95_ms']:>9.2f}{r['max_ms']:>9.2f}")
    verdict = "PASS" if report["pass"] else "FAIL"
    print(f"  budget: p95 < {report['budget_p95_ms']:g} ms: worst p95 {report['worst_p95_ms']:.2f} ms  {verdict}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
