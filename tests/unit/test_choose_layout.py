"""Which layout a shopper is served: experiments against campaigns, replace against patch, and degradation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from layout_engine.campaign_rules import Campaign, Effect, Window
from layout_engine.choose import LayoutChoice, choose_layout, is_degraded, is_experiment_suppressed
from layout_engine.resolve import ResolvedSlot, SlotPlan
from layout_engine.sources import PublishedLayout
from layout_engine.variants import VariantAssignment
from slots.postfilters import SlotOutcome

START = datetime(2026, 5, 1, tzinfo=UTC)
END = datetime(2026, 5, 11, tzinfo=UTC)
PUBLISHED = PublishedLayout(7, "home", "US", "Home", 70, 3, {"schema_version": 1, "slots": []})
VARIANT = VariantAssignment("hero-test", "b", 5)
PATCH = Effect("home", "patch", slot_id="for-you", settings={"count": 8})
INSERT = Effect("home", "insert", slot={"id": "note", "type": "rich_text", "settings": {"body": "Hi"}}, position=0)


def campaign(*effects: Effect, **overrides: Any) -> Campaign:
    fields: dict[str, Any] = {
        "key": "mothers-day", "name": "Mother's Day", "occasion": "mothers-day", "marketplaces": ("US",),
        "audience": None, "time_zone": "UTC", "starts_local": START.replace(tzinfo=None),
        "ends_local": END.replace(tzinfo=None), "window": Window(START, END), "priority": 0, "paused": False,
        "effects": effects,
    }  # fmt: skip
    fields.update(overrides)
    return Campaign(**fields)


def replacing(version: int | None = 9) -> Campaign:
    return campaign(Effect("home", "replace", version=version))


def test_no_campaign_and_no_experiment_serves_the_published_page_unedited() -> None:
    assert choose_layout(PUBLISHED, None, None) == LayoutChoice(None, None, None)


def test_a_variant_swaps_the_version_and_reports_its_experiment() -> None:
    assert choose_layout(PUBLISHED, None, VARIANT) == LayoutChoice(5, VARIANT, None)


def test_a_variant_on_the_published_version_keeps_the_published_page_but_still_reports_the_experiment() -> None:
    control = VariantAssignment("hero-test", "a", PUBLISHED.number)
    assert choose_layout(PUBLISHED, None, control) == LayoutChoice(None, control, None)


def test_a_replacing_campaign_suppresses_the_experiment_and_serves_its_version() -> None:
    live = replacing(9)
    assert is_experiment_suppressed(live, "home")
    choice = choose_layout(PUBLISHED, live, VARIANT)
    assert choice.version == 9 and choice.experiment is None and choice.campaign is live


def test_a_campaign_replacing_another_page_does_not_suppress_this_pages_experiment() -> None:
    other = campaign(Effect("about", "replace", version=2), Effect("home", "patch", slot_id="x", settings={}))
    assert not is_experiment_suppressed(other, "home")
    assert choose_layout(PUBLISHED, other, VARIANT).experiment == VARIANT


def test_no_campaign_suppresses_nothing() -> None:
    assert not is_experiment_suppressed(None, "home")


def test_a_patch_campaign_keeps_the_experiment_and_edits_the_variant() -> None:
    live = campaign(PATCH, INSERT)
    choice = choose_layout(PUBLISHED, live, VARIANT)
    assert choice == LayoutChoice(5, VARIANT, live, (PATCH, INSERT))


def test_a_patch_campaign_edits_the_published_version_without_an_experiment() -> None:
    live = campaign(PATCH)
    assert choose_layout(PUBLISHED, live, None) == LayoutChoice(None, None, live, (PATCH,))


def test_replace_beats_patch_its_version_is_served_and_patches_only_edit_that_version() -> None:
    replace = Effect("home", "replace", version=9)
    live = campaign(replace, PATCH)  # validation refuses this mix; the order of the rules still decides it
    assert choose_layout(PUBLISHED, live, None) == LayoutChoice(9, None, live, (replace, PATCH))


def test_a_replace_without_a_version_leaves_the_version_alone() -> None:
    live = replacing(None)
    assert choose_layout(PUBLISHED, live, VARIANT).version is None


def test_only_this_pages_effects_are_applied() -> None:
    live = campaign(PATCH, Effect("about", "patch", slot_id="x", settings={}))
    assert choose_layout(PUBLISHED, live, None).effects == (PATCH,)


@given(
    version=st.one_of(st.none(), st.integers(1, 50)),
    variant_version=st.one_of(st.none(), st.integers(1, 50)),
    has_patch=st.booleans(),
)
def test_whatever_the_inputs_a_replace_decides_the_version_and_hides_the_experiment(
    version: int | None, variant_version: int | None, has_patch: bool
) -> None:
    assignment = None if variant_version is None else VariantAssignment("e", "v", variant_version)
    effects = (Effect("home", "replace", version=version),) + ((PATCH,) if has_patch else ())
    choice = choose_layout(PUBLISHED, campaign(*effects), assignment)
    assert choice.experiment is None
    assert choice.version == version


@given(variant_version=st.integers(1, 50), has_patch=st.booleans())
def test_without_a_replace_the_experiment_decides_the_version(variant_version: int, has_patch: bool) -> None:
    assignment = VariantAssignment("e", "v", variant_version)
    live = campaign(PATCH) if has_patch else None
    choice = choose_layout(PUBLISHED, live, assignment)
    assert choice.experiment == assignment
    assert choice.version == (None if variant_version == PUBLISHED.number else variant_version)


def slot(is_slot_degraded: bool) -> ResolvedSlot:
    plan = SlotPlan(0, "s", "recommendations", {}, "recommendations")
    return ResolvedSlot(plan, SlotOutcome((), "fallback" if is_slot_degraded else "recommender", is_slot_degraded))


def test_a_page_is_degraded_when_any_slot_is() -> None:
    assert not is_degraded([])
    assert not is_degraded([slot(False), slot(False)])
    assert is_degraded([slot(False), slot(True)])


@given(st.lists(st.booleans(), max_size=8))
def test_degraded_is_any_slot_degraded(flags: list[bool]) -> None:
    assert is_degraded([slot(flag) for flag in flags]) == any(flags)
