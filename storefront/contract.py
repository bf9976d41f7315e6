"""The storefront API's contract (`storefront`, for /api/openapi.json): resolve, events, privacy.

Resolve checks a choice of scopes inside the view (`storefront.api.RESOLVE_SCOPES`, read from there,
so the contract says what the code checks); the other routes' scopes come from `require_scope`.
The page is the shape `layout_engine.service.PageResolver.resolve` builds; events are
`shoppers.events.TYPES`, and a batch is at most `shoppers.events.MAX_BATCH`.
"""

from __future__ import annotations

from core import openapi, shopper_binding
from core.openapi import (
    ANY_OBJECT,
    BOOLEAN,
    INTEGER,
    NUMBER,
    STRING,
    Operation,
    Parameter,
    array,
    marketplace,
    nullable,
    obj,
)
from core.vocabulary import DEVICES
from shoppers.events import MAX_BATCH, TYPES
from storefront.api import RESOLVE_SCOPES

ITEM = obj(["item_id", "title", "price", "currency", "image_url", "reason"], item_id=STRING, title=STRING,
           price=NUMBER, currency=STRING, image_url=STRING, reason=STRING)  # fmt: skip
SLOT = obj(
    ["id", "type", "settings", "items", "source"],
    id=STRING, type=STRING, settings=ANY_OBJECT, items=array(ITEM), source=STRING,
    reason={"type": "string", "description": "why the slot serves its fallback"},
    trace={"type": "object", "description": "the steps taken (with explain=1 only)"},
)  # fmt: skip
PAGE = openapi.component(
    "ResolvedPage",
    obj(
        ["page", "marketplace", "title", "version", "experiment", "campaign", "degraded", "slots"],
        page=STRING, marketplace=STRING, title=STRING, version=INTEGER,
        experiment=nullable(obj(["key", "variant"], key=STRING, variant=STRING)),
        campaign=nullable(obj(["key", "name", "occasion"], key=STRING, name=STRING, occasion=STRING)),
        degraded=BOOLEAN, degraded_reasons=array(STRING), slots=array(SLOT), timing_ms=NUMBER, at=STRING,
    ),
)  # fmt: skip
EVENT = obj(
    ["event_id", "type", "user_id", "occurred_at"],
    event_id=STRING, type={"type": "string", "enum": list(TYPES)}, user_id=STRING, occurred_at=STRING,
    page=STRING, slot_id=STRING, item_id=STRING, order_id=STRING, revenue={"type": ["number", "string"]},
    currency=STRING,
)  # fmt: skip
EVENTS = array(EVENT, maxItems=MAX_BATCH)
REPORT = obj(["accepted", "duplicates", "rejected"], accepted=INTEGER, duplicates=INTEGER, spooled=INTEGER,
             rejected=array(obj(["index", "errors"], index=INTEGER, errors=array(STRING))))  # fmt: skip
CHOICE = obj(["user_id", "opted_out", "changed"], user_id=STRING, opted_out=BOOLEAN, changed=BOOLEAN)

openapi.describe("storefront.resolve_page", Operation(
    summary="The page resolved for one shopper: layout, experiment variant, campaign, personalized slots",
    description="A slow or failing recommender never makes this fail: slots serve their fallback and the page "
    "says `degraded`. explain, preview_variant and at need the preview (or admin) scope.",
    scopes=RESOLVE_SCOPES,
    parameters=(
        marketplace(),
        Parameter("user_id", STRING, description="the shopper's id; none for an anonymous visit"),
        Parameter("locale", STRING, description="e.g. en-US"),
        Parameter("device", {"type": "string", "enum": list(DEVICES)}),
        Parameter("explain", {"type": "string", "enum": ["0", "1", "true", "false"]}),
        Parameter("preview_variant", STRING, description="show this variant's version (nothing recorded)"),
        Parameter("at", STRING, description="an ISO 8601 instant to resolve at (time travel)"),
        Parameter(shopper_binding.HEADER, STRING, where="header",
                  description="the storefront's signature of user_id (core.shopper_binding)"),
    ),
    responses={200: PAGE},
))  # fmt: skip
openapi.describe("storefront.post_events", Operation(
    summary="A batch of shoppers' events: each invalid one is named by index, the rest are stored",
    body={"oneOf": [obj(["events"], events=EVENTS), EVENTS]},
    responses={200: REPORT, 202: REPORT},
    description="202: the database is unreachable and the events are spooled on this node, applied later.",
))  # fmt: skip
openapi.describe("storefront.record_opt_out", Operation(
    summary="The shopper opts out: no profile, no personal recommendations", responses={200: CHOICE},
))  # fmt: skip
openapi.describe("storefront.withdraw_opt_out", Operation(
    summary="The shopper opts back in", responses={200: CHOICE},
))  # fmt: skip
openapi.describe("storefront.erase_shopper", Operation(
    summary="Right to erasure: the shopper's events, purchases, exposures and profile, in one transaction",
    responses={200: obj(["user_id", "erased"], user_id=STRING,
                        erased={"type": "object", "required": ["events", "purchases", "profile"],
                                "properties": {"events": INTEGER, "purchases": INTEGER, "profile": BOOLEAN},
                                "additionalProperties": {"type": "integer"}})},
))  # fmt: skip
