"""Turning a published layout into the page one shopper sees, pure.

Contract: `plan_page(document, context)` picks the visible slots and says what
each needs (nothing, its curated items, or recommender calls);
`finish_page(plans, fetches, catalog, context)` runs every slot's pipeline in
page order, so de-duplication follows the page top to bottom, and returns
resolved slots. The service does the I/O between the two (concurrently, under
one deadline). No Flask, no database, no network here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import slots
from core.vocabulary import FALLBACK_STRATEGIES
from layout_engine.audiences import ShopperContext, is_member
from personalization_client.values import Fetch, RecRequest
from slots import recommendations
from slots.postfilters import CatalogItem, SlotOutcome, run_curated, run_recommendations

MAX_CANDIDATES = 100
NON_PERSONAL_COUNT = 48  # one shared, cacheable list per non-personal query
NON_PERSONAL = (*FALLBACK_STRATEGIES, "similar_items")
OPTED_OUT = "the shopper opted out of personalization; serving the slot's non-personal fallback"
PROFILE_UNAVAILABLE = "the shopper's profile could not be read; serving the slot's non-personal fallback"
# Why a slot served its fallback, as a code for dashboards (the slot's `reason` says it in words).
_FALLBACK_CODES = ((OPTED_OUT, "opted_out"), (PROFILE_UNAVAILABLE, "profile_unavailable"),
                   ("recommender failed", "recommender_failed"), ("recommender returned no items", "recommender_empty"),
                   ("only ", "too_few_after_filters"))  # fmt: skip


def fallback_code(reason: str) -> str:
    """The code of a slot's fallback reason (the words come from here and `slots.postfilters`)."""
    return next((code for start, code in _FALLBACK_CODES if reason.startswith(start)), "other")


@dataclass(frozen=True)
class SlotPlan:
    index: int
    slot_id: str
    slot_type: str
    settings: Mapping[str, Any]
    kind: str
    spec: recommendations.RecommendationSpec | None = None
    primary: RecRequest | None = None
    fallback: RecRequest | None = None


@dataclass(frozen=True)
class ResolvedSlot:
    plan: SlotPlan
    outcome: SlotOutcome


def is_visible(slot: Mapping[str, Any], context: ShopperContext) -> bool:
    """Per-slot visibility rules: audience, hidden audience, devices, locales (all must hold)."""
    rules = slot.get("visibility") or {}
    if "audience" in rules and not is_member(rules["audience"], context):
        return False
    if "hide_from_audience" in rules and is_member(rules["hide_from_audience"], context):
        return False
    if "devices" in rules and context.device not in rules["devices"]:
        return False
    return "locales" not in rules or _locale_matches(context.locale, rules["locales"])


def _locale_matches(locale: str | None, allowed: Sequence[str]) -> bool:
    if locale is None:
        return False
    language = locale.split("-")[0]
    return locale in allowed or language in allowed


def plan_page(document: Mapping[str, Any], context: ShopperContext) -> list[SlotPlan]:
    plans = []
    for index, slot in enumerate(document.get("slots", [])):
        slot_type = slots.get(slot["type"])
        if slot_type is None or not is_visible(slot, context):
            continue
        plans.append(_plan_slot(index, slot, slot_type.kind, context))
    return plans


def _plan_slot(index: int, slot: Mapping[str, Any], kind: str, context: ShopperContext) -> SlotPlan:
    base = SlotPlan(index, slot["id"], slot["type"], slot["settings"], kind)
    if kind != "recommendations":
        return base
    spec = recommendations.parse(slot["settings"])
    fallback = None
    if spec.fallback_strategy is not None and _may_serve(spec.fallback_strategy, context):
        fallback = _request(spec.fallback_strategy, spec, context)
    primary = _request(spec.strategy, spec, context) if _may_serve(spec.strategy, context) else None
    return SlotPlan(**{**base.__dict__, "spec": spec, "primary": primary, "fallback": fallback})


def _may_serve(strategy: str, context: ShopperContext) -> bool:
    """Opted-out shoppers get no strategy that reads who they are; nor does a shopper whose
    profile (and so whose opt-out) could not be read: not knowing must not mean personalizing."""
    return strategy in NON_PERSONAL or not (context.opted_out or context.is_profile_unavailable)


def _request(strategy: str, spec: recommendations.RecommendationSpec, context: ShopperContext) -> RecRequest:
    """Ask for more than `count`: page-wide de-duplication eats some (purchases and filters
    go to the recommender too, so twice `count` plus a little is enough; the fallback tops up)."""
    filters = spec.filters.as_dict()
    if strategy in FALLBACK_STRATEGIES:
        return RecRequest(strategy, None, NON_PERSONAL_COUNT, context.marketplace, filters=filters)
    if strategy == "similar_items":
        return RecRequest(strategy, None, NON_PERSONAL_COUNT, context.marketplace, spec.anchor_item_id, filters)
    exclude = tuple(sorted(context.purchased))[:200]
    count = min(MAX_CANDIDATES, spec.count * 2 + 4)
    return RecRequest(strategy, context.user_id, count, context.marketplace, spec.anchor_item_id, filters, exclude)


def finish_page(
    plans: Sequence[SlotPlan],
    fetches: Mapping[tuple[int, str], Fetch],
    catalog: Mapping[str, CatalogItem],
    context: ShopperContext,
) -> list[ResolvedSlot]:
    """Run each slot's pipeline in page order; `fetches` is keyed by (slot index, "primary"|"fallback")."""
    reserved = _curated_reserved(plans, catalog)
    shown: set[str] = set()
    resolved = []
    for plan in plans:
        seen = (reserved - _own_curated(plan)).union(shown)
        outcome = _outcome(plan, fetches, catalog, context, seen)
        shown.update(c.item_id for c in outcome.items)
        resolved.append(ResolvedSlot(plan, outcome))
    return resolved


def _curated_reserved(plans: Sequence[SlotPlan], catalog: Mapping[str, CatalogItem]) -> frozenset[str]:
    """Items hand-placed by the product manager are kept for their grids, so a
    recommendations slot above a grid does not take them first."""
    return frozenset(i for plan in plans for i in _own_curated(plan) if i in catalog)


def _own_curated(plan: SlotPlan) -> frozenset[str]:
    return frozenset(_ordered_curated(plan))


def _outcome(
    plan: SlotPlan,
    fetches: Mapping[tuple[int, str], Fetch],
    catalog: Mapping[str, CatalogItem],
    context: ShopperContext,
    seen: frozenset[str],
) -> SlotOutcome:
    if plan.kind == "curated":
        return run_curated(list(_ordered_curated(plan)), catalog, context.purchased, seen)
    if plan.kind == "recommendations" and plan.spec is not None:
        fallback = fetches.get((plan.index, "fallback"))
        if plan.primary is None:  # opted out (nothing failed) or unknown (the profile could not be read)
            outcome = run_recommendations(plan.spec, Fetch(()), fallback, catalog, context.purchased, seen)
            failed = fallback is not None and not fallback.is_ok  # the fallback itself failing still degrades
            if context.is_profile_unavailable:
                return replace(outcome, source="fallback", is_degraded=True, fallback_reason=PROFILE_UNAVAILABLE)
            return replace(outcome, source="fallback", is_degraded=failed, fallback_reason=OPTED_OUT)
        primary = fetches.get((plan.index, "primary"), Fetch(None, error="not fetched"))
        return run_recommendations(plan.spec, primary, fallback, catalog, context.purchased, seen)
    return SlotOutcome((), "static")


def _ordered_curated(plan: SlotPlan) -> tuple[str, ...]:
    slot_type = slots.get(plan.slot_type)
    return slot_type.curated_items(plan.settings) if slot_type else ()


PRIVATE_REASON = "Picked for you"


def slot_payload(
    slot: ResolvedSlot, catalog: Mapping[str, CatalogItem], explain: bool, reveals_history: bool = True
) -> dict[str, Any]:
    """The JSON the storefront gets for one slot. A personalized slot's reasons name what the shopper
    bought or viewed ("Because you bought …"): unless the request is bound to that shopper, each says
    only PRIVATE_REASON, since anyone who knows or guesses an id could read them."""
    private = not reveals_history and slot.plan.spec is not None and slot.plan.spec.strategy == "personalized"
    payload: dict[str, Any] = {
        "id": slot.plan.slot_id,
        "type": slot.plan.slot_type,
        "settings": slot.plan.settings,
        "items": [
            _item_payload(catalog[c.item_id], PRIVATE_REASON if private else c.reason) for c in slot.outcome.items
        ],  # fmt: skip
        "source": slot.outcome.source,
    }
    if slot.outcome.source == "fallback" and slot.outcome.fallback_reason:
        payload["reason"] = slot.outcome.fallback_reason
    if explain:
        payload["trace"] = {
            "steps": [step.as_dict() for step in slot.outcome.steps],
            "fallback_reason": slot.outcome.fallback_reason,
        }
    return payload


def _item_payload(item: CatalogItem, reason: str) -> dict[str, Any]:
    return {
        "item_id": item.item_id,
        "title": item.title,
        "price": item.price,
        "currency": item.currency,
        "image_url": item.image_url,
        "reason": reason,
    }


def is_shown(slot: ResolvedSlot) -> bool:
    """Slots that should show items but have none left are hidden."""
    return slot.plan.kind == "static" or bool(slot.outcome.items)
