"""A small tree of API errors, and the one place that turns them into JSON.

Services raise these; blueprints never build error responses by hand, so every
failure a client sees has the same shape: `{"error": code, "message": ...}`
plus `errors` (a list naming JSON paths or fields) where there are several.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException


class ApiError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


class BadRequest(ApiError):
    status, code = 400, "bad_request"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class PreconditionFailed(ApiError):
    status, code = 412, "precondition_failed"


class PreconditionRequired(ApiError):
    status, code = 428, "precondition_required"


class ValidationFailed(ApiError):
    status, code = 422, "validation_failed"


def register_error_handlers(app: Flask) -> None:
    """JSON for API errors and for any HTTP error raised under `/api/`."""

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError):  # type: ignore[no-untyped-def]
        response = jsonify(error.to_dict())
        response.status_code = error.status
        if isinstance(error, Unauthorized):
            response.headers["WWW-Authenticate"] = 'Bearer realm="tessera"'
        return response

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        from flask import request

        if not request.path.startswith("/api/") and request.path not in ("/healthz", "/readyz"):
            return error
        code = (error.name or "error").lower().replace(" ", "_")
        response = jsonify({"error": code, "message": error.description})
        response.status_code = error.code or 500
        return response
