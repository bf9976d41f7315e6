"""The API contract's edge (`api_docs`): GET /api/openapi.json, made from this app's URL map.

Public on every surface that serves an API: a contract is no secret, and a storefront's engineers
read it before they hold a token. Each process describes the routes it serves (a storefront-only
worker's document has no admin API), built once per app and held, since routes never change
after start-up.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify

from core import openapi

bp = Blueprint("api_docs", __name__, url_prefix="/api")
TITLE = "Tessera API"
VERSION = "1"
DESCRIPTION = (
    "The storefront API (resolve a shopper's page, post events, privacy requests) and the admin and "
    "analytics APIs (pages, versions, audiences, campaigns, experiments, results, audit). Send an API "
    "token as `Authorization: Bearer tsr_…`; each operation names the scope it needs."
)


@bp.get("/openapi.json")
def show_openapi() -> Response:
    """The OpenAPI 3.1 document of this process's APIs."""
    return jsonify(contract_of(current_app))


openapi.describe(
    "api_docs.show_openapi",
    openapi.Operation(
        summary="This document: the OpenAPI 3.1 contract of the APIs this process serves",
        responses={200: {"type": "object", "required": ["openapi", "info", "paths"]}},
    ),
)


def contract_of(app: Flask) -> dict[str, Any]:
    """The app's OpenAPI document, built on first use and kept in `app.extensions`."""
    held = app.extensions.get("tessera_openapi")
    if held is None:
        held = openapi.build_document(routes(app), title=TITLE, version=VERSION, description=DESCRIPTION)
        app.extensions["tessera_openapi"] = held
    return held  # type: ignore[no-any-return]


def routes(app: Flask) -> list[openapi.Route]:
    """The app's URL rules with the scope each view requires (recorded on it by `require_scope`)."""
    found = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        scope = getattr(view, "required_scope", None)
        found.append(
            openapi.Route(
                rule.rule, frozenset(rule.methods or ()), rule.endpoint, frozenset({scope}) if scope else None
            )  # fmt: skip
        )
    return found
