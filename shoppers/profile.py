"""Shopper profiles, pure: folding events into a profile, and the facts audiences read.

A profile is a small running summary (counts, sums, last times, capped lists),
so each new event costs the same whatever the shopper's history: ingestion
updates it in place instead of rescanning events. Everything that depends on
the clock or on the other shoppers (lifecycle stage, RFM scores and tier) is
derived at read time in `facts`, so a profile never goes stale by itself.

Lifecycle stages (thresholds in days, from the shopper's own activity):

- dormant: nothing seen for more than DORMANT_DAYS (90);
- re-engaged: came back after a gap of more than DORMANT_DAYS, within the last
  REENGAGED_DAYS (30);
- new: first seen within the last NEW_DAYS (30) and at most one order;
- active: everyone else who has been seen.

RFM: recency (days since the last order), frequency (orders) and monetary
(revenue) each score 1..5 by quintile among shoppers with at least one order
(5 is best: most recent, most orders, most revenue); the tier is by the
percentile rank of the summed score among buyers: top from the 80th percentile,
bottom under the 20th, middle between. Ranks count ties as half above and half
below, so a tie is never split and never lands on one side by accident (a store
of identical buyers is all middle). Shoppers without orders have no RFM values
(rules on them are simply false).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from core.input_rules import REVENUE_CEILING

NEW_DAYS = 30
DORMANT_DAYS = 90
REENGAGED_DAYS = 30
MAX_PURCHASED = 200
MAX_RECENT_ORDERS = 20
FAVOURITES = 3
# How much each kind of event says about a shopper's taste.
TASTE_WEIGHTS = {"order": 5, "purchase": 5, "add_to_cart": 3, "click": 1, "view": 1, "page_view": 1}
TIER_SHARES = (0.2, 0.8)  # percentile rank: bottom below the first, top at or above the second
SCORES = range(3, 16)


@dataclass(frozen=True)
class ProfileEvent:
    """One event as the profile sees it: the catalog has already told us the item's taste."""

    type: str
    occurred_at: datetime
    item_id: str | None = None
    order_id: str | None = None
    revenue: float = 0.0
    category: str | None = None
    occasions: tuple[str, ...] = ()
    page: str | None = None


@dataclass(frozen=True)
class Profile:
    user_id: str
    first_seen_at: datetime
    last_seen_at: datetime
    page_views: int = 0
    orders: int = 0
    revenue: float = 0.0
    first_order_at: datetime | None = None
    last_order_at: datetime | None = None
    reengaged_at: datetime | None = None
    occasions: Mapping[str, int] = field(default_factory=dict)
    categories: Mapping[str, int] = field(default_factory=dict)
    purchased_items: tuple[str, ...] = ()  # most recent first, capped
    recent_orders: tuple[str, ...] = ()  # order ids, so an order's lines count once

    def favourite_occasions(self) -> list[str]:
        return _top(self.occasions)

    def favourite_categories(self) -> list[str]:
        return _top(self.categories)


def _top(counts: Mapping[str, int]) -> list[str]:
    ranked = sorted(((-n, name) for name, n in counts.items() if n > 0))
    return [name for _n, name in ranked[:FAVOURITES]]


def fold(profile: Profile | None, user_id: str, events: Iterable[ProfileEvent]) -> Profile:
    """The profile after these events, in time order (a late event only widens first/last seen)."""
    for event in sorted(events, key=lambda e: e.occurred_at):
        profile = _apply(profile, user_id, event)
    if profile is None:
        raise ValueError("fold needs a profile or at least one event")
    return profile


def _apply(profile: Profile | None, user_id: str, event: ProfileEvent) -> Profile:
    at = event.occurred_at
    if profile is None:
        profile = Profile(user_id, at, at)
    changes: dict[str, Any] = {
        "first_seen_at": min(profile.first_seen_at, at),
        "last_seen_at": max(profile.last_seen_at, at),
    }
    if at - profile.last_seen_at > timedelta(days=DORMANT_DAYS):
        changes["reengaged_at"] = at
    if event.type == "page_view":
        changes["page_views"] = profile.page_views + 1
    weight = TASTE_WEIGHTS.get(event.type, 0)
    occasions = set(event.occasions) | ({event.page} if event.page and not event.item_id else set())
    changes["occasions"] = _bump(profile.occasions, occasions, weight)
    changes["categories"] = _bump(profile.categories, {event.category} if event.category else set(), weight)
    if event.type in ("order", "purchase"):
        changes.update(_order_changes(profile, event))
    return replace(profile, **changes)


def _bump(counts: Mapping[str, int], names: set[str], weight: int) -> Mapping[str, int]:
    if not names or weight == 0:
        return counts
    bumped = dict(counts)
    for name in names:
        bumped[name] = bumped.get(name, 0) + weight
    return bumped


def _order_changes(profile: Profile, event: ProfileEvent) -> dict[str, Any]:
    at = event.occurred_at
    changes: dict[str, Any] = {"revenue": profile.revenue + min(max(0.0, event.revenue), REVENUE_CEILING)}
    order_id = event.order_id or f"@{at.isoformat()}"
    if order_id not in profile.recent_orders:
        changes["orders"] = profile.orders + 1
        changes["recent_orders"] = (order_id, *profile.recent_orders)[:MAX_RECENT_ORDERS]
        changes["first_order_at"] = min(profile.first_order_at or at, at)
        changes["last_order_at"] = max(profile.last_order_at or at, at)
    if event.item_id:
        rest = tuple(i for i in profile.purchased_items if i != event.item_id)
        changes["purchased_items"] = (event.item_id, *rest)[:MAX_PURCHASED]
    return changes


def lifecycle(profile: Profile, now: datetime) -> str:
    if now - profile.last_seen_at > timedelta(days=DORMANT_DAYS):
        return "dormant"
    if profile.reengaged_at is not None and now - profile.reengaged_at <= timedelta(days=REENGAGED_DAYS):
        return "re-engaged"
    if now - profile.first_seen_at <= timedelta(days=NEW_DAYS) and profile.orders <= 1:
        return "new"
    return "active"


@dataclass(frozen=True)
class RfmCutpoints:
    """Quintile edges among buyers, and how many buyers have each summed score (3..15)."""

    recency_days: tuple[float, ...] = ()  # ascending; fewer days is better
    frequency: tuple[float, ...] = ()
    monetary: tuple[float, ...] = ()
    score_counts: tuple[int, ...] = ()
    buyers: int = 0


def rfm_cutpoints(buyers: Sequence[tuple[float, float, float]]) -> RfmCutpoints:
    """From (days since last order, orders, revenue) of every buyer."""
    if not buyers:
        return RfmCutpoints()
    recency = sorted(b[0] for b in buyers)
    frequency = sorted(b[1] for b in buyers)
    monetary = sorted(b[2] for b in buyers)
    edges = RfmCutpoints(_quintiles(recency), _quintiles(frequency), _quintiles(monetary), buyers=len(buyers))
    counts = [0] * len(SCORES)
    for buyer in buyers:
        counts[_score(edges, *buyer) - SCORES.start] += 1
    return replace(edges, score_counts=tuple(counts))


def _quintiles(ordered: Sequence[float]) -> tuple[float, ...]:
    return tuple(_quantile(ordered, q / 5) for q in range(1, 5))


def _quantile(ordered: Sequence[float], share: float) -> float:
    index = min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))
    return float(ordered[index])


def _score(edges: RfmCutpoints, recency_days: float, orders: float, revenue: float) -> int:
    return sum(rfm_scores(edges, recency_days, orders, revenue))


def rfm_scores(edges: RfmCutpoints, recency_days: float, orders: float, revenue: float) -> tuple[int, int, int]:
    """(R, F, M), each 1..5: the quintile the value falls in (values on an edge take the lower one)."""
    recency = 5 - bisect.bisect_left(edges.recency_days, recency_days)
    frequency = 1 + bisect.bisect_left(edges.frequency, orders)
    monetary = 1 + bisect.bisect_left(edges.monetary, revenue)
    return recency, frequency, monetary


def percentile_rank(edges: RfmCutpoints, score: int) -> float:
    """Share of buyers below this score, counting those tied with it as half below."""
    total = sum(edges.score_counts)
    if not total or score not in SCORES:
        return 0.5
    index = score - SCORES.start
    return (sum(edges.score_counts[:index]) + edges.score_counts[index] / 2) / total


def tier(edges: RfmCutpoints, score: int) -> str:
    rank = percentile_rank(edges, score)
    if rank >= TIER_SHARES[1]:
        return "top"
    return "bottom" if rank < TIER_SHARES[0] else "middle"


def facts(profile: Profile | None, edges: RfmCutpoints, now: datetime) -> dict[str, Any]:
    """What audiences may ask about this shopper's history; empty for an unknown shopper."""
    if profile is None:
        return {}
    days = _days_since
    found: dict[str, Any] = {
        "orders": profile.orders,
        "revenue": round(profile.revenue, 2),
        "page_views": profile.page_views,
        "days_since_first_seen": days(profile.first_seen_at, now),
        "days_since_last_seen": days(profile.last_seen_at, now),
        "lifecycle": lifecycle(profile, now),
        "favourite_occasions": profile.favourite_occasions(),
        "favourite_categories": profile.favourite_categories(),
    }
    if profile.last_order_at is not None and profile.orders > 0:
        recency_days = days(profile.last_order_at, now)
        found["days_since_last_order"] = recency_days
        if edges.buyers:
            r, f, m = rfm_scores(edges, recency_days, profile.orders, profile.revenue)
            found.update({"rfm.recency": r, "rfm.frequency": f, "rfm.monetary": m, "rfm.score": r + f + m,
                          "rfm.tier": tier(edges, r + f + m)})  # fmt: skip
    return found


def _days_since(at: datetime, now: datetime) -> float:
    return round(max(0.0, (now - at).total_seconds() / 86_400), 2)


def request_facts(
    marketplace: str, locale: str | None, device: str | None, known: bool, attributes: Mapping[str, str]
) -> dict[str, Any]:
    """The storefront-supplied part of the shopper context (joined with the profile at resolve time)."""
    found: dict[str, Any] = {"marketplace": marketplace, "known": known}
    if locale:
        found["locale"] = locale
        found["language"] = locale.split("-")[0]
    if device:
        found["device"] = device
    found.update({f"attr.{name}": value for name, value in attributes.items()})
    return found
