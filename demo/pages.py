"""The demo store's pages: `home` and `birthday`, in US (English) and DE (German)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slots.postfilters import CatalogItem

_TEXT = {
    "US": {
        "home_title": "Gift cards for every occasion",
        "home_headline": "The gift they will actually use",
        "home_sub": "Gift cards from 40 brands, delivered in seconds.",
        "cta": "Shop gift cards",
        "occasions": "Shop by occasion",
        "for_you": "Picked for you",
        "trending": "Trending this week",
        "staff": "Staff favourites",
        "about_heading": "How it works",
        "about": "Choose a card, add a message and send it by email or print it at home.\n\n"
        "Cards never expire and can be used online or in store.",
        "bday_title": "Birthday gift cards",
        "bday_headline": "Make their day",
        "bday_headline_ideas": "Birthday ideas, picked for them",
        "bday_sub": "Birthday cards they will love, from brands they already like.",
        "bday_for_you": "Birthday ideas for you",
        "bday_popular": "Most given for birthdays",
        "bday_first": "New here? Start with these",
    },
    "DE": {
        "home_title": "Geschenkkarten für jeden Anlass",
        "home_headline": "Das Geschenk, das wirklich ankommt",
        "home_sub": "Geschenkkarten von 40 Marken, in Sekunden verschickt.",
        "cta": "Geschenkkarten ansehen",
        "occasions": "Nach Anlass stöbern",
        "for_you": "Für Sie ausgewählt",
        "trending": "Diese Woche beliebt",
        "staff": "Lieblinge unseres Teams",
        "about_heading": "So funktioniert es",
        "about": "Karte wählen, Nachricht schreiben und per E-Mail senden oder zu Hause ausdrucken.\n\n"
        "Die Karten verfallen nicht und gelten online und im Geschäft.",
        "bday_title": "Geschenkkarten zum Geburtstag",
        "bday_headline": "Machen Sie ihnen eine Freude",
        "bday_headline_ideas": "Geburtstagsideen, für sie ausgesucht",
        "bday_sub": "Geburtstagskarten von Marken, die sie schon mögen.",
        "bday_for_you": "Geburtstagsideen für Sie",
        "bday_popular": "Am häufigsten zum Geburtstag verschenkt",
        "bday_first": "Neu hier? Beginnen Sie hiermit",
    },
}

OCCASION_LINKS = (
    ("birthday", "Birthday"), ("wedding", "Wedding"), ("thank-you", "Thank you"),
    ("graduation", "Graduation"), ("baby", "New baby"), ("holidays", "Holidays"),
)  # fmt: skip


def curated_picks(catalog: Sequence[CatalogItem]) -> tuple[list[str], list[str]]:
    """The hand-picked items on the demo pages: (store-wide picks, birthday picks)."""
    picks = [c.item_id for c in catalog[::17]][:12]
    birthday = [c.item_id for c in catalog if "birthday" in c.occasions][::5][:12]
    return picks, birthday


def home_layout(marketplace: str, picks: list[str]) -> dict[str, Any]:
    t = _TEXT[marketplace]
    return {
        "schema_version": 1,
        "title": t["home_title"],
        "slots": [
            {"id": "hero", "type": "hero_banner", "settings": {
                "headline": t["home_headline"], "subheadline": t["home_sub"],
                "image_url": "/static/ui/demo/hero-home.svg", "image_alt": "Gift cards fanned out",
                "cta_label": t["cta"], "cta_url": "/shop"}},
            {"id": "occasions", "type": "occasion_links", "settings": {
                "title": t["occasions"],
                "links": [{"occasion": o, "label": label, "url": f"/occasions/{o}"} for o, label in OCCASION_LINKS]}},
            {"id": "for-you", "type": "recommendations", "settings": {
                "title": t["for_you"], "strategy": "personalized", "count": 8,
                "fallback": {"strategy": "popular"}}},
            {"id": "trending", "type": "recommendations", "settings": {
                "title": t["trending"], "strategy": "trending", "count": 6,
                "fallback": {"strategy": "popular", "items": picks[4:10]}}},
            {"id": "staff-picks", "type": "product_grid", "settings": {
                "title": t["staff"], "items": picks[:4], "columns": 4}},
            {"id": "about", "type": "rich_text", "settings": {
                "heading": t["about_heading"], "body": t["about"], "align": "left"}},
        ],
    }  # fmt: skip


def birthday_layout(marketplace: str, birthday_picks: list[str]) -> dict[str, Any]:
    t = _TEXT[marketplace]
    return {
        "schema_version": 1,
        "title": t["bday_title"],
        "slots": [
            {"id": "hero", "type": "hero_banner", "settings": {
                "headline": t["bday_headline"], "subheadline": t["bday_sub"],
                "image_url": "/static/ui/demo/hero-birthday.svg", "image_alt": "A birthday cake with candles"}},
            {"id": "first-gifts", "type": "product_grid", "visibility": {"audience": "new-customers"},
             "settings": {"title": t["bday_first"], "items": birthday_picks[:4], "columns": 4}},
            {"id": "birthday-for-you", "type": "recommendations", "settings": {
                "title": t["bday_for_you"], "strategy": "personalized", "count": 8,
                "filters": {"occasion": "birthday"},
                "fallback": {"strategy": "popular", "items": birthday_picks[4:12]}}},
            {"id": "birthday-popular", "type": "recommendations", "settings": {
                "title": t["bday_popular"], "strategy": "popular", "count": 6,
                "filters": {"occasion": "birthday"}, "fallback": {"items": birthday_picks[:8]}}},
            {"id": "bought-together", "type": "recommendations",
             "visibility": {"audience": "returning-customers"}, "settings": {
                "title": t["for_you"], "strategy": "bought_together", "count": 4,
                "filters": {"occasion": "birthday"}, "fallback": {"strategy": "trending"}}},
        ],
    }  # fmt: skip


def birthday_recs_first_layout(marketplace: str, birthday_picks: list[str]) -> dict[str, Any]:
    """The birthday page under test: an ideas headline, and the shopper's own recommendations
    above the curated "start with these" grid instead of below it."""
    layout = birthday_layout(marketplace, birthday_picks)
    slots = {slot["id"]: slot for slot in layout["slots"]}
    slots["hero"]["settings"]["headline"] = _TEXT[marketplace]["bday_headline_ideas"]
    order = ("hero", "birthday-for-you", "first-gifts", "birthday-popular", "bought-together")
    return {**layout, "slots": [slots[slot_id] for slot_id in order]}
