"""The targeting admin API's contract (`targeting_api`, for /api/openapi.json): audiences, campaigns,
and a shopper's profile as audiences see it.

Pure. An audience's rule is the rule schema file itself (`audience_rules.rule_schema`); the answers
are the shapes of `AudienceInfo.as_dict`, `CampaignInfo.as_dict`, `MatchResult` and `SizeEstimate`.
Campaign bodies are checked field by field by `campaign_rules.parse_campaign` (422 naming each
path); the schema here names the fields and their types, the parser says the rest.
"""

from __future__ import annotations

from core import openapi
from core.input_rules import MAX_EFFECTS
from core.openapi import (
    ANY_OBJECT,
    BOOLEAN,
    INTEGER,
    NUMBER,
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
from core.vocabulary import DEVICES
from layout_engine.audience_rules import rule_schema
from layout_engine.campaign_rules import KIND_FIELDS, STATUSES

RULE = openapi.component("AudienceRule", rule_schema())
AUDIENCE = openapi.component(
    "Audience",
    obj(
        ["key", "name", "description", "rule", "summary", "builtin", "revision", "updated_by", "updated_at"],
        key=STRING, name=STRING, description=STRING, rule=RULE, summary=STRING, builtin=BOOLEAN, revision=INTEGER,
        updated_by=STRING, updated_at=nullable(STRING),
    ),
)  # fmt: skip
AUDIENCE_FIELDS = {"name": STRING, "description": STRING, "rule": RULE}
SIZE = openapi.component(
    "AudienceSize",
    obj(
        ["matching", "considered", "known_shoppers", "share", "estimated", "exact"],
        matching=INTEGER, considered=INTEGER, known_shoppers=INTEGER, share=NUMBER, estimated=INTEGER, exact=BOOLEAN,
    ),
)  # fmt: skip
EFFECT = obj(["page", "kind"], page=STRING, kind={"type": "string", "enum": sorted(KIND_FIELDS)},
             version=INTEGER, slot_id=STRING, settings=ANY_OBJECT, slot=ANY_OBJECT, position=INTEGER)  # fmt: skip
CAMPAIGN_FIELDS = {
    "key": STRING, "name": STRING, "occasion": STRING, "marketplaces": array(STRING), "audience": nullable(STRING),
    "time_zone": STRING, "starts_at": STRING, "ends_at": STRING, "priority": INTEGER, "paused": BOOLEAN,
    "effects": array(EFFECT, minItems=1, maxItems=MAX_EFFECTS),
}  # fmt: skip
WARNING = obj(["other", "pages", "marketplaces", "wins", "message"], other=STRING, pages=array(STRING),
              marketplaces=array(STRING), wins=BOOLEAN, message=STRING)  # fmt: skip
CAMPAIGN = openapi.component(
    "Campaign",
    obj(
        [*CAMPAIGN_FIELDS, "window", "status", "revision", "updated_by", "updated_at"],
        **CAMPAIGN_FIELDS, window=obj(["starts_at", "ends_at"], starts_at=STRING, ends_at=STRING),
        status={"type": "string", "enum": list(STATUSES)}, revision=INTEGER, updated_by=STRING, updated_at=STRING,
        warnings=array(WARNING),
    ),
)  # fmt: skip
SHOPPER_QUERY = (
    Parameter("user_id", STRING, description="the shopper's id, as the storefront sends it"),
    Parameter("locale", STRING, description="e.g. en-US"),
    Parameter("device", {"type": "string", "enum": list(DEVICES)}),
)
AT = Parameter("at", STRING, description="an ISO 8601 instant to evaluate at, instead of now")

# ----------------------------------------------------------------------------- audiences

openapi.describe("targeting_api.list_audiences", Operation(
    summary="Every audience, built-in ones first",
    responses={200: obj(["audiences"], audiences=array(AUDIENCE))},
))  # fmt: skip
openapi.describe("targeting_api.create_audience", Operation(
    summary="Create an audience from a rule",
    body=obj(["key", "name", "rule"], key=STRING, **AUDIENCE_FIELDS),
    responses={201: AUDIENCE, **errors(409, 422)},
    etag=True,
))  # fmt: skip
openapi.describe("targeting_api.get_audience", Operation(
    summary="One audience", responses={200: AUDIENCE}, etag=True,
))  # fmt: skip
openapi.describe("targeting_api.update_audience", Operation(
    summary="Change an audience's name, description or rule",
    parameters=(if_match("audience"),),
    body=obj((), **AUDIENCE_FIELDS),
    responses={200: AUDIENCE, **errors(409, 412, 422, 428)},
    etag=True,
    description="Changing the rule of an audience that shoppers see now needs a publisher (403).",
))  # fmt: skip
openapi.describe("targeting_api.delete_audience", Operation(
    summary="Delete an audience nothing uses", responses={204: None, **errors(409)},
))  # fmt: skip
openapi.describe("targeting_api.match_audience", Operation(
    summary="Would this shopper match the audience now? With the reason and the facts read",
    parameters=(*SHOPPER_QUERY, marketplace(required=False), AT),
    responses={200: obj(["audience", "user_id", "matched", "reason", "opted_out", "has_profile", "facts"],
                        audience=STRING, user_id=nullable(STRING), matched=BOOLEAN, reason=STRING,
                        opted_out=BOOLEAN, has_profile=BOOLEAN, facts=ANY_OBJECT)},
))  # fmt: skip
openapi.describe("targeting_api.count_audience", Operation(
    summary="How many known shoppers the audience matches (exact, or estimated from a sample)",
    responses={200: {"allOf": [SIZE, obj(["audience"], audience=STRING)]}},
))  # fmt: skip
openapi.describe("targeting_api.estimate_rule", Operation(
    summary="The size of an unsaved rule, for the rule builder",
    body=obj(["rule"], rule=RULE),
    responses={200: SIZE, **errors(422)},
))  # fmt: skip

# ----------------------------------------------------------------------------- campaigns

openapi.describe("targeting_api.list_campaigns", Operation(
    summary="The campaigns, optionally of one marketplace and status",
    parameters=(marketplace(required=False), Parameter("status", {"type": "string", "enum": list(STATUSES)})),
    responses={200: obj(["campaigns"], campaigns=array(CAMPAIGN))},
))  # fmt: skip
openapi.describe("targeting_api.create_campaign", Operation(
    summary="Schedule a campaign (an editor's campaign with effects is saved paused)",
    body=obj(["key", "name", "occasion", "marketplaces", "starts_at", "ends_at"], **CAMPAIGN_FIELDS),
    responses={201: CAMPAIGN, **errors(409, 422)},
    etag=True,
    description="`warnings` name other campaigns it overlaps and which wins by priority.",
))  # fmt: skip
openapi.describe("targeting_api.get_campaign", Operation(
    summary="One campaign with its overlap warnings", responses={200: CAMPAIGN}, etag=True,
))  # fmt: skip
openapi.describe("targeting_api.update_campaign", Operation(
    summary="Change a campaign that has not ended",
    parameters=(if_match("campaign"),),
    body=obj((), **CAMPAIGN_FIELDS),
    responses={200: CAMPAIGN, **errors(409, 412, 422, 428)},
    etag=True,
))  # fmt: skip
for _verb, _summary in (("pause", "Pause a campaign"), ("resume", "Resume a paused campaign"),
                        ("end", "End a live campaign now")):  # fmt: skip
    openapi.describe(f"targeting_api.{_verb}_campaign", Operation(
        summary=_summary, parameters=(if_match("campaign"),), responses={200: CAMPAIGN, **errors(409, 412, 428)},
        etag=True,
    ))  # fmt: skip
openapi.describe("targeting_api.delete_campaign", Operation(
    summary="Delete a campaign that is not live",
    parameters=(if_match("campaign"),),
    responses={204: None, **errors(409, 412, 428)},
))  # fmt: skip

# ----------------------------------------------------------------------------- shoppers

openapi.describe("targeting_api.get_shopper", Operation(
    summary="A shopper's profile facts as audiences see them, and whether they opted out",
    responses={200: obj(["user_id", "opted_out", "has_profile", "facts", "purchased_items"], user_id=STRING,
                        opted_out=BOOLEAN, has_profile=BOOLEAN, facts=ANY_OBJECT, purchased_items=array(STRING))},
))  # fmt: skip
