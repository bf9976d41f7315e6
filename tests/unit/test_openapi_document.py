"""The contract's pure core (core.openapi): Flask rules become OpenAPI paths, a package's JSON Schema
file becomes components with working references, and a route nobody described is refused."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from core import openapi
from core.input_rules import MAX_INTEGER


def test_flask_rules_become_openapi_paths_with_typed_parameters() -> None:
    path, parameters = openapi.openapi_path("/api/v1/pages/<slug>/versions/<int:number>")
    assert path == "/api/v1/pages/{slug}/versions/{number}"
    assert [(p["name"], p["in"], p["required"]) for p in parameters] == [
        ("slug", "path", True),
        ("number", "path", True),
    ]
    assert parameters[1]["schema"] == {"type": "integer", "minimum": 0, "maximum": MAX_INTEGER}


def test_a_converter_without_a_schema_is_refused_not_guessed() -> None:
    with pytest.raises(ValueError, match="uuid"):
        openapi.openapi_path("/api/v1/things/<uuid:id>")


def test_a_schema_file_becomes_components_whose_references_still_resolve() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "https://example.test/thing.json",
        "type": "object", "properties": {"part": {"$ref": "#/$defs/part"}}, "$defs": {"part": {"type": "integer"}},
    }  # fmt: skip
    assert openapi.component("UnitThing", schema) == {"$ref": "#/components/schemas/UnitThing"}
    document = openapi.build_document([], title="t", version="1")
    schemas = document["components"]["schemas"]
    assert "$id" not in schemas["UnitThing"] and "$defs" not in schemas["UnitThing"]
    assert schemas["UnitThing"]["properties"]["part"] == {"$ref": "#/components/schemas/UnitThing.part"}
    root = {**document, "$ref": "#/components/schemas/UnitThing"}
    assert Draft202012Validator(root).is_valid({"part": 1})
    assert not Draft202012Validator(root).is_valid({"part": "one"})


def test_an_undescribed_api_route_is_refused() -> None:
    route = openapi.Route("/api/v1/unit-undescribed", frozenset({"GET"}), "unit.list_nothing")
    with pytest.raises(openapi.UndescribedRoute, match="unit.list_nothing"):
        openapi.build_document([route], title="t", version="1")


def test_an_operation_gets_the_common_refusals_and_its_scope() -> None:
    openapi.describe("unit.get_thing", openapi.Operation(summary="s", responses={200: openapi.ANY_OBJECT}))
    routes = [
        openapi.Route("/api/v1/things/<key>", frozenset({"GET", "HEAD", "OPTIONS"}), "unit.get_thing",
                      frozenset({"admin"})),
        openapi.Route("/healthz", frozenset({"GET"}), "healthz"),  # not under /api/: not in the contract
    ]  # fmt: skip
    document = openapi.build_document(routes, title="t", version="1")
    assert list(document["paths"]) == ["/api/v1/things/{key}"]
    operation = document["paths"]["/api/v1/things/{key}"]["get"]
    assert operation["security"] == [{"bearer": ["admin"]}]
    assert set(operation["responses"]) == {"200", "400", "401", "403", "404", "414", "503"}
    assert operation["responses"]["404"]["content"]["application/json"]["schema"] == openapi.ERROR
