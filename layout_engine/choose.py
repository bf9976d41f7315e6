"""Which layout a shopper is served: the ordering rules between experiments and campaigns.

Pure: given the published page, the live campaign for this shopper (or None)
and the experiment assignment (or None), decide

- whether the experiment applies at all: a campaign that *replaces* the page
  suppresses it (the shopper sees the campaign's layout and is neither exposed
  nor counted), so the resolver does not even ask the chooser then
  (`is_experiment_suppressed`);
- which version is served: the published one, a variant's (when it differs
  from the published number), or the replacing campaign's; a replace beats
  everything before it, and the version's absence is the loader's concern
  (it then serves the published page);
- which patch and insert effects edit the served document afterwards
  (`campaign_rules.apply_effects` ignores the replace effects among them).

`is_degraded` says what makes a resolved page degraded: any slot served
from a fallback or empty because its recommender call failed or timed out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from layout_engine.campaign_rules import Campaign, Effect
from layout_engine.resolve import ResolvedSlot
from layout_engine.sources import PublishedLayout
from layout_engine.variants import VariantAssignment


@dataclass(frozen=True)
class LayoutChoice:
    """The decided layout: a version to serve (None: the published one), the experiment
    reported with it, and the campaign whose effects edit the document (None: no edits)."""

    version: int | None
    experiment: VariantAssignment | None
    campaign: Campaign | None
    effects: tuple[Effect, ...] = ()


def is_experiment_suppressed(campaign: Campaign | None, slug: str) -> bool:
    """A campaign replacing the whole page hides any experiment on it."""
    return campaign is not None and campaign.replaces(slug)


def choose_layout(
    published: PublishedLayout, campaign: Campaign | None, assignment: VariantAssignment | None
) -> LayoutChoice:
    """The version, experiment and effects for one page view, in the order the rules apply."""
    if is_experiment_suppressed(campaign, published.slug):
        assignment = None
    version = None
    if assignment is not None and assignment.layout_version != published.number:
        version = assignment.layout_version  # a variant swaps the version...
    if campaign is None:
        return LayoutChoice(version, assignment, None)
    effects = campaign.effects_for(published.slug)
    for effect in effects:
        if effect.kind == "replace" and effect.version is not None:
            version = effect.version  # ...and a replace beats both the published and the variant version
    return LayoutChoice(version, assignment, campaign, effects)


def is_degraded(resolved: Iterable[ResolvedSlot]) -> bool:
    """A page is degraded when any of its slots is (served from a fallback or left short)."""
    return any(slot.outcome.is_degraded for slot in resolved)
