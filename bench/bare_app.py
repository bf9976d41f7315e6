"""The baseline for the throughput budget: a bare Flask app with one small JSON endpoint.

Served by gunicorn with exactly the settings used for Tessera, so the ratio
between the two measures what Tessera's resolve costs on top of Flask itself.
"""

from __future__ import annotations

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue


def create_app() -> Flask:
    """A Flask app answering `GET /bare` (any query string) and `GET /healthz` with a small dict."""
    app = Flask(__name__)

    @app.get("/bare")
    def bare() -> ResponseReturnValue:
        return jsonify({"status": "ok", "page": "bare", "items": [1, 2, 3]})

    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        return jsonify({"status": "ok"})

    return app
