"""The campaign form and the campaign API body, both ways, pure.

The form names its effect rows by a number that only grows (`effect` lists them in
order; `e3.page`, `e3.kind`, `e3.s.headline`, ...), so rows added by htmx never
collide with rows already on the page. A row without a page is the blank one the
form always ends with and is left out; so is a row whose `e<n>.remove` box is
ticked (the no-JavaScript way to remove one). Settings are read with the slot
type's schema (`config_ui.forms`); without a known schema they are a JSON text.

Service errors come back by JSON path in the body (`/effects/1/slot_id`), and
`place_errors` moves each to the field and row it belongs to. Text that is not a
number is passed on as typed, so the service names it at its field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from config_ui import forms
from core import vocabulary
from layout_engine.campaign_rules import Campaign

# Suggestions only: a campaign may name its own occasion (black-friday, spring), see campaign_rules.OCCASION.
OCCASIONS = vocabulary.OCCASIONS
TIME_ZONES = (
    "UTC", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Berlin", "Europe/Paris", "Europe/Madrid",
    "Europe/Rome", "Europe/Amsterdam", "Europe/Brussels", "Europe/Vienna", "Europe/Zurich", "Europe/Stockholm",
    "Europe/Warsaw", "Europe/Athens", "Europe/Istanbul", "America/New_York", "America/Chicago", "America/Denver",
    "America/Los_Angeles", "America/Toronto", "America/Mexico_City", "America/Sao_Paulo", "Asia/Dubai",
    "Asia/Kolkata", "Asia/Singapore", "Asia/Shanghai", "Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland",
)  # fmt: skip
TOP_FIELDS = ("key", "name", "occasion", "audience", "time_zone", "starts_at", "ends_at", "priority")
ROW_FIELDS = ("page", "kind", "version", "slot_id", "position", "slot_type", "new_slot_id")
# Where an effect's error lands in its row: the JSON path after /effects/<i>.
ROW_PLACES = {"/page": "page", "/kind": "kind", "/version": "version", "/slot_id": "slot_id", "/position": "position",
              "/slot/id": "new_slot_id", "/slot/type": "slot_type", "/settings": "settings", "/slot": "settings",
              "/slot/settings": "settings"}  # fmt: skip
SETTINGS_PATH = re.compile(r"^/(?:slot/)?settings(/.+)\Z")
EFFECT_PATH = re.compile(r"^/effects/(\d+)(/.*)?\Z")
FIRST_YEAR, LAST_YEAR = 2000, 2199  # the calendar's range: month 9999-12 overflowed its last week
MONTH = re.compile(r"^(\d{4})-(\d{2})\Z")


@dataclass(frozen=True)
class EffectRow:
    """One effect as the form holds it: text as typed, settings as read with their schema."""

    id: int
    page: str = ""
    kind: str = "patch"
    version: str = ""
    slot_id: str = ""
    position: str = ""
    slot_type: str = ""
    new_slot_id: str = ""
    settings: Mapping[str, Any] = field(default_factory=dict)
    settings_text: str = ""  # the JSON typed when no schema is known
    settings_problem: str = ""

    @property
    def is_blank(self) -> bool:
        return not self.page

    @property
    def prefix(self) -> str:
        return f"e{self.id}."

    def as_effect(self) -> dict[str, Any]:
        """The API body's effect; blank optional fields are left out, other text passed on as typed."""
        effect: dict[str, Any] = {"page": self.page, "kind": self.kind}
        settings: Any = self.settings_text if self.settings_problem else dict(self.settings)
        if self.kind == "replace":
            effect["version"] = _number(self.version)
        elif self.kind == "patch":
            effect.update(slot_id=self.slot_id or None, settings=settings)
        elif self.kind == "insert":
            effect["slot"] = {"id": self.new_slot_id, "type": self.slot_type, "settings": settings}
            effect["position"] = _number(self.position)
        return effect


@dataclass(frozen=True)
class PlacedErrors:
    """Service errors by where the form shows them."""

    fields: dict[str, str] = field(default_factory=dict)  # top-level field name → message
    rows: dict[int, dict[str, str]] = field(default_factory=dict)  # row id → row field (or "row") → message
    settings: dict[int, dict[str, str]] = field(default_factory=dict)  # row id → settings JSON pointer → message
    unplaced: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.fields or self.rows or self.settings or self.unplaced)


# --- form → rows → body ----------------------------------------------------------------------------------------


def row_ids(form: Mapping[str, Any]) -> list[int]:
    """The effect rows in the order the form lists them."""
    raw = form.getlist("effect") if hasattr(form, "getlist") else []
    ids = [int(v) for v in raw if str(v).isascii() and str(v).isdecimal()]
    return list(dict.fromkeys(ids))


def next_row_id(form: Mapping[str, Any]) -> int:
    return max(row_ids(form), default=-1) + 1


def read_row(form: Mapping[str, Any], row_id: int) -> EffectRow:
    """A row's own fields; its settings need the schema (`with_settings`)."""
    page, kind, version, slot_id, position, slot_type, new_slot_id = (
        str(form.get(f"e{row_id}.{name}", "")).strip() for name in ROW_FIELDS
    )
    return EffectRow(row_id, page, kind or "patch", version, slot_id, position, slot_type, new_slot_id)


def read_rows(form: Mapping[str, Any]) -> list[EffectRow]:
    """Rows still in the form: those ticked for removal are gone."""
    return [read_row(form, i) for i in row_ids(form) if not form.get(f"e{i}.remove")]


def with_settings(row: EffectRow, form: Mapping[str, Any], schema: Mapping[str, Any] | None) -> EffectRow:
    """The row with its settings: schema fields when the slot type is known, else the JSON text."""
    if schema is not None:
        own = {k[len(row.prefix) :]: v for k, v in form.items() if k.startswith(row.prefix + forms.PREFIX + ".")}
        return replace(row, settings=forms.parse(schema, own))
    text = str(form.get(row.prefix + "settings_json", "")).strip()
    if not text:
        return row
    try:
        settings = json.loads(text)
    except ValueError as exc:
        return replace(row, settings_text=text, settings_problem=f"not valid JSON: {exc}")
    if not isinstance(settings, dict):
        return replace(row, settings_text=text, settings_problem='an object like {"headline": "..."}')
    return replace(row, settings=settings, settings_text=text)


def body_of(form: Mapping[str, Any], rows: Sequence[EffectRow], key: str | None = None,
            default_zone: str = "") -> dict[str, Any]:  # fmt: skip
    """The create/update body the campaign service takes; `key` is the campaign's own when editing, and
    `default_zone` (the first marketplace's) stands in for a time zone left on "same as the marketplace"."""
    values = {name: str(form.get(name, "")).strip() for name in TOP_FIELDS}
    return {"key": key if key is not None else values["key"], "name": values["name"], "occasion": values["occasion"],
            "marketplaces": _marketplaces(form), "audience": values["audience"] or None,
            "time_zone": values["time_zone"] or default_zone, "starts_at": values["starts_at"],
            "ends_at": values["ends_at"], "priority": _number(values["priority"]),
            "effects": [r.as_effect() for r in rows if not r.is_blank]}  # fmt: skip


def _marketplaces(form: Mapping[str, Any]) -> list[str]:
    return list(form.getlist("marketplaces")) if hasattr(form, "getlist") else []


def values_of_form(form: Mapping[str, Any]) -> dict[str, Any]:
    """The top-level fields as typed, for showing the form again."""
    values: dict[str, Any] = {name: str(form.get(name, "")) for name in TOP_FIELDS}
    values["marketplaces"] = _marketplaces(form)
    return values


def _number(text: str) -> Any:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() else value


# --- body → form (editing a stored campaign) --------------------------------------------------------------------


def values_of_campaign(campaign: Campaign) -> dict[str, Any]:
    data = campaign.as_dict()
    values = {name: "" if data.get(name) is None else str(data[name]) for name in TOP_FIELDS}
    return {**values, "marketplaces": list(campaign.marketplaces)}


def rows_of_effects(effects: Sequence[Mapping[str, Any]]) -> list[EffectRow]:
    return [_row_of_effect(i, e) for i, e in enumerate(effects)]


def _row_of_effect(row_id: int, effect: Mapping[str, Any]) -> EffectRow:
    slot = effect.get("slot") or {}
    settings = slot.get("settings") if effect.get("kind") == "insert" else effect.get("settings")
    return EffectRow(row_id, page=str(effect.get("page", "")), kind=str(effect.get("kind", "patch")),
                     version=_text(effect.get("version")), slot_id=_text(effect.get("slot_id")),
                     position=_text(effect.get("position")), slot_type=_text(slot.get("type")),
                     new_slot_id=_text(slot.get("id")), settings=dict(settings or {}),
                     settings_text=json.dumps(settings or {}, indent=2))  # fmt: skip


def _text(value: Any) -> str:
    return "" if value is None else str(value)


# --- errors -----------------------------------------------------------------------------------------------------


def place_errors(errors: Sequence[Mapping[str, Any]], rows: Sequence[EffectRow]) -> PlacedErrors:
    """Each `{path, message}` at its field; a row's index in the body is its place among the non-blank rows."""
    in_body = [r for r in rows if not r.is_blank]
    placed = PlacedErrors()
    for error in errors:
        path, message = str(error.get("path", "")), str(error.get("message", ""))
        found = EFFECT_PATH.match(path)
        if found and int(found.group(1)) < len(in_body):
            _place_in_row(placed, in_body[int(found.group(1))].id, found.group(2) or "", message)
        elif path.lstrip("/").split("/")[0] in (*TOP_FIELDS, "marketplaces", "effects") and path:
            _add(placed.fields, path.lstrip("/").split("/")[0], message)
        else:
            placed.unplaced.append(f"{path} {message}".strip())
    for row in rows:  # a JSON text that does not parse says so, whatever the service made of it
        if row.settings_problem:
            placed.rows.setdefault(row.id, {})["settings"] = row.settings_problem
    return placed


def _place_in_row(placed: PlacedErrors, row_id: int, rest: str, message: str) -> None:
    settings = SETTINGS_PATH.match(rest)
    if settings:
        _add(placed.settings.setdefault(row_id, {}), settings.group(1), message)
    else:
        _add(placed.rows.setdefault(row_id, {}), ROW_PLACES.get(rest, "row"), message)


def _add(where: dict[str, str], name: str, message: str) -> None:
    """Several marketplaces can refuse the same field: keep every distinct message."""
    if message not in where.get(name, "").split("; "):
        where[name] = f"{where[name]}; {message}" if name in where else message


def named_fields(fields: Sequence[forms.Field], row: EffectRow) -> list[forms.Field]:
    """Schema fields renamed into the row (`s.headline` → `e3.s.headline`)."""
    return [_renamed(f, row.prefix) for f in fields]


def _renamed(f: forms.Field, prefix: str) -> forms.Field:
    return replace(f, name=prefix + f.name, children=tuple(_renamed(c, prefix) for c in f.children),
                   rows=tuple(tuple(_renamed(c, prefix) for c in r) for r in f.rows))  # fmt: skip


def unfielded(settings_errors: Mapping[str, str], fields: Sequence[forms.Field]) -> list[str]:
    """Settings errors no rendered field shows (e.g. an unknown setting), listed on the row instead."""
    paths = {f.path for f in _flatten(fields) if f.kind not in ("object", "rows")}  # those show no error
    return [f"{path.lstrip('/')}: {message}" for path, message in settings_errors.items() if path not in paths]


def _flatten(fields: Sequence[forms.Field]) -> list[forms.Field]:
    out: list[forms.Field] = []
    for f in fields:
        out += [f, *_flatten(f.children), *(c for row in f.rows for c in _flatten(row))]
    return out


# --- what an effect row offers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageFacts:
    """One page across the chosen marketplaces: its saved versions and the slots of its published layouts."""

    versions: list[tuple[int, str]] = field(default_factory=list)  # (number, label), newest first
    slots: list[tuple[str, str, str]] = field(default_factory=list)  # (id, type, label)
    settings: dict[str, Any] = field(default_factory=dict)  # slot id → its published settings
    absent: list[str] = field(default_factory=list)  # marketplaces without the page
    unpublished: list[str] = field(default_factory=list)

    def slot_type(self, slot_id: str) -> str | None:
        return next((t for i, t, _ in self.slots if i == slot_id), None)


def page_facts(found: Sequence[tuple[str, Any, Sequence[Any]]], titles: Mapping[str, str]) -> PageFacts:
    """From (marketplace, PageInfo or None, its VersionInfos); labels say where a version or slot is missing."""
    facts = PageFacts()
    versions: dict[int, tuple[str, list[str]]] = {}  # number → (label, marketplaces that have it)
    found_slots: dict[str, tuple[str, list[str]]] = {}  # slot id → (type, marketplaces where it is published)
    for marketplace, page, page_versions in found:
        if page is None:
            facts.absent.append(marketplace)
        elif page.published_number is None:
            facts.unpublished.append(marketplace)
        for version in page_versions:
            label = f"v{version.number}" + (f" · {version.comment[:40]}" if version.comment else "")
            versions.setdefault(version.number, (label, []))[1].append(marketplace)
            for slot in version.document.get("slots", []) if version.number == page.published_number else []:
                found_slots.setdefault(slot["id"], (slot.get("type", ""), []))[1].append(marketplace)
                facts.settings.setdefault(slot["id"], slot.get("settings", {}))
    present = len(found) - len(facts.absent)
    for number, (label, where) in sorted(versions.items(), reverse=True):
        facts.versions.append((number, label + _only(where, present)))
    for slot_id, (slot_type, where) in found_slots.items():
        label = f"{slot_id} · {titles.get(slot_type, slot_type)}{_only(where, present - len(facts.unpublished))}"
        facts.slots.append((slot_id, slot_type, label))
    return facts


def _only(where: list[str], out_of: int) -> str:
    return f" (only {', '.join(where)})" if len(where) < out_of else ""


# --- showing campaigns ------------------------------------------------------------------------------------------


def month_of(text: str | None, now: datetime, zone: str) -> tuple[int, int]:
    """(year, month) from "2026-05", or the current month in `zone`. Raises ValueError for other text."""
    if not text:
        local = now.astimezone(ZoneInfo(zone))
        return local.year, local.month
    found = MONTH.fullmatch(text)
    if not found or not 1 <= int(found.group(2)) <= 12 or not FIRST_YEAR <= int(found.group(1)) <= LAST_YEAR:
        raise ValueError("month must look like 2026-05")
    return int(found.group(1)), int(found.group(2))


def shifted(year: int, month: int, by: int) -> str:
    """The month `by` months away, as "YYYY-MM"."""
    index = year * 12 + month - 1 + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def preview_links(campaign: Campaign, root: str = "") -> list[tuple[str, str, str]]:
    """(marketplace, page, URL) previewing each changed page at the campaign's first moment, as a shopper
    (`user_id` left for the marketer to fill in); `root` is where the app is mounted."""
    at = campaign.window.starts_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    query = urlencode({"at": at, "user_id": ""})
    pages = sorted(campaign.pages())
    return [(m, p, f"{root}/pages/{m}/{p}/preview?{query}") for m in campaign.marketplaces for p in pages]
