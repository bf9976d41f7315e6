"""A recommender stand-in for end-to-end tests and benchmarks, run as its own process.

It speaks the same HTTP contract as the built-in recommender (per strategy and
batched: a batch takes one delay, like a real service answering it at once), answers with
items from a catalog file after a configurable delay, and can be switched at
run time (`POST /_mode {"mode": "ok"|"hang"|"error", "delay_ms": 20}`) to hang
or to answer 500, so tests can watch Tessera degrade without restarting it.

    python -m tests.support.fake_recommender --port 9100 --catalog catalog.jsonl --delay-ms 20
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class State:
    def __init__(self, item_ids: list[str], mode: str, delay_ms: float) -> None:
        self.item_ids = item_ids
        self.mode = mode
        self.delay_ms = delay_ms
        self.calls = 0
        self.lock = threading.Lock()


def make_handler(state: State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go as two writes; Nagle would add ~40 ms

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            return None

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - stdlib naming
            self._send(200, {"status": "ok", "mode": state.mode, "calls": state.calls})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.path == "/_mode":
                state.mode = body.get("mode", state.mode)
                state.delay_ms = float(body.get("delay_ms", state.delay_ms))
                self._send(200, {"mode": state.mode, "delay_ms": state.delay_ms})
                return
            with state.lock:
                state.calls += 1
            if state.mode == "hang":
                time.sleep(30)
                return
            time.sleep(state.delay_ms / 1000)
            if state.mode == "error":
                self._send(500, {"error": "injected failure"})
            elif self.path.endswith(":batch"):
                self._send(200, {"results": [{"status": 200, **_answer(query)} for query in body["requests"]]})
            else:
                self._send(200, _answer(body))

    def _answer(body: dict[str, Any]) -> dict[str, Any]:
        count = int(body.get("count", 10))
        excluded = set(body.get("exclude", []))
        user = str(body.get("user_id") or "")
        offset = sum(map(ord, user)) % max(1, len(state.item_ids))
        ring = state.item_ids[offset:] + state.item_ids[:offset]
        items = [i for i in ring if i not in excluded][:count]
        return {"items": [{"item_id": i, "score": 1.0, "reason": "Fake pick"} for i in items]}

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--catalog", type=Path, required=True)
    parser.add_argument("--mode", default="ok", choices=["ok", "hang", "error"])
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    lines = args.catalog.read_text(encoding="utf-8").splitlines()
    item_ids = [json.loads(line)["item_id"] for line in lines if line.strip()]
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(State(item_ids, args.mode, args.delay_ms)))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
