"""Checking real responses against the published OpenAPI document (`/api/openapi.json`).

Imports no SQLAlchemy, so unit tests may use it. `Contract.check` finds the operation a request
went to, and refuses a status the document does not list for it, a JSON body that its schema
refuses, or a missing required header; it remembers which operations answered with success.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator


class Contract:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        templates = sorted(document["paths"], key=lambda t: (t.count("{"), t))  # static paths first, as Flask
        self._paths = [(t, re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(t)) + "$")) for t in templates]
        self.succeeded: set[str] = set()

    def operations(self) -> set[str]:
        """Every operation id in the document."""
        return {op["operationId"] for item in self.document["paths"].values() for op in item.values()}

    def operation(self, method: str, url: str) -> tuple[str, dict[str, Any]]:
        path = urlsplit(url).path
        for template, pattern in self._paths:
            if pattern.match(path) and method.lower() in self.document["paths"][template]:
                return template, self.document["paths"][template][method.lower()]
        raise AssertionError(f"{method} {path} is in no path of the contract")

    def check(self, method: str, url: str, status: int, headers: Any, body: Any) -> None:
        """Assert the response is one the contract promises for this request."""
        template, operation = self.operation(method, url)
        where = f"{method} {url} -> {status} ({operation['operationId']})"
        answer = operation["responses"].get(str(status))
        assert answer is not None, f"{where}: status not in the contract ({sorted(operation['responses'])}): {body}"
        for name, header in answer.get("headers", {}).items():
            assert not header.get("required") or name in headers, f"{where}: no {name} header"
        schema = answer.get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            assert body in (None, b"", ""), f"{where}: a body where the contract has none"
        else:
            pointer = "/".join(_escape(p) for p in ("paths", template, method.lower(), "responses", str(status),
                                                     "content", "application/json", "schema"))  # fmt: skip
            validator = Draft202012Validator({**self.document, "$ref": "#/" + pointer})
            problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]
            assert not problems, f"{where}: the body breaks the contract: {problems[:5]}"
        if 200 <= status < 300:
            self.succeeded.add(operation["operationId"])


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")
