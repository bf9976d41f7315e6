"""The one place that knows about htmx requests (STYLE.md: branch on the header, not on DOM ids)."""

from __future__ import annotations

from flask import request


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"
