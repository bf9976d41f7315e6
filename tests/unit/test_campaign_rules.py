"""Occasion campaigns: parsing by JSON path, local-time windows across DST, choosing, applying, overlaps, calendar."""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from layout_engine.campaign_rules import (
    STATUSES,
    Campaign,
    Effect,
    LocalTimeError,
    Overlap,
    Window,
    apply_effects,
    month_calendar,
    overlaps,
    parse_campaign,
    select_live,
    to_utc,
)
from tests.support.builders import make_layout

AUDIENCES = frozenset({"everyone", "new-customers", "returning-customers"})
MARKETS = ("DE", "FR", "US")
US = timedelta(microseconds=1)
FILTER_PATCH = {
    "page": "home",
    "kind": "patch",
    "slot_id": "for-you",
    "settings": {"filters": {"occasion": "mothers-day"}},
}
NOTE = {"id": "note", "type": "rich_text", "settings": {"body": "Order by 8 May for Mother's Day"}}


def body(**overrides: Any) -> dict[str, Any]:
    """A valid Mother's Day body; keyword arguments replace top-level keys."""
    base = {
        "key": "mothers-day-de", "name": "Mother's Day", "occasion": "mothers-day", "marketplaces": ["DE"],
        "audience": "returning-customers", "time_zone": "Europe/Berlin",
        "starts_at": "2026-05-01T00:00", "ends_at": "2026-05-11T00:00", "effects": [copy.deepcopy(FILTER_PATCH)],
    }  # fmt: skip
    base.update(overrides)
    return base


def make(**overrides: Any) -> Campaign:
    campaign, problems = parse_campaign(body(**overrides), AUDIENCES, MARKETS)
    assert problems == [] and campaign is not None
    return campaign


def problems_of(raw: Any) -> list[tuple[str, str]]:
    campaign, problems = parse_campaign(raw, AUDIENCES, MARKETS)
    assert campaign is None
    return [(p.path, p.message) for p in problems]


def paths(**overrides: Any) -> list[str]:
    return [path for path, _ in problems_of(body(**overrides))]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# --- parsing ---------------------------------------------------------------------------------------------------


def test_valid_body_parses_with_defaults_and_utc_window() -> None:
    campaign = make()
    assert campaign.priority == 100 and campaign.paused is False and campaign.marketplaces == ("DE",)
    assert campaign.window == Window(utc(2026, 4, 30, 22), utc(2026, 5, 10, 22))
    assert campaign.starts_local == datetime(2026, 5, 1) and campaign.effects[0].settings == FILTER_PATCH["settings"]


def test_as_dict_is_json_ready_and_parses_back_to_the_same_campaign() -> None:
    campaign = make(priority=300, paused=True, starts_at="2026-05-01T08:30:15", effects=[FILTER_PATCH, {
        "page": "gifts", "kind": "insert", "slot": NOTE, "position": 0}])  # fmt: skip
    data = campaign.as_dict()
    assert data["starts_at"] == "2026-05-01T08:30:15" and data["ends_at"] == "2026-05-11T00:00"
    assert data["window"] == {"starts_at": "2026-05-01T06:30:15Z", "ends_at": "2026-05-10T22:00:00Z"}
    assert data["effects"][1] == {"page": "gifts", "kind": "insert", "slot": NOTE, "position": 0}
    assert parse_campaign(data, AUDIENCES, MARKETS) == (campaign, [])


def test_parsed_campaign_does_not_share_settings_with_the_body() -> None:
    raw = body()
    campaign = make(effects=raw["effects"])
    raw["effects"][0]["settings"]["filters"]["occasion"] = "changed"
    assert campaign.effects[0].settings == {"filters": {"occasion": "mothers-day"}}


@pytest.mark.parametrize("raw", [None, [], "campaign", 3])
def test_a_body_that_is_not_an_object_is_one_problem_at_the_root(raw: Any) -> None:
    assert [p for p, _ in problems_of(raw)] == [""]


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"key": None}, "/key"), ({"key": "Mothers-Day"}, "/key"), ({"key": "-x"}, "/key"), ({"key": "a" * 64}, "/key"),
        ({"key": "x\n"}, "/key"), ({"name": ""}, "/name"), ({"name": "   "}, "/name"), ({"name": "n" * 201}, "/name"),
        ({"name": 5}, "/name"), ({"occasion": "Mother's Day"}, "/occasion"), ({"occasion": "o" * 51}, "/occasion"),
        ({"occasion": None}, "/occasion"), ({"marketplaces": []}, "/marketplaces"), ({"marketplaces": "DE"}, "/marketplaces"),
        ({"marketplaces": ["DE", "XX"]}, "/marketplaces/1"), ({"marketplaces": ["DE", "DE"]}, "/marketplaces/1"),
        ({"marketplaces": [7]}, "/marketplaces/0"), ({"audience": "martians"}, "/audience"), ({"audience": 3}, "/audience"),
        ({"time_zone": "Mars/Olympus"}, "/time_zone"), ({"time_zone": "Europe"}, "/time_zone"),
        ({"time_zone": "localtime"}, "/time_zone"), ({"time_zone": "../etc/passwd"}, "/time_zone"),
        ({"time_zone": None}, "/time_zone"), ({"starts_at": None}, "/starts_at"), ({"starts_at": "2026-05-01"}, "/starts_at"),
        ({"starts_at": "2026-13-01T00:00"}, "/starts_at"), ({"starts_at": "2026-05-01T00:00:00.5"}, "/starts_at"),
        ({"starts_at": 1746057600}, "/starts_at"), ({"ends_at": "1 May"}, "/ends_at"),
        ({"ends_at": "2026-05-01T00:00"}, "/ends_at"), ({"ends_at": "2026-04-30T23:59"}, "/ends_at"),
        ({"priority": -1}, "/priority"), ({"priority": 1001}, "/priority"), ({"priority": "high"}, "/priority"),
        ({"priority": True}, "/priority"), ({"priority": 1.5}, "/priority"), ({"paused": "yes"}, "/paused"),
        ({"paused": 1}, "/paused"), ({"effects": None}, "/effects"), ({"effects": []}, "/effects"),
        ({"effects": [FILTER_PATCH] * 51}, "/effects"), ({"effects": {"0": FILTER_PATCH}}, "/effects"),
    ],
)  # fmt: skip
def test_each_field_rule_is_reported_at_its_path(overrides: dict[str, Any], path: str) -> None:
    assert paths(**overrides) == [path]


@pytest.mark.parametrize(
    ("effect", "path"),
    [
        ("patch", "/effects/1"), ({"page": "Home Page", "kind": "patch", "slot_id": "x", "settings": {"a": 1}}, "/effects/1/page"),
        ({"page": "home", "kind": "delete"}, "/effects/1/kind"), ({"page": "home"}, "/effects/1/kind"),
        ({"page": "gifts", "kind": "replace"}, "/effects/1/version"), ({"page": "gifts", "kind": "replace", "version": 0}, "/effects/1/version"),
        ({"page": "gifts", "kind": "replace", "version": "2"}, "/effects/1/version"),
        ({"page": "gifts", "kind": "replace", "version": 2, "slot_id": "hero"}, "/effects/1/slot_id"),
        ({"page": "home", "kind": "patch", "settings": {"a": 1}}, "/effects/1/slot_id"),
        ({"page": "home", "kind": "patch", "slot_id": "hero", "settings": {}}, "/effects/1/settings"),
        ({"page": "home", "kind": "patch", "slot_id": "hero", "settings": [1]}, "/effects/1/settings"),
        ({"page": "home", "kind": "patch", "slot_id": "hero", "settings": {"a": 1}, "version": 3}, "/effects/1/version"),
        ({"page": "home", "kind": "insert"}, "/effects/1/slot"), ({"page": "home", "kind": "insert", "slot": "note"}, "/effects/1/slot"),
        ({"page": "home", "kind": "insert", "slot": {**NOTE, "id": 5}}, "/effects/1/slot/id"),
        ({"page": "home", "kind": "insert", "slot": {"id": "note", "settings": {}}}, "/effects/1/slot/type"),
        ({"page": "home", "kind": "insert", "slot": {**NOTE, "settings": None}}, "/effects/1/slot/settings"),
        ({"page": "home", "kind": "insert", "slot": NOTE, "position": -1}, "/effects/1/position"),
        ({"page": "home", "kind": "insert", "slot": NOTE, "position": "top"}, "/effects/1/position"),
        ({"page": "home", "kind": "insert", "slot": {**NOTE, "type": ""}}, "/effects/1/slot/type"),
    ],
)  # fmt: skip
def test_each_effect_rule_is_reported_at_its_path(effect: Any, path: str) -> None:
    assert paths(effects=[FILTER_PATCH, effect]) == [path]


def test_a_third_effect_missing_its_slot_id_is_named_by_index() -> None:
    broken = {"page": "home", "kind": "patch", "settings": {"headline": "Hi"}}
    assert paths(effects=[FILTER_PATCH, FILTER_PATCH, broken]) == ["/effects/2/slot_id"]


def test_insert_position_defaults_to_the_end_and_zero_is_kept() -> None:
    at_end = make(effects=[{"page": "home", "kind": "insert", "slot": NOTE}])
    at_top = make(effects=[{"page": "home", "kind": "insert", "slot": NOTE, "position": 0}])
    assert (at_end.effects[0].position, at_top.effects[0].position) == (None, 0)


def test_one_replace_per_page_and_a_replace_stands_alone_on_its_page() -> None:
    replace = {"page": "home", "kind": "replace", "version": 4}
    assert paths(effects=[replace, {**replace, "version": 5}]) == ["/effects/1"]
    assert paths(effects=[replace, FILTER_PATCH]) == ["/effects/1"]
    assert paths(effects=[FILTER_PATCH, replace]) == ["/effects/1"]
    assert paths(effects=[{"page": "home", "kind": "insert", "slot": NOTE}, replace]) == ["/effects/1"]
    assert make(effects=[{**replace, "page": "gifts"}, FILTER_PATCH]).pages() == frozenset({"home", "gifts"})


def test_the_same_slot_cannot_be_inserted_twice_on_a_page() -> None:
    insert = {"page": "home", "kind": "insert", "slot": NOTE}
    assert paths(effects=[insert, insert]) == ["/effects/1/slot/id"]
    assert len(make(effects=[insert, {**insert, "page": "gifts"}]).effects) == 2


def test_every_problem_is_reported_at_once() -> None:
    found = paths(key="Bad Key", marketplaces=["XX"], priority=-5, effects=[{"page": "home", "kind": "nope"}])
    assert found == ["/key", "/marketplaces/0", "/priority", "/effects/0/kind"]


def test_a_time_with_an_offset_is_refused_as_the_time_is_local_to_the_zone() -> None:
    for raw in ("2026-05-01T00:00Z", "2026-05-01T00:00:00+02:00", "2026-05-01T00:00-0500"):
        [(path, message)] = problems_of(body(starts_at=raw))
        assert path == "/starts_at" and "local to time_zone (Europe/Berlin)" in message


def test_a_start_inside_the_spring_forward_gap_is_refused_naming_the_zone() -> None:
    [(path, message)] = problems_of(body(starts_at="2026-03-29T02:30", ends_at="2026-04-01T00:00"))
    assert path == "/starts_at" and "Europe/Berlin" in message and "2026-03-29T02:30" in message
    [(path, message)] = problems_of(
        body(time_zone="America/New_York", starts_at="2026-03-01T00:00", ends_at="2026-03-08T02:00")
    )
    assert path == "/ends_at" and "America/New_York" in message


def test_seconds_are_optional_and_audience_may_be_absent_null_or_empty() -> None:
    assert make(starts_at="2026-05-01T00:00:00").starts_local == datetime(2026, 5, 1)
    raw = body()
    del raw["audience"]
    assert parse_campaign(raw, AUDIENCES, MARKETS)[0] is not None
    assert make(audience=None).audience is None and make(audience="").audience is None


def test_out_of_range_local_times_are_problems_not_crashes() -> None:
    assert paths(starts_at="0001-01-01T00:00") == ["/starts_at"]
    assert paths(time_zone="America/New_York", ends_at="9999-12-31T23:59") == ["/ends_at"]


# --- time zones and windows -------------------------------------------------------------------------------------


def test_window_edges_start_inclusive_end_exclusive() -> None:
    campaign = make(paused=False)
    start, end = to_utc(datetime(2026, 5, 1), "Europe/Berlin"), to_utc(datetime(2026, 5, 11), "Europe/Berlin")
    assert campaign.window == Window(start, end)
    assert [campaign.status(at) for at in (start - US, start, end - US, end)] == ["scheduled", "live", "live", "ended"]


def test_spring_forward_window_is_47_hours_long() -> None:
    campaign = make(starts_at="2026-03-28T00:00", ends_at="2026-03-30T00:00")
    assert campaign.window == Window(utc(2026, 3, 27, 23), utc(2026, 3, 29, 22))
    assert campaign.window.ends_at - campaign.window.starts_at == timedelta(hours=47)
    assert campaign.status(utc(2026, 3, 29, 1, 30)) == "live"  # 03:30 CEST, just after the skipped hour
    assert campaign.status(utc(2026, 3, 27, 22, 59, 59)) == "scheduled"
    assert campaign.status(utc(2026, 3, 29, 21, 59, 59)) == "live" and campaign.status(utc(2026, 3, 29, 22)) == "ended"


def test_autumn_window_is_49_hours_long() -> None:
    campaign = make(starts_at="2026-10-24T00:00", ends_at="2026-10-26T00:00")
    assert campaign.window == Window(utc(2026, 10, 23, 22), utc(2026, 10, 25, 23))
    assert campaign.window.ends_at - campaign.window.starts_at == timedelta(hours=49)
    assert campaign.status(utc(2026, 10, 25, 22, 59)) == "live"  # 23:59 CET on the 25th


def test_new_york_spring_forward_day_is_23_hours() -> None:
    campaign = make(
        time_zone="America/New_York", marketplaces=["US"], starts_at="2026-03-08T00:00", ends_at="2026-03-09T00:00"
    )
    assert campaign.window == Window(utc(2026, 3, 8, 5), utc(2026, 3, 9, 4))
    assert to_utc(datetime(2026, 3, 8, 3), "America/New_York") - to_utc(
        datetime(2026, 3, 8, 1, 59), "America/New_York"
    ) == timedelta(minutes=1)
    with pytest.raises(LocalTimeError, match="America/New_York"):
        to_utc(datetime(2026, 3, 8, 2, 30), "America/New_York")


def test_an_ambiguous_time_means_its_first_occurrence() -> None:
    assert to_utc(datetime(2026, 10, 25, 2, 30), "Europe/Berlin") == utc(2026, 10, 25, 0, 30)  # still CEST
    assert to_utc(datetime(2026, 10, 25, 2, 30, fold=1), "Europe/Berlin") == utc(2026, 10, 25, 0, 30)
    assert to_utc(datetime(2026, 11, 1, 1, 30), "America/New_York") == utc(2026, 11, 1, 5, 30)  # still EDT
    assert make(ends_at="2026-10-25T02:30", starts_at="2026-10-25T02:00").window.ends_at == utc(2026, 10, 25, 0, 30)


def test_to_utc_refuses_aware_times_and_unknown_zones_with_value_errors() -> None:
    assert issubclass(LocalTimeError, ValueError)
    with pytest.raises(ValueError, match="naive"):
        to_utc(utc(2026, 5, 1), "Europe/Berlin")
    with pytest.raises(ValueError, match="Mars/Olympus"):
        to_utc(datetime(2026, 5, 1), "Mars/Olympus")


def test_paused_campaign_is_paused_until_its_end_then_ended() -> None:
    campaign = make(paused=True)
    assert campaign.status(utc(2026, 4, 1)) == "paused" and campaign.status(utc(2026, 5, 5)) == "paused"
    assert campaign.status(utc(2026, 6, 1)) == "ended"


# --- choosing the live campaign ------------------------------------------------------------------------------------

NOW = utc(2026, 5, 5, 12)


def everyone_member(_audience: str) -> bool:
    return True


def test_higher_priority_wins_regardless_of_order() -> None:
    low, high = make(key="low", priority=100), make(key="high", priority=200)
    assert select_live([low, high], "home", "DE", NOW, everyone_member) == high
    assert select_live([high, low], "home", "DE", NOW, everyone_member) == high


def test_equal_priority_later_start_wins_then_lower_key() -> None:
    early, late = make(key="early"), make(key="late", starts_at="2026-05-03T00:00")
    assert select_live([late, early], "home", "DE", NOW, everyone_member) == late
    assert select_live([early, late], "home", "DE", NOW, everyone_member) == late
    a, b = make(key="a-campaign"), make(key="b-campaign")
    assert select_live([b, a], "home", "DE", NOW, everyone_member) == a
    assert select_live([a, b], "home", "DE", NOW, everyone_member) == a


def test_paused_not_yet_live_and_ended_campaigns_do_not_apply() -> None:
    live = make(key="live")
    paused = make(key="paused", priority=900, paused=True)
    later = make(key="later", priority=900, starts_at="2026-05-06T00:00")
    ended = make(key="ended", priority=900, starts_at="2026-04-01T00:00", ends_at="2026-05-05T14:00")
    assert select_live([paused, later, ended, live], "home", "DE", NOW, everyone_member) == live
    assert select_live([ended], "home", "DE", utc(2026, 5, 5, 12), everyone_member) is None


def test_wrong_marketplace_and_page_without_effects_get_nothing() -> None:
    campaign = make()
    assert select_live([campaign], "home", "FR", NOW, everyone_member) is None
    assert select_live([campaign], "gifts", "DE", NOW, everyone_member) is None
    assert select_live([campaign], "home", "DE", NOW, everyone_member) == campaign


def test_audience_members_get_the_targeted_campaign_others_the_next_one() -> None:
    targeted = make(key="returning", priority=500, audience="returning-customers")
    general = make(key="general", audience=None)
    asked: list[str] = []

    def is_member(audience: str) -> bool:
        asked.append(audience)
        return False

    assert select_live([general, targeted], "home", "DE", NOW, is_member) == general
    assert select_live([general, targeted], "home", "DE", NOW, lambda a: a == "returning-customers") == targeted
    assert select_live([targeted], "home", "DE", NOW, is_member) is None
    assert asked == ["returning-customers", "returning-customers"]


# --- applying effects ------------------------------------------------------------------------------------------


def patch(slot_id: str, settings: dict[str, Any]) -> Effect:
    return Effect("home", "patch", slot_id=slot_id, settings=settings)


def insert(slot_id: str, position: int | None = None) -> Effect:
    return Effect(
        "home", "insert", slot={"id": slot_id, "type": "rich_text", "settings": {"body": slot_id}}, position=position
    )


def ids(document: dict[str, Any]) -> list[str]:
    return [s["id"] for s in document["slots"]]


def test_patch_deep_merges_nested_settings_and_replaces_other_values() -> None:
    layout = make_layout()
    layout["slots"][1]["settings"]["filters"] = {"category": "cards", "max_price": 20}
    out = apply_effects(layout, [patch("for-you", {"filters": {"occasion": "mothers-day"}, "count": 8})])
    settings = out["slots"][1]["settings"]
    assert settings["filters"] == {"category": "cards", "max_price": 20, "occasion": "mothers-day"}
    assert (
        settings["count"] == 8
        and settings["strategy"] == "personalized"
        and settings["fallback"] == {"strategy": "popular"}
    )


def test_patch_for_a_slot_no_longer_on_the_page_is_skipped() -> None:
    layout = make_layout()
    assert apply_effects(layout, [patch("gone", {"headline": "x"})]) == layout


@pytest.mark.parametrize(("position", "expected"), [(0, ["note", "hero", "for-you"]), (1, ["hero", "note", "for-you"]),
                                                    (2, ["hero", "for-you", "note"]), (99, ["hero", "for-you", "note"]),
                                                    (None, ["hero", "for-you", "note"])])  # fmt: skip
def test_insert_at_top_middle_or_beyond_the_end(position: int | None, expected: list[str]) -> None:
    assert ids(apply_effects(make_layout(), [insert("note", position)])) == expected


def test_insert_of_an_existing_slot_id_is_skipped_and_replace_is_ignored() -> None:
    layout = make_layout()
    assert apply_effects(layout, [insert("hero", 0), Effect("home", "replace", version=3)]) == layout


def test_effects_apply_in_order_and_the_input_is_never_mutated() -> None:
    layout = make_layout()
    before = copy.deepcopy(layout)
    effects = [insert("note", 0), patch("note", {"body": "changed"}), patch("hero", {"headline": "Für Mama"})]
    out = apply_effects(layout, effects)
    assert layout == before and out["slots"][0]["settings"]["body"] == "changed"
    out["slots"][0]["settings"]["body"] = "mutated"
    assert effects[0].slot == {"id": "note", "type": "rich_text", "settings": {"body": "note"}}


# --- overlaps --------------------------------------------------------------------------------------------------


def test_overlapping_windows_on_a_shared_page_and_marketplace_are_reported_with_the_winner() -> None:
    campaign = make(key="mothers-day", priority=200, marketplaces=["DE", "FR"])
    other = make(
        key="spring-sale", starts_at="2026-05-10T00:00", ends_at="2026-05-20T00:00", marketplaces=["FR", "DE", "US"]
    )
    assert overlaps(campaign, [other, campaign]) == [Overlap("spring-sale", ("home",), ("DE", "FR"), True)]
    assert overlaps(other, [campaign]) == [Overlap("mothers-day", ("home",), ("DE", "FR"), False)]


def test_adjacent_windows_do_not_overlap_since_the_end_is_exclusive() -> None:
    campaign = make(key="first")
    assert overlaps(campaign, [make(key="second", starts_at="2026-05-11T00:00", ends_at="2026-05-12T00:00")]) == []


def test_different_pages_marketplaces_or_named_audiences_do_not_overlap() -> None:
    campaign = make(key="first")
    other_page = make(key="gifts", effects=[{**FILTER_PATCH, "page": "gifts"}])
    other_market = make(key="french", marketplaces=["FR"])
    other_audience = make(key="newcomers", audience="new-customers")
    assert overlaps(campaign, [other_page, other_market, other_audience]) == []


def test_everyone_overlaps_with_a_named_audience() -> None:
    campaign = make(key="first")
    found = overlaps(campaign, [make(key="all", audience=None), make(key="everyone", audience="everyone")])
    assert [o.other for o in found] == ["all", "everyone"]


# --- calendar --------------------------------------------------------------------------------------------------


def test_month_calendar_lists_a_campaign_across_a_month_boundary_in_the_marketplace_zone() -> None:
    campaign = make(starts_at="2026-04-28T00:00", ends_at="2026-05-03T00:00")
    weeks = month_calendar(2026, 5, [campaign], "Europe/Berlin")
    assert len(weeks) == 5 and all(len(week) == 7 for week in weeks)
    assert weeks[0][0].date == date(2026, 4, 27) and weeks[-1][-1].date == date(2026, 5, 31)
    assert [d.date.weekday() for d in weeks[0]] == list(range(7))
    marked = {d.date for week in weeks for d in week if d.campaigns == ("mothers-day-de",)}
    assert marked == {date(2026, 4, 28), date(2026, 4, 29), date(2026, 4, 30), date(2026, 5, 1), date(2026, 5, 2)}
    assert [d.in_month for d in weeks[0]] == [False, False, False, False, True, True, True]
    in_new_york = month_calendar(2026, 5, [campaign], "America/New_York")
    marked_ny = {d.date for week in in_new_york for d in week if d.campaigns}
    assert min(marked_ny) == date(2026, 4, 27) and max(marked_ny) == date(2026, 5, 2)


def test_month_calendar_orders_by_start_and_survives_a_skipped_midnight() -> None:
    first = make(key="z-first", time_zone="America/Santiago", starts_at="2026-09-06T01:00", ends_at="2026-09-07T00:00")
    second = make(
        key="a-second", time_zone="America/Santiago", starts_at="2026-09-06T12:00", ends_at="2026-09-06T13:00"
    )
    days = {d.date: d.campaigns for week in month_calendar(2026, 9, [second, first], "America/Santiago") for d in week}
    assert days[date(2026, 9, 6)] == ("z-first", "a-second")
    assert days[date(2026, 9, 5)] == () and days[date(2026, 9, 7)] == ()


# --- properties ------------------------------------------------------------------------------------------------

ZONES = st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"])
LOCAL = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda d: d.replace(second=0, microsecond=0)
)
INSTANTS = st.lists(
    st.datetimes(min_value=datetime(1999, 1, 1), max_value=datetime(2102, 1, 1), timezones=st.just(UTC))
)


@settings(deadline=None)
@given(LOCAL, st.integers(min_value=1, max_value=60 * 24 * 400), ZONES, INSTANTS)
def test_status_moves_only_forward_from_scheduled_through_live_to_ended(
    start: datetime, minutes: int, zone: str, instants: list[datetime]
) -> None:
    end = start + timedelta(minutes=minutes)
    raw = body(time_zone=zone, starts_at=start.isoformat(timespec="minutes"), ends_at=end.isoformat(timespec="minutes"))
    campaign, problems = parse_campaign(raw, AUDIENCES, MARKETS)
    assume(campaign is not None)  # a gap time or an end that DST moves before the start
    assert campaign is not None
    window = campaign.window
    moments = sorted([*instants, window.starts_at - US, window.starts_at, window.ends_at - US, window.ends_at])
    order = [STATUSES.index(campaign.status(at)) for at in moments]
    assert order == sorted(order) and "paused" not in {campaign.status(at) for at in moments}


@given(LOCAL, ZONES)
def test_to_utc_round_trips_or_names_the_gap(local: datetime, zone: str) -> None:
    try:
        instant = to_utc(local, zone)
    except LocalTimeError as exc:
        assert zone in str(exc)
        return
    assert instant.tzinfo is UTC
    try:  # the same wall time a day later may itself fall in a gap (Lord Howe's clocks skip 02:00-02:30)
        next_day = to_utc(local + timedelta(days=1), zone)
    except LocalTimeError:
        return
    assert next_day - instant >= timedelta(hours=22)  # DST moves at most 2 hours


SLOT_IDS = st.sampled_from(["hero", "for-you", "note", "grid", "banner"])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
SETTINGS = st.dictionaries(st.sampled_from(["filters", "count", "headline"]), JSON, min_size=1, max_size=3)
EFFECTS = st.lists(
    st.one_of(
        st.builds(lambda i, s: Effect("home", "patch", slot_id=i, settings=s), SLOT_IDS, SETTINGS),
        st.builds(lambda i, s, p: Effect("home", "insert", slot={"id": i, "type": "rich_text", "settings": s}, position=p),
                  SLOT_IDS, SETTINGS, st.none() | st.integers(min_value=0, max_value=8)),
    ),
    max_size=6,
)  # fmt: skip
DOCUMENTS = st.lists(SLOT_IDS, unique=True).flatmap(
    lambda chosen: st.tuples(*[SETTINGS for _ in chosen]).map(
        lambda all_settings: {"schema_version": 1, "slots": [
            {"id": i, "type": "rich_text", "settings": s} for i, s in zip(chosen, all_settings, strict=True)]}
    )
)  # fmt: skip


@given(DOCUMENTS, EFFECTS)
def test_apply_effects_never_mutates_and_keeps_every_original_slot_in_order(
    document: dict[str, Any], effects: list[Effect]
) -> None:
    before, effects_before = copy.deepcopy(document), copy.deepcopy(effects)
    out = apply_effects(document, effects)
    assert document == before and effects == effects_before
    kept = [i for i in ids(out) if i in ids(before)]
    assert kept == ids(before) and len(set(ids(out))) == len(ids(out))


FIELDS = st.sampled_from(
    [
        "key",
        "name",
        "occasion",
        "marketplaces",
        "audience",
        "time_zone",
        "starts_at",
        "ends_at",
        "priority",
        "paused",
        "effects",
    ]
)


@settings(deadline=None)
@given(st.dictionaries(FIELDS, JSON | st.lists(st.dictionaries(st.sampled_from(
    ["page", "kind", "version", "slot_id", "settings", "slot", "position"]), JSON), max_size=3)))  # fmt: skip
def test_parse_never_raises_and_either_returns_a_campaign_or_problems(overrides: dict[str, Any]) -> None:
    campaign, problems = parse_campaign(body(**overrides), AUDIENCES, MARKETS)
    assert (campaign is None) == bool(problems)
    assert all(p.path == "" or p.path.startswith("/") for p in problems)


def test_campaigns_are_hashable_and_comparable() -> None:
    campaign = make()
    assert campaign in {campaign} and dataclasses.replace(campaign, priority=5) != campaign
