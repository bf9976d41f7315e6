"""The pages admin API's contract (`pages_api`, for /api/openapi.json): what each route takes and answers.

Pure. The layout document is the layout schema file itself (`validation.layout_schema`) with each
slot type's settings schema beside it (`slots.load_schema`), so the contract cannot drift from what
a save accepts; the page and version shapes are those of `PageInfo.as_dict` and `VersionInfo.summary`.
"""

from __future__ import annotations

import slots
from core import openapi
from core.openapi import (
    BOOLEAN,
    INTEGER,
    STRING,
    Operation,
    Parameter,
    array,
    errors,
    if_match,
    marketplace,
    nullable,
    obj,
)
from layout_engine.validation import layout_schema

LAYOUT = openapi.component("Layout", layout_schema())
SLOT_SETTINGS = {name: openapi.component(f"SlotSettings.{name}", slots.load_schema(name)) for name in slots.names()}
PAGE = openapi.component(
    "Page",
    obj(
        ["slug", "marketplace", "title", "published_version", "latest_version", "etag"],
        slug=STRING, marketplace=openapi.MARKETPLACE, title=STRING, published_version=nullable(INTEGER),
        latest_version=nullable(INTEGER), etag=STRING,
    ),
)  # fmt: skip
VERSION = openapi.component(
    "VersionSummary",
    obj(
        ["number", "parent", "author", "comment", "created_at", "checksum", "published"],
        number=INTEGER, parent=nullable(INTEGER), author=STRING, comment=STRING, created_at=STRING, checksum=STRING,
        published=BOOLEAN,
    ),
)  # fmt: skip
WARNING = obj(["path", "message"], path=STRING, message=STRING)
VERSION_NUMBER = {"type": "integer", "minimum": 1}

openapi.describe("pages_api.create_page", Operation(
    summary="Create a page for a marketplace (no versions yet)",
    body=obj(["slug", "marketplace"], slug=STRING, marketplace=STRING, title=STRING),
    responses={201: obj(["page"], page=PAGE), **errors(409, 422)},
    etag=True,
))  # fmt: skip
openapi.describe("pages_api.list_pages", Operation(
    summary="The pages, optionally of one marketplace",
    parameters=(marketplace(required=False),),
    responses={200: obj(["pages"], pages=array(PAGE))},
))  # fmt: skip
openapi.describe("pages_api.save_version", Operation(
    summary="Save a new version of the page's layout (validated; unknown audiences are warnings)",
    parameters=(marketplace(),),
    body=obj(["document"], document=LAYOUT, comment={"type": "string", "maxLength": 1000},
             parent=nullable(VERSION_NUMBER)),
    responses={201: obj(["version", "page", "warnings"], version=INTEGER, page=PAGE, warnings=array(WARNING)),
               **errors(409, 422)},
    etag=True,
    description="`parent` is the version the edit started from: a newer version saved since is a 409.",
))  # fmt: skip
openapi.describe("pages_api.list_versions", Operation(
    summary="The page and its versions, newest first",
    parameters=(marketplace(),),
    responses={200: obj(["page", "versions"], page=PAGE, versions=array(VERSION))},
    etag=True,
))  # fmt: skip
openapi.describe("pages_api.get_version", Operation(
    summary="One version with its layout document",
    parameters=(marketplace(),),
    responses={200: {"allOf": [VERSION, obj(["document"], document=LAYOUT)]}},
    etag=True,
))  # fmt: skip
openapi.describe("pages_api.diff_versions", Operation(
    summary="What changed between two versions, as an RFC 6902 JSON Patch",
    parameters=(marketplace(), Parameter("from", VERSION_NUMBER, required=True),
                Parameter("to", VERSION_NUMBER, required=True)),
    responses={200: obj(["from", "to", "patch"], **{"from": INTEGER, "to": INTEGER},
                        patch=array(obj(["op", "path"], op=STRING, path=STRING)))},
))  # fmt: skip
openapi.describe("pages_api.publish_page", Operation(
    summary="Publish a version for every shopper (the publish gates must pass)",
    parameters=(marketplace(), if_match("page")),
    body=obj(["version"], version=VERSION_NUMBER),
    responses={200: obj(["page", "invalidation"], page=PAGE, invalidation=STRING), **errors(412, 422, 428)},
    etag=True,
    description="`invalidation` is `done`, or `pending` while other workers have not heard of it yet.",
))  # fmt: skip
