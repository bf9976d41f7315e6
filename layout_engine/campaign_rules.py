"""Occasion campaigns: parsing, time windows, choosing the live one and applying its effects, pure.

A campaign's window is what the marketer typed: local wall times in the campaign's
own IANA zone. `to_utc` turns them into the UTC instants the resolver compares
(start inclusive, end exclusive). A wall time the clocks skip (spring forward) is
refused; an ambiguous one (autumn, the hour that happens twice) means its FIRST
occurrence, so "until 02:30" on the autumn night ends at the earlier 02:30.

`parse_campaign` reads an API body into a frozen `Campaign` or a list of problems
named by JSON path, and never raises. `select_live` picks the one campaign a
shopper sees on a page (highest priority, then later start, then lower key);
`apply_effects` applies its patch and insert effects to a layout document
without mutating it. `overlaps` and `month_calendar` feed the scheduling screens.
"""

from __future__ import annotations

import calendar
import copy
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from core.input_rules import MAX_EFFECTS
from layout_engine.validation import Problem

KEY_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}\Z"
EFFECT_KINDS = ("replace", "patch", "insert")
STATUSES = ("scheduled", "live", "paused", "ended")

KEY = re.compile(KEY_PATTERN)
OCCASION = re.compile(r"^[a-z0-9][a-z0-9-]{0,49}\Z")
PAGE = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}\Z")  # as layout_engine.pages.SLUG (which imports SQLAlchemy)
SLOT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}\Z")  # as the layout schema's slot id
LOCAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?\Z")
WITH_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)\Z", re.IGNORECASE)
MAX_NAME, MAX_PRIORITY, DEFAULT_PRIORITY = 200, 1000, 100
KIND_FIELDS = {"replace": ("version",), "patch": ("slot_id", "settings"), "insert": ("slot", "position")}
EVERYONE = "everyone"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class LocalTimeError(ValueError):
    """A local wall time that does not exist in its zone (the clocks skip it when they spring forward)."""


def to_utc(local: datetime, zone: str) -> datetime:
    """The UTC instant a naive wall time in `zone` means.

    An ambiguous time (autumn fold) means its first occurrence: `local.fold` is ignored.
    Raises LocalTimeError for a time inside a spring-forward gap, ValueError for an aware
    `local`, an unknown zone or an instant outside datetime's range."""
    if local.tzinfo is not None:
        raise ValueError("to_utc takes a naive local wall time")
    tz = _zone(zone)
    try:
        instant = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"{local.isoformat()} in {zone} is out of range") from exc
    if instant.astimezone(tz).replace(tzinfo=None) != local:
        shown = local.isoformat(timespec="minutes")
        raise LocalTimeError(f"{shown} does not exist in {zone}: the clocks skip it; choose a time after the change")
    return instant


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown time zone '{name}'") from exc


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones() - {"localtime"})  # 'localtime' is whatever the server is set to


@dataclass(frozen=True)
class Window:
    """Aware UTC instants; the start is inclusive, the end exclusive, so back-to-back windows never overlap."""

    starts_at: datetime
    ends_at: datetime

    def contains(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at

    def overlaps(self, other: Window) -> bool:
        return self.starts_at < other.ends_at and other.starts_at < self.ends_at


@dataclass(frozen=True)
class Effect:
    """One change to one page: serve a layout version (replace), merge slot settings (patch) or add a slot (insert)."""

    page: str
    kind: str
    version: int | None = None
    slot_id: str | None = None
    settings: Mapping[str, Any] | None = field(default=None, hash=False)
    slot: Mapping[str, Any] | None = field(default=None, hash=False)
    position: int | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"page": self.page, "kind": self.kind}
        for name in KIND_FIELDS.get(self.kind, ()):
            value = getattr(self, name)
            if value is not None:
                out[name] = copy.deepcopy(dict(value)) if isinstance(value, Mapping) else value
        return out


@dataclass(frozen=True)
class Campaign:
    key: str
    name: str
    occasion: str
    marketplaces: tuple[str, ...]
    audience: str | None
    time_zone: str
    starts_local: datetime
    ends_local: datetime
    window: Window
    priority: int
    paused: bool
    effects: tuple[Effect, ...]

    def status(self, now: datetime) -> str:
        """One of STATUSES at the aware instant `now`; a paused campaign still ends."""
        if now >= self.window.ends_at:
            return "ended"
        if self.paused:
            return "paused"
        return "live" if now >= self.window.starts_at else "scheduled"

    def effects_for(self, page: str) -> tuple[Effect, ...]:
        return tuple(e for e in self.effects if e.page == page)

    def pages(self) -> frozenset[str]:
        return frozenset(e.page for e in self.effects)

    def replaces(self, page: str) -> bool:
        """Whether the campaign swaps this page's whole layout for a version."""
        return any(e.kind == "replace" for e in self.effects_for(page))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready and accepted back by `parse_campaign`; `window` holds the UTC instants."""
        return {
            "key": self.key, "name": self.name, "occasion": self.occasion,
            "marketplaces": list(self.marketplaces), "audience": self.audience, "time_zone": self.time_zone,
            "starts_at": local_text(self.starts_local), "ends_at": local_text(self.ends_local),
            "window": {"starts_at": _utc_text(self.window.starts_at), "ends_at": _utc_text(self.window.ends_at)},
            "priority": self.priority, "paused": self.paused, "effects": [e.as_dict() for e in self.effects],
        }  # fmt: skip


def local_text(local: datetime) -> str:
    """'YYYY-MM-DDTHH:MM', with ':SS' only when the marketer gave seconds (so the value survives a round trip)."""
    return local.isoformat(timespec="seconds" if local.second else "minutes")


def _utc_text(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_campaign(
    body: Any, known_audiences: Collection[str], marketplaces: Collection[str]
) -> tuple[Campaign | None, list[Problem]]:
    """A campaign from an API body, or every problem in it named by JSON path (in body order); never raises."""
    if not isinstance(body, Mapping):
        return None, [Problem("", "a JSON object describing the campaign")]
    problems: list[Problem] = []
    key = _matching(body, "key", KEY, "lower-case letters, digits and dashes, at most 63", problems)
    name = _name(body.get("name"), problems)
    occasion = _matching(body, "occasion", OCCASION, "lower-case letters, digits and dashes, at most 50", problems)
    markets = _marketplaces(body.get("marketplaces"), marketplaces, problems)
    audience = _audience(body.get("audience"), known_audiences, problems)
    zone = _time_zone(body.get("time_zone"), problems)
    starts_local = _local_time(body, "starts_at", zone, problems)
    ends_local = _local_time(body, "ends_at", zone, problems)
    window = _window(starts_local, ends_local, zone, problems)
    priority = _integer(body.get("priority"), "/priority", problems, 0, MAX_PRIORITY, DEFAULT_PRIORITY)
    paused = _paused(body.get("paused"), problems)
    effects = _effects(body.get("effects"), problems)
    if problems or zone is None or window is None or starts_local is None or ends_local is None:
        return None, problems
    campaign = Campaign(key, name, occasion, markets, audience, zone, starts_local, ends_local, window,
                        priority, paused, effects)  # fmt: skip
    return campaign, []


def _matching(body: Mapping[str, Any], name: str, pattern: re.Pattern[str], hint: str, problems: list[Problem]) -> str:
    raw = body.get(name)
    if isinstance(raw, str) and pattern.fullmatch(raw):
        return raw
    problems.append(Problem(f"/{name}", "required" if raw is None else hint))
    return ""


def _name(raw: Any, problems: list[Problem]) -> str:
    if not isinstance(raw, str) or not 1 <= len(raw.strip()) <= MAX_NAME:
        problems.append(Problem("/name", f"required: text of 1 to {MAX_NAME} characters"))
        return ""
    return raw.strip()


def _marketplaces(raw: Any, allowed: Collection[str], problems: list[Problem]) -> tuple[str, ...]:
    if not isinstance(raw, list | tuple) or not raw:
        problems.append(Problem("/marketplaces", f"a non-empty list of {', '.join(sorted(allowed))}"))
        return ()
    for i, code in enumerate(raw):
        if not isinstance(code, str) or code not in allowed:
            problems.append(Problem(f"/marketplaces/{i}", f"unknown marketplace (known: {', '.join(sorted(allowed))})"))
        elif code in raw[:i]:
            problems.append(Problem(f"/marketplaces/{i}", f"'{code}' is listed twice"))
    return tuple(raw)


def _audience(raw: Any, known: Collection[str], problems: list[Problem]) -> str | None:
    if raw is None or raw == "":  # an empty form field means everyone, as in experiments.definition
        return None
    if not isinstance(raw, str) or raw not in known:
        problems.append(Problem("/audience", f"null (everyone) or a known audience: {', '.join(sorted(known))}"))
        return None
    return raw


def _time_zone(raw: Any, problems: list[Problem]) -> str | None:
    if not isinstance(raw, str) or raw not in _zone_names():
        problems.append(Problem("/time_zone", "an IANA time zone such as Europe/Berlin or America/New_York"))
        return None
    return raw


def _local_time(body: Mapping[str, Any], name: str, zone: str | None, problems: list[Problem]) -> datetime | None:
    raw, where = body.get(name), zone or "the campaign's time_zone"
    if isinstance(raw, str) and LOCAL_TIME.fullmatch(raw):
        try:
            return datetime.fromisoformat(raw)
        except ValueError:
            message = f"not a real date and time: {raw}"
    elif isinstance(raw, str) and WITH_OFFSET.fullmatch(raw.strip()):
        message = f"give the wall time without an offset or Z: the time is local to time_zone ({where})"
    else:
        message = f"required: a wall time like 2026-05-01T00:00 (seconds optional), local to time_zone ({where})"
    problems.append(Problem(f"/{name}", message))
    return None


def _window(starts: datetime | None, ends: datetime | None, zone: str | None, problems: list[Problem]) -> Window | None:
    if zone is None:
        return None
    start, end = _instant(starts, zone, "/starts_at", problems), _instant(ends, zone, "/ends_at", problems)
    if start is None or end is None:
        return None
    if end <= start:
        problems.append(Problem("/ends_at", "must be after starts_at"))
        return None
    return Window(start, end)


def _instant(local: datetime | None, zone: str, path: str, problems: list[Problem]) -> datetime | None:
    if local is None:
        return None
    try:
        return to_utc(local, zone)
    except ValueError as exc:  # LocalTimeError names the zone and the skipped time
        problems.append(Problem(path, str(exc)))
        return None


def _integer(raw: Any, path: str, problems: list[Problem], low: int, high: int | None, default: int) -> int:
    if raw is None:
        return default
    is_integer = not isinstance(raw, bool) and isinstance(raw, int | float) and float(raw).is_integer()
    if not is_integer or raw < low or (high is not None and raw > high):
        problems.append(Problem(path, f"an integer from {low}" + (f" to {high}" if high is not None else " up")))
        return default
    return int(raw)


def _paused(raw: Any, problems: list[Problem]) -> bool:
    if raw is None or isinstance(raw, bool):
        return bool(raw)
    problems.append(Problem("/paused", "true or false"))
    return False


def _effects(raw: Any, problems: list[Problem]) -> tuple[Effect, ...]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_EFFECTS:
        problems.append(Problem("/effects", f"required: a list of 1 to {MAX_EFFECTS} effects"))
        return ()
    parsed = [(i, _effect(item, i, problems)) for i, item in enumerate(raw)]
    effects = [(i, e) for i, e in parsed if e is not None]
    problems.extend(_conflicts(effects))
    return tuple(e for _, e in effects)


def _effect(raw: Any, index: int, problems: list[Problem]) -> Effect | None:
    at, before = f"/effects/{index}", len(problems)
    if not isinstance(raw, Mapping):
        problems.append(Problem(at, 'an object like {"page": "home", "kind": "patch", ...}'))
        return None
    page, kind = raw.get("page"), raw.get("kind")
    if not isinstance(page, str) or not PAGE.fullmatch(page):
        problems.append(Problem(f"{at}/page", "required: a page slug (lower-case letters, digits and dashes)"))
    if kind not in EFFECT_KINDS:
        problems.append(Problem(f"{at}/kind", f"required: one of {', '.join(EFFECT_KINDS)}"))
        return None
    for name in {f for fields in KIND_FIELDS.values() for f in fields} - set(KIND_FIELDS[kind]):
        if raw.get(name) is not None:
            problems.append(Problem(f"{at}/{name}", f"not used by a {kind} effect"))
    fields = _KIND_READERS[kind](raw, at, problems)
    return Effect(str(page), str(kind), **fields) if len(problems) == before else None


def _replace_fields(raw: Mapping[str, Any], at: str, problems: list[Problem]) -> dict[str, Any]:
    version = raw.get("version")
    if version is None:
        problems.append(Problem(f"{at}/version", "required: the layout version number to serve"))
    return {"version": _integer(version, f"{at}/version", problems, 1, None, 1)}


def _patch_fields(raw: Mapping[str, Any], at: str, problems: list[Problem]) -> dict[str, Any]:
    slot_id, settings = raw.get("slot_id"), raw.get("settings")
    if not isinstance(slot_id, str) or not SLOT_ID.fullmatch(slot_id):
        problems.append(Problem(f"{at}/slot_id", "required: the id of the slot to change"))
    if not isinstance(settings, Mapping) or not settings:
        problems.append(Problem(f"{at}/settings", "required: a non-empty object of settings to merge into the slot"))
        settings = {}
    return {"slot_id": slot_id, "settings": copy.deepcopy(dict(settings))}


def _insert_fields(raw: Mapping[str, Any], at: str, problems: list[Problem]) -> dict[str, Any]:
    slot, position = raw.get("slot"), raw.get("position")
    position = None if position is None else _integer(position, f"{at}/position", problems, 0, None, 0)
    if not isinstance(slot, Mapping):
        problems.append(Problem(f"{at}/slot", 'required: a slot like {"id": "...", "type": "...", "settings": {}}'))
        return {"slot": None, "position": position}
    if not isinstance(slot.get("id"), str) or not SLOT_ID.fullmatch(slot["id"]):
        problems.append(Problem(f"{at}/slot/id", "required: lower-case letters, digits, - and _ (at most 64)"))
    if not isinstance(slot.get("type"), str) or not slot["type"]:
        problems.append(Problem(f"{at}/slot/type", "required: a slot type"))
    if not isinstance(slot.get("settings"), Mapping):
        problems.append(Problem(f"{at}/slot/settings", "required: an object"))
    return {"slot": copy.deepcopy(dict(slot)), "position": position}


_KIND_READERS: Mapping[str, Callable[[Mapping[str, Any], str, list[Problem]], dict[str, Any]]] = {
    "replace": _replace_fields, "patch": _patch_fields, "insert": _insert_fields,
}  # fmt: skip


def _conflicts(effects: Sequence[tuple[int, Effect]]) -> list[Problem]:
    """A replace serves a whole version, so it stands alone on its page; each inserted slot id once per page."""
    found: list[Problem] = []
    replaces: dict[str, int] = {}
    others: dict[str, int] = {}
    inserted: dict[tuple[str, str], int] = {}
    for i, effect in effects:
        at, page = f"/effects/{i}", effect.page
        if effect.kind == "replace" and page in replaces:
            found.append(Problem(at, f"page '{page}' already has a replace effect at /effects/{replaces[page]}"))
        elif effect.kind == "replace" and page in others:
            found.append(
                Problem(at, f"a replace on '{page}' cannot be combined with the effect at /effects/{others[page]}")
            )
        elif effect.kind != "replace" and page in replaces:
            found.append(
                Problem(at, f"page '{page}' is replaced by /effects/{replaces[page]}; patch that version instead")
            )
        if effect.kind == "insert" and effect.slot is not None:
            slot_key = (page, str(effect.slot.get("id")))
            if slot_key in inserted:
                found.append(Problem(f"{at}/slot/id", f"already inserted on '{page}' by /effects/{inserted[slot_key]}"))
            inserted.setdefault(slot_key, i)
        (replaces if effect.kind == "replace" else others).setdefault(page, i)
    return found


def _rank(campaign: Campaign) -> tuple[int, timedelta, str]:
    """select_live's order, best first: higher priority, then the later start, then the lower key."""
    return (-campaign.priority, _EPOCH - campaign.window.starts_at, campaign.key)


def select_live(
    campaigns: Iterable[Campaign], page: str, marketplace: str, now: datetime, is_member: Callable[[str], bool]
) -> Campaign | None:
    """The one campaign that changes this page for this shopper now; `is_member` is asked lazily, best first."""
    candidates = [
        c for c in campaigns if c.status(now) == "live" and marketplace in c.marketplaces and c.effects_for(page)
    ]
    return next((c for c in sorted(candidates, key=_rank) if c.audience is None or is_member(c.audience)), None)


def apply_effects(document: Mapping[str, Any], effects: Sequence[Effect]) -> dict[str, Any]:
    """A new document with the patch and insert effects applied in order (pass `campaign.effects_for(page)`).

    A patch for a slot no longer on the page, and an insert whose slot id is already there, are skipped.
    Replace effects are ignored: the caller serves the replaced version's document instead.

    Copy on write: the result shares every slot it does not change with `document` (which is the
    cached published document, never mutated by anyone), and copies the page, its slot list and
    each patched slot. A deep copy of the whole page per request was 13% of a resolve's CPU."""
    out = dict(document)
    if "slots" in out or any(effect.kind in ("patch", "insert") for effect in effects):
        out["slots"] = list(out.get("slots") or [])
    for effect in effects:
        slots = out["slots"] if effect.kind in ("patch", "insert") else []
        ids = [s.get("id") if isinstance(s, Mapping) else None for s in slots]
        if effect.kind == "patch" and effect.slot_id in ids:
            index = ids.index(effect.slot_id)
            slot = dict(slots[index])
            current = slot.get("settings")
            slot["settings"] = _merged(current if isinstance(current, Mapping) else {}, effect.settings or {})
            slots[index] = slot
        elif effect.kind == "insert" and effect.slot is not None and effect.slot.get("id") not in ids:
            position = len(slots) if effect.position is None else max(0, min(effect.position, len(slots)))
            slots.insert(position, copy.deepcopy(dict(effect.slot)))
    return out


def _merged(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Nested objects merge key by key; any other value (lists, null included) replaces."""
    out = dict(base)
    for name, value in changes.items():
        both_objects = isinstance(value, Mapping) and isinstance(out.get(name), Mapping)
        out[name] = _merged(out[name], value) if both_objects else copy.deepcopy(value)
    return out


@dataclass(frozen=True)
class Overlap:
    other: str
    pages: tuple[str, ...]
    marketplaces: tuple[str, ...]
    wins: bool


def overlaps(
    campaign: Campaign, others: Iterable[Campaign],
    audiences_meet: Callable[[str | None, str | None], bool] | None = None,
) -> list[Overlap]:  # fmt: skip
    """Campaigns that could compete with `campaign` for a shopper (by key), for the scheduling warning.

    Only windows count (paused or ended ones too). Audiences may overlap when equal or when either is
    everyone (None or 'everyone'); whether two different named audiences share shoppers is for
    `audiences_meet` to say (by default they are taken not to)."""
    meet = audiences_meet or _audiences_meet
    found = []
    for other in sorted(others, key=lambda c: c.key):
        pages = campaign.pages() & other.pages()
        markets = set(campaign.marketplaces) & set(other.marketplaces)
        if other.key == campaign.key or not pages or not markets or not campaign.window.overlaps(other.window):
            continue
        if _audiences_meet(campaign.audience, other.audience) or meet(campaign.audience, other.audience):
            wins = _rank(campaign) < _rank(other)
            found.append(Overlap(other.key, tuple(sorted(pages)), tuple(sorted(markets)), wins))
    return found


def _audiences_meet(a: str | None, b: str | None) -> bool:
    return a == b or a in (None, EVERYONE) or b in (None, EVERYONE)


@dataclass(frozen=True)
class CalendarDay:
    date: date
    in_month: bool
    campaigns: tuple[str, ...]


def month_calendar(year: int, month: int, campaigns: Iterable[Campaign], zone: str) -> list[list[CalendarDay]]:
    """Monday-first weeks covering the month; each day lists (by start, then key) the campaigns whose
    window touches any moment of that local day in `zone`. Raises ValueError for an unknown zone."""
    tz = _zone(zone)
    ordered = sorted(campaigns, key=lambda c: (c.window.starts_at, c.key))
    weeks = calendar.Calendar(calendar.MONDAY).monthdatescalendar(year, month)
    return [[_calendar_day(day, month, ordered, tz) for day in week] for week in weeks]


def _calendar_day(day: date, month: int, campaigns: Sequence[Campaign], tz: ZoneInfo) -> CalendarDay:
    span = Window(_day_start(day, tz), _day_start(day + timedelta(days=1), tz))
    return CalendarDay(day, day.month == month, tuple(c.key for c in campaigns if c.window.overlaps(span)))


def _day_start(day: date, tz: ZoneInfo) -> datetime:
    """The day's first instant. Where midnight is skipped (e.g. America/Santiago), fold=0 reads it with
    the offset before the change, which lands exactly on the change: still the day's first instant."""
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)
