"""The domain error tree: what went wrong, in plain data, with no web framework.

Services (and pure cores such as the experiment planner) raise these; each class
carries its HTTP `status` and machine `code` as plain class attributes, and
`to_dict()` gives the body every client sees: `{"error": code, "message": ...}`
plus `errors` (a list naming JSON paths or fields) where there are several.
Turning them into responses is the edge's job: `core/http_errors.py`.
"""

from __future__ import annotations

from typing import Any

MAX_LISTED = 50


class ApiError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors

    def to_dict(self) -> dict[str, Any]:
        """The body a client sees; at most MAX_LISTED problems (a 10,000-slot layout has no use for
        10,000 of them), and `errors_omitted` says how many more there were."""
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors[:MAX_LISTED]
            if len(self.errors) > MAX_LISTED:
                body["errors_omitted"] = len(self.errors) - MAX_LISTED
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


class TooManyRequests(ApiError):
    """The caller went past its rate; `retry_after_s` says when it may try again."""

    status, code = 429, "too_many_requests"

    def __init__(self, message: str, retry_after_s: int = 60) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ServiceUnavailable(ApiError):
    """A dependency is down and nothing safe can be served instead; the client should retry."""

    status, code = 503, "unavailable"

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None, retry_after_s: int = 5) -> None:
        super().__init__(message, errors)
        self.retry_after_s = retry_after_s
