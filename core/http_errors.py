"""The one place that turns errors into JSON responses (the HTTP edge of `core.errors`).

Blueprints never build error responses by hand, so every failure a client sees
has the shape `core.errors.ApiError.to_dict()` gives, with the class's status.
"""

from __future__ import annotations

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from core.errors import ApiError, ServiceUnavailable, TooManyRequests, Unauthorized


def register_error_handlers(app: Flask, json_everywhere: bool = False) -> None:
    """JSON for API errors and for any HTTP error raised under `/api/` — or anywhere, with
    `json_everywhere`, for a process without screens (a storefront worker's `/sign-in` is a JSON 404)."""

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError):  # type: ignore[no-untyped-def]
        response = jsonify(error.to_dict())
        response.status_code = error.status
        if isinstance(error, Unauthorized):
            response.headers["WWW-Authenticate"] = 'Bearer realm="tessera"'
        if isinstance(error, ServiceUnavailable | TooManyRequests):
            response.headers["Retry-After"] = str(error.retry_after_s)
        return response

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        is_api = request.path.startswith("/api/") or request.path in ("/healthz", "/readyz")
        if not (json_everywhere or is_api):
            return error
        code = (error.name or "error").lower().replace(" ", "_")
        response = jsonify({"error": code, "message": error.description})
        response.status_code = error.code or 500
        return response
