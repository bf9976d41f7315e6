"""The published API contract (pure): operations described by endpoint name, and the OpenAPI 3.1
document built from the app's own routes and those descriptions.

Contract: the document is made from two sources and nothing else. The routes (rule, methods,
endpoint, the scope the view requires) come from the running app's URL map, so a route cannot be
missing or carry a method the code does not serve; each route's schemas come from the owning
package's `describe(...)` calls (its `contract` module), which reuse the package's own JSON Schemas
(`component(...)`: the layout and audience-rule files, the slot settings) instead of restating them.
A route under /api/ with no description is an error here, not a silent gap (`UndescribedRoute`).

Responses every operation can give are added in one place (`_common_responses`): 400 for input
the edge refuses before any view runs (control characters in the URL, unreadable JSON), 401/403
where a scope is required, 404 where the path names something, 413 for a body past the app's limit,
414 for a URL past the HTTP server's (gunicorn answers it, with no JSON body), 503 while a dependency
is down. Error bodies have the one shape `core.errors.ApiError.to_dict()` gives (`ERROR_SCHEMA`).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from core.errors import MAX_LISTED
from core.input_rules import MAX_INTEGER
from core.vocabulary import MARKETPLACES

Schema = Mapping[str, Any]
OPENAPI_VERSION = "3.1.0"
SECURITY_SCHEME = "bearer"
IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})

ERROR_SCHEMA: Schema = {
    "type": "object",
    "description": "Every refusal and failure: a machine code, a sentence, and where several things are wrong, "
    "each named by its JSON path (or field) in `errors`.",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "machine code, e.g. bad_request, not_found, validation_failed"},
        "message": {"type": "string"},
        "errors": {
            "type": "array",
            "maxItems": MAX_LISTED,
            "items": {
                "type": "object",
                "required": ["message"],
                "properties": {"path": {"type": "string"}, "message": {"type": "string"}},
            },
        },
        "errors_omitted": {"type": "integer", "minimum": 1, "description": "problems past the listed ones"},
    },
}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}  # as `ERROR`, for use above its definition
_REASONS = {
    200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "The request cannot be read",
    401: "No valid bearer token", 403: "The token lacks the scope", 404: "Not found", 409: "Conflict",
    413: "The body is too large", 414: "The URL is too long",
    412: "The If-Match ETag is stale", 422: "Not valid", 428: "If-Match is required", 503: "A dependency is down",
}  # fmt: skip


class UndescribedRoute(LookupError):
    """A route under /api/ that no package described: the contract would drift, so it is refused."""


@dataclass(frozen=True)
class Parameter:
    """A query or header parameter; path parameters come from the route itself."""

    name: str
    schema: Schema
    where: str = "query"
    required: bool = False
    description: str = ""


@dataclass(frozen=True)
class Operation:
    """What one endpoint takes and answers. `responses` maps each status the view itself gives to
    the JSON Schema of its body (None: no body); `scopes` is for views that check a choice of scopes
    inside (the others' scope is read from `require_scope`); `etag` says success carries an ETag."""

    summary: str
    responses: Mapping[int, Schema | None]
    body: Schema | None = None
    parameters: tuple[Parameter, ...] = ()
    scopes: frozenset[str] | None = None
    etag: bool = False
    description: str = ""


@dataclass(frozen=True)
class Route:
    """One URL rule of the app, as the URL map has it (`<int:number>` and all)."""

    rule: str
    methods: frozenset[str]
    endpoint: str
    scopes: frozenset[str] | None = None


_OPERATIONS: dict[str, Operation] = {}
_COMPONENTS: dict[str, Schema] = {"Error": ERROR_SCHEMA}


def describe(endpoint: str, operation: Operation) -> None:
    """Describe the view `endpoint` (`area.verb_noun`); describing it again replaces the description,
    so importing a contract module twice (an app built twice) is harmless."""
    _OPERATIONS[endpoint] = operation


def component(name: str, schema: Schema) -> dict[str, str]:
    """Publish a package's own JSON Schema file as `#/components/schemas/<name>` and return a `$ref`
    to it. Its `$defs` become components `<name>.<def>` (tools resolve those reliably; a nested
    `$id` they often do not), and its `$id` and `$schema` are dropped (OpenAPI 3.1's dialect is
    Draft 2020-12, which every schema here is written in)."""
    body = copy.deepcopy(dict(schema))
    for key in ("$id", "$schema"):
        body.pop(key, None)
    defs = body.pop("$defs", {})
    prefix = f"#/components/schemas/{name}."
    for def_name, definition in defs.items():
        _COMPONENTS[f"{name}.{def_name}"] = _rewrite_refs(definition, prefix)
    _COMPONENTS[name] = _rewrite_refs(body, prefix)
    return ref(name)


def ref(name: str) -> dict[str, str]:
    """A `$ref` to a component, for use inside a response or request schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def _rewrite_refs(node: Any, prefix: str) -> Any:
    if isinstance(node, dict):
        return {k: (_local_ref(v, prefix) if k == "$ref" else _rewrite_refs(v, prefix)) for k, v in node.items()}
    if isinstance(node, list):
        return [_rewrite_refs(item, prefix) for item in node]
    return node


def _local_ref(target: Any, prefix: str) -> Any:
    if isinstance(target, str) and target.startswith("#/$defs/"):
        return prefix + target.removeprefix("#/$defs/")
    if target == "#":
        raise ValueError("a schema that refers to its own root cannot be published as a component")
    return target


# ----------------------------------------------------------------------------- the document

_RULE_PARAMETER = re.compile(r"<(?:(?P<converter>[a-z]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_PATH_SCHEMAS: dict[str, Schema] = {
    "default": {"type": "string", "minLength": 1, "pattern": "^[^/]+$"},
    "string": {"type": "string", "minLength": 1, "pattern": "^[^/]+$"},
    "int": {"type": "integer", "minimum": 0, "maximum": MAX_INTEGER},  # as core.web bounds URL integers
}


def build_document(routes: Iterable[Route], *, title: str, version: str, description: str = "") -> dict[str, Any]:
    """The OpenAPI 3.1 document for `routes` under /api/: each described, or UndescribedRoute."""
    paths: dict[str, dict[str, Any]] = {}
    for route in sorted(routes, key=lambda r: (r.rule, r.endpoint)):
        if not route.rule.startswith("/api/"):
            continue
        operation = _OPERATIONS.get(route.endpoint)
        if operation is None:
            raise UndescribedRoute(f"{route.endpoint} ({route.rule}) has no contract: describe it in its package")
        path, path_parameters = openapi_path(route.rule)
        for method in sorted(route.methods - IGNORED_METHODS):
            paths.setdefault(path, {})[method.lower()] = _operation(route, operation, path_parameters)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": title, "version": version, "description": description},
        "paths": paths,
        "components": {
            "schemas": dict(sorted(_COMPONENTS.items())),
            "securitySchemes": {
                SECURITY_SCHEME: {"type": "http", "scheme": "bearer", "description": "an API token (`tsr_…`)"}
            },
        },
    }


def openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    """`/pages/<slug>/versions/<int:number>` → `/pages/{slug}/versions/{number}` and its path parameters."""
    parameters = []
    for found in _RULE_PARAMETER.finditer(rule):
        converter = found["converter"] or "default"
        if converter not in _PATH_SCHEMAS:
            raise ValueError(f"no schema for the URL converter '{converter}' in {rule}")
        parameters.append(
            {"name": found["name"], "in": "path", "required": True, "schema": dict(_PATH_SCHEMAS[converter])}
        )
    return _RULE_PARAMETER.sub(lambda m: "{" + m["name"] + "}", rule), parameters


def _operation(route: Route, operation: Operation, path_parameters: list[dict[str, Any]]) -> dict[str, Any]:
    scopes = operation.scopes if operation.scopes is not None else route.scopes
    body: dict[str, Any] = {
        "operationId": route.endpoint,
        "summary": operation.summary,
        "tags": [route.endpoint.split(".", 1)[0]],
        "parameters": [*copy.deepcopy(path_parameters), *(_parameter(p) for p in operation.parameters)],
        "responses": _responses(operation, scopes, has_path_parameters=bool(path_parameters)),
        "security": [{SECURITY_SCHEME: [scope]} for scope in sorted(scopes)] if scopes else [],
    }
    if operation.description:
        body["description"] = operation.description
    if operation.body is not None:
        body["requestBody"] = {"required": True, "content": {"application/json": {"schema": dict(operation.body)}}}
    return body


def _parameter(parameter: Parameter) -> dict[str, Any]:
    out: dict[str, Any] = {"name": parameter.name, "in": parameter.where, "required": parameter.required,
                           "schema": dict(parameter.schema)}  # fmt: skip
    if parameter.description:
        out["description"] = parameter.description
    return out


def _responses(operation: Operation, scopes: frozenset[str] | None, *, has_path_parameters: bool) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    common = _common_responses(scopes, has_path_parameters, has_body=operation.body is not None)
    for status in sorted({*operation.responses, *common}):
        schema = operation.responses[status] if status in operation.responses else common[status]
        answer: dict[str, Any] = {"description": _REASONS.get(status, "")}
        if schema is not None:
            answer["content"] = {"application/json": {"schema": dict(schema)}}
        if operation.etag and 200 <= status < 300 and status != 204:
            answer["headers"] = {"ETag": {"required": True, "schema": {"type": "string"}}}
        responses[str(status)] = answer
    return responses


def _common_responses(scopes: frozenset[str] | None, has_path_parameters: bool, has_body: bool) -> dict[int, Any]:
    statuses: dict[int, Any] = {400: _ERROR_REF, 414: None, 503: _ERROR_REF}
    if scopes:
        statuses |= {401: _ERROR_REF, 403: _ERROR_REF}
    if has_path_parameters:
        statuses[404] = _ERROR_REF
    if has_body:
        statuses[413] = _ERROR_REF
    return statuses


# ----------------------------------------------------------------------------- building blocks

ERROR = ref("Error")


def errors(*statuses: int) -> dict[int, Schema]:
    """The refusals a view gives besides the common ones (`_common_responses`), each an `Error`."""
    return dict.fromkeys(statuses, ERROR)


def nullable(schema: Schema) -> dict[str, Any]:
    """`schema` or null (OpenAPI 3.1 has no `nullable`: JSON Schema's `anyOf` says it)."""
    return {"anyOf": [dict(schema), {"type": "null"}]}


def obj(required: Iterable[str] = (), **properties: Schema) -> dict[str, Any]:
    """An object with these properties (more may come: a client reads what it knows)."""
    return {"type": "object", "required": sorted(required), "properties": {k: dict(v) for k, v in properties.items()}}


def array(items: Schema, **limits: int) -> dict[str, Any]:
    return {"type": "array", "items": dict(items), **limits}


STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
NUMBER: Schema = {"type": "number"}
BOOLEAN: Schema = {"type": "boolean"}
ANY_OBJECT: Schema = {"type": "object"}
MARKETPLACE: Schema = {"type": "string", "enum": list(MARKETPLACES)}


def marketplace(*, required: bool = True) -> Parameter:
    """The `marketplace` query parameter, one of core.vocabulary.MARKETPLACES."""
    return Parameter("marketplace", MARKETPLACE, required=required, description="a marketplace code, e.g. US")


def if_match(what: str) -> Parameter:
    """The If-Match header that guards an edit: the ETag the client read."""
    return Parameter("If-Match", STRING, where="header", required=True, description=f"the {what}'s ETag, from GET")
