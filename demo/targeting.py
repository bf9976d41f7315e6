"""The demo's audiences and occasion campaigns, and the shoppers who make every audience real.

Audiences (stored, as a marketer would define them): `new-shoppers`, `returning-shoppers`,
`high-value`, `dormant` and `mobile-gift-hunters` (a request attribute joined with the profile).

Campaigns, in each marketplace's own time zone (US: America/New_York, DE: Europe/Berlin):

- `holidays-us`, `holidays-de` (live): the home hero and a holiday-only trending row;
- `store-birthday-de` (scheduled, for `returning-shoppers`, priority 200): two pages at once, a
  new home hero and an inserted birthday row on home, and a party edition of the birthday page
  (version 2, saved here and not published) in place of the published one;
- `thank-you-week-us` (ended): a hero and an inserted thank-you row on home.

Windows sit around the seed time, not on the real calendar, so a freshly seeded store always
shows one campaign of each status. The birthday week overlaps the holidays in DE for its first
three days: priority gives returning shoppers the birthday week, everyone else the holidays.

Why extra shoppers: the generator's histories span its last 120 days, evenly, so nobody has
been away for the 90 days `dormant` needs, nor arrived within the 30 days `new` needs. Three
small cohorts (`max(10, n_shoppers // 50)` shoppers each, named by cohort) fill those stages:
`lapsed-N` visited 100-300 days ago, `newcomer-N` first came within the last three weeks (at
most one order), `comeback-N` left for months and came back in the last 20 days. Their
histories are storefront events sent through `shoppers.ingest.ingest`, the events API's own
path, so their profiles are folded exactly as live traffic's are. `cohort_events` is pure.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from core.vocabulary import MARKETPLACES
from demo.pages import birthday_recs_first_layout, curated_picks
from layout_engine import audience_service, campaign_service, pages
from shoppers.ingest import ingest
from slots.postfilters import CatalogItem

ACTOR = "demo-seed"
BATCH = 250  # events per ingestion batch, as a storefront would send them
DEMO_MARKETPLACES = ("US", "DE")  # the demo store sells in two of core.vocabulary.MARKETPLACES
ZONES = {code: MARKETPLACES[code].time_zone for code in DEMO_MARKETPLACES}

AUDIENCES: tuple[dict[str, Any], ...] = (
    {"key": "new-shoppers", "name": "New shoppers",
     "description": "First seen within the last 30 days, at most one order.",
     "rule": {"attribute": "lifecycle", "op": "eq", "value": "new"}},
    {"key": "returning-shoppers", "name": "Returning shoppers",
     "description": "Have ordered, and are still (or again) around: not new, not dormant.",
     "rule": {"all": [{"attribute": "orders", "op": "gte", "value": 1},
                      {"attribute": "lifecycle", "op": "in", "value": ["active", "re-engaged"]}]}},
    {"key": "high-value", "name": "High-value shoppers",
     "description": "The top 20% of buyers by RFM score (recency, frequency, spend).",
     "rule": {"attribute": "rfm.tier", "op": "eq", "value": "top"}},
    {"key": "dormant", "name": "Dormant shoppers", "description": "Not seen for more than 90 days.",
     "rule": {"attribute": "lifecycle", "op": "eq", "value": "dormant"}},
    {"key": "mobile-gift-hunters", "name": "Mobile birthday gift hunters",
     "description": "On a phone now, and birthdays are among their favourite occasions.",
     "rule": {"all": [{"attribute": "device", "op": "eq", "value": "mobile"},
                      {"attribute": "favourite_occasions", "op": "contains", "value": "birthday"}]}},
)  # fmt: skip


@dataclass(frozen=True)
class TargetingReport:
    audiences: tuple[str, ...]
    campaigns: tuple[tuple[str, str], ...]  # (key, status at seed time)
    shoppers: int  # in the extra cohorts
    events: int
    warnings: tuple[str, ...] = ()  # overlap warnings from scheduling, as the UI shows them


def seed_targeting(
    session: Session, catalog: Sequence[CatalogItem], now: datetime, n_shoppers: int, seed_value: int = 7
) -> TargetingReport:
    """The cohorts' events, then the audiences, then the campaigns (which name the audiences and pages)."""
    events = cohort_events(catalog, now, max(10, n_shoppers // 50), seed_value)
    for start in range(0, len(events), BATCH):
        report = ingest(session, events[start : start + BATCH], now)
        if report.rejected:
            raise ValueError(f"demo cohort events refused: {report.rejected[:3]}")
    session.commit()
    for body in AUDIENCES:
        audience_service.create_audience(session, body, ACTOR)
    party = _save_party_birthday_page(session, catalog)
    created, warnings = [], []
    for body in campaign_bodies(now, catalog, party):
        info, overlaps = campaign_service.create_campaign(session, body, ACTOR)
        created.append((info.key, info.status(now)))
        warnings += [f"{info.key}: {w['message']}" for w in overlaps]
    shoppers = len({e["user_id"] for e in events})
    return TargetingReport(tuple(a["key"] for a in AUDIENCES), tuple(created), shoppers, len(events), tuple(warnings))


def _save_party_birthday_page(session: Session, catalog: Sequence[CatalogItem]) -> int:
    """Version 2 of the DE birthday page, saved for the birthday-week campaign to serve; not published."""
    layout = birthday_recs_first_layout("DE", curated_picks(catalog)[1])
    hero = layout["slots"][0]
    hero["settings"] = {
        **hero["settings"],
        "headline": "Wir werden 10: feiern Sie mit",
        "subheadline": "Geburtstagskarten für alle, die mitfeiern, von Marken, die sie mögen.",
    }
    page = pages.get_page(session, "birthday", "DE")
    saved = pages.save_version(session, page, layout, "Birthday week: party edition", ACTOR,
                               audience_service.known_keys(session))  # fmt: skip
    return saved.number


# ----------------------------------------------------------------------------- campaigns


def _local_midnight(now: datetime, zone: str, days: int) -> str:
    """'YYYY-MM-DDT00:00' of the local day `days` after today in `zone`: a campaign's wall time."""
    day = now.astimezone(ZoneInfo(zone)).date() + timedelta(days=days)
    return f"{day.isoformat()}T00:00"


def _window(marketplace: str, now: datetime, first_day: int, end_day: int) -> dict[str, str]:
    zone = ZONES[marketplace]
    return {"time_zone": zone, "starts_at": _local_midnight(now, zone, first_day),
            "ends_at": _local_midnight(now, zone, end_day)}  # fmt: skip


def _hero(headline: str, subheadline: str, cta_label: str, occasion: str) -> dict[str, Any]:
    return {"page": "home", "kind": "patch", "slot_id": "hero",
            "settings": {"headline": headline, "subheadline": subheadline, "cta_label": cta_label,
                         "cta_url": f"/occasions/{occasion}"}}  # fmt: skip


def _row(slot_id: str, title: str, strategy: str, occasion: str, position: int, items: list[str]) -> dict[str, Any]:
    settings = {"title": title, "strategy": strategy, "count": 6, "filters": {"occasion": occasion},
                "fallback": {"strategy": "popular", "items": items}}  # fmt: skip
    return {"page": "home", "kind": "insert", "position": position,
            "slot": {"id": slot_id, "type": "recommendations", "settings": settings}}  # fmt: skip


def campaign_bodies(now: datetime, catalog: Sequence[CatalogItem], party_version: int) -> list[dict[str, Any]]:
    """The demo campaigns as API bodies: live holidays (US, DE), a scheduled DE birthday week, an ended
    US thank-you week."""
    by_occasion = {o: [c.item_id for c in catalog if o in c.occasions][:8] for o in ("holidays", "thank-you")}
    birthday_picks = curated_picks(catalog)[1]
    holiday_row = {"filters": {"occasion": "holidays"}, "fallback": {"items": by_occasion["holidays"]}}
    return [
        {"key": "holidays-us", "name": "Holidays (US)", "occasion": "holidays", "marketplaces": ["US"],
         "audience": None, **_window("US", now, -2, 12), "priority": 100, "effects": [
             _hero("Happy holidays: the gift that arrives in seconds",
                   "Holiday gift cards from 40 brands, by email or printed at home.", "Shop holiday gifts", "holidays"),
             {"page": "home", "kind": "patch", "slot_id": "trending",
              "settings": {"title": "Trending holiday gifts", **holiday_row}}]},
        {"key": "holidays-de", "name": "Holidays (DE)", "occasion": "holidays", "marketplaces": ["DE"],
         "audience": None, **_window("DE", now, -2, 12), "priority": 100, "effects": [
             _hero("Frohe Festtage: das Geschenk, das in Sekunden ankommt",
                   "Geschenkkarten zum Fest von 40 Marken, per E-Mail oder zum Ausdrucken.",
                   "Festtagsgeschenke ansehen", "holidays"),
             {"page": "home", "kind": "patch", "slot_id": "trending",
              "settings": {"title": "Beliebt zu den Festtagen", **holiday_row}}]},
        {"key": "store-birthday-de", "name": "Our 10th birthday, for returning shoppers (DE)",
         "occasion": "birthday", "marketplaces": ["DE"], "audience": "returning-shoppers",
         **_window("DE", now, 9, 16), "priority": 200, "effects": [
             _hero("Wir werden 10: danke, dass Sie wiederkommen", "Zum Geburtstag: Geschenkideen, die zu Ihnen passen.",
                   "Geburtstagsideen ansehen", "birthday"),
             _row("birthday-week", "Zum Feiern: Geburtstagsideen für Sie", "personalized", "birthday", 1,
                  birthday_picks[:6]),
             {"page": "birthday", "kind": "replace", "version": party_version}]},
        {"key": "thank-you-week-us", "name": "Thank-you week (US)", "occasion": "thank-you", "marketplaces": ["US"],
         "audience": None, **_window("US", now, -12, -5), "priority": 100, "effects": [
             _hero("Thank-you week: say it with a gift card", "Small thanks, big smiles: cards from $10.",
                   "Shop thank-you cards", "thank-you"),
             _row("thank-you-picks", "Ways to say thank you", "popular", "thank-you", 2, by_occasion["thank-you"])]},
    ]  # fmt: skip


# ----------------------------------------------------------------------------- cohorts (pure)


@dataclass(frozen=True)
class Cohort:
    """Shoppers named `<name>-N`: visits in each (oldest, newest) span of days ago, with a count range."""

    name: str
    spans: tuple[tuple[float, float, int, int], ...]  # (oldest days ago, newest days ago, min visits, max visits)
    order_share: float
    max_orders: int


COHORTS = (
    Cohort("lapsed", ((300, 100, 2, 6),), order_share=0.4, max_orders=5),
    Cohort("newcomer", ((21, 0.05, 1, 4),), order_share=0.3, max_orders=1),
    Cohort("comeback", ((280, 150, 2, 4), (20, 0.05, 1, 3)), order_share=0.45, max_orders=5),
)


def cohort_events(
    catalog: Sequence[CatalogItem], now: datetime, per_cohort: int, seed: int = 7
) -> list[dict[str, Any]]:
    """Raw storefront events (the events API's shape) for every cohort's shoppers, oldest first."""
    rng = random.Random(f"demo-targeting-{seed}")
    by_occasion: dict[str, list[CatalogItem]] = {}
    for item in catalog:
        for occasion in item.occasions:
            by_occasion.setdefault(occasion, []).append(item)
    events = [
        event
        for cohort in COHORTS
        for n in range(1, per_cohort + 1)
        for event in _shopper_events(rng, f"{cohort.name}-{n}", cohort, catalog, by_occasion, now)
    ]
    return sorted(events, key=lambda e: e["occurred_at"])


def _shopper_events(
    rng: random.Random, user: str, cohort: Cohort, catalog: Sequence[CatalogItem],
    by_occasion: Mapping[str, list[CatalogItem]], now: datetime,
) -> list[dict[str, Any]]:  # fmt: skip
    """Visits: a page view, one to three clicks mostly on the shopper's favourite occasion, and
    sometimes an add-to-cart and a one-item order of the last card clicked."""
    favourite = rng.choice(sorted(by_occasion))
    marketplace = rng.choice(sorted(ZONES))
    visits = sorted(
        now - timedelta(days=rng.uniform(newest, oldest))
        for oldest, newest, low, high in cohort.spans
        for _ in range(rng.randint(low, high))
    )
    out: list[dict[str, Any]] = []
    orders = 0
    for v, at in enumerate(visits):
        page = "birthday" if favourite == "birthday" and rng.random() < 0.5 else "home"
        out.append(_event(user, v, 0, "page_view", at, page=page))
        clicked = [
            rng.choice(by_occasion[favourite] if rng.random() < 0.7 else catalog) for _ in range(rng.randint(1, 3))
        ]
        for k, item in enumerate(clicked, start=1):
            out.append(_event(user, v, k, "click", at + timedelta(seconds=30 * k), page=page, item=item.item_id))
        if orders < cohort.max_orders and rng.random() < cohort.order_share:
            orders += 1
            item = clicked[-1]
            out.append(_event(user, v, 8, "add_to_cart", at + timedelta(minutes=3), page=page, item=item.item_id))
            order = {
                "order_id": f"ord-{user}-{v}",
                "revenue": item.price,
                "currency": MARKETPLACES[marketplace].currency,
            }
            out.append({**_event(user, v, 9, "order", at + timedelta(minutes=5), item=item.item_id), **order})
    return out


def _event(
    user: str, visit: int, step: int, kind: str, at: datetime, page: str | None = None, item: str | None = None
) -> dict[str, Any]:
    event = {"event_id": f"{user}-{visit:02d}-{step}", "type": kind, "user_id": user,
             "occurred_at": at.replace(microsecond=0).isoformat().replace("+00:00", "Z")}  # fmt: skip
    if page:
        event["page"] = page
    if item:
        event["item_id"] = item
    return event
