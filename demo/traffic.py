"""Simulated experiment traffic for the demo, deterministic given a seed.

Contract: `simulate(...)` is pure (no I/O, no clock) and returns the same `Traffic`
for the same arguments. Who sees which variant is *not* simulated: every visitor's
variant is `experiments.assignment.assign(spec, visitor)`, the function the storefront
itself calls, so the exposures are exactly those real traffic would make. What is
simulated is behaviour, and each arm's truth is an input (`Arm`):

- visitors arrive over [start, end) hour by hour, with a daily rhythm (busy US evenings,
  quiet US nights) and busier weekends; the page view is the exposure;
- a `conversion` share of them order; they all added a card to the cart first, and of
  the rest an `abandon_rate` share add one and leave; everyone who adds to the cart
  clicked a slot before, and of the rest a `click_rate` share click one (higher slots
  get more clicks: weight 1 / position);
- most orders follow within the hour, some days later; one buyer in ten orders again;
  an order that would fall after `end` has not happened yet and is left out (so the
  observed conversion is a little below the arm's);
- order value = card price x quantity, the quantity heavy-tailed (Zipf with exponent 3:
  five orders in six are one card, now and then a whole team's worth) and drawn the
  same way in every arm.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

import numpy as np

from experiments.assignment import ExperimentSpec, assign
from shoppers.events import Event

REPEAT_ORDER_RATE = 0.1
MAX_QUANTITY = 25
QUANTITY_EXPONENT = 3.0
_HOUR = 3600
_DAY = 86_400


@dataclass(frozen=True)
class Arm:
    """How the visitors served one variant truly behave."""

    conversion: float  # share of visitors who order
    slots: tuple[str, ...]  # the variant's slot ids, top of the page first
    abandon_rate: float = 0.08  # share of non-buyers who add a card to the cart and leave
    click_rate: float = 0.3  # share of the others who still click a slot


@dataclass(frozen=True)
class Exposed:
    user_id: str
    variant: int
    first_seen_at: datetime


@dataclass(frozen=True)
class Traffic:
    exposures: tuple[Exposed, ...]
    events: tuple[Event, ...]


def simulate(
    spec: ExperimentSpec,
    arms: Sequence[Arm],
    visitors: Sequence[str],
    cards: Sequence[tuple[str, float]],
    page: str,
    start: datetime,
    end: datetime,
    seed: int | Sequence[int] = 7,
    currency: str = "USD",
) -> Traffic:
    """Exposures and events of `visitors` on `page` between `start` and `end`; same arguments, same traffic."""
    if len(arms) != len(spec.weights) or not cards or end <= start:
        raise ValueError("one arm per variant, at least one card, and end after start")
    served = [(visitor, assign(spec, visitor)) for visitor in visitors]
    users = [visitor for visitor, variant in served if variant is not None]
    variants = np.array([variant for _, variant in served if variant is not None], dtype=np.int64)
    rng = np.random.default_rng(seed)
    span = int((end - start).total_seconds())
    seen = _arrivals(rng, len(users), start, span).tolist()
    visits = _behaviour(rng, arms, variants, len(cards))
    exposures = tuple(
        Exposed(user, variant, start + timedelta(seconds=second))
        for user, variant, second in zip(users, variants.tolist(), seen, strict=True)
    )
    writer = _EventWriter(f"sim-{spec.key}", page, start, span, cards, currency)
    slots = [(arm.slots, _position_cdf(len(arm.slots))) for arm in arms]
    for user, variant, second, visit in zip(users, variants.tolist(), seen, visits, strict=True):
        writer.visit(user, second, visit, *slots[variant])
    return Traffic(exposures, tuple(writer.events))


def _arrivals(rng: np.random.Generator, n: int, start: datetime, span: int) -> np.ndarray:
    """Whole seconds after `start`: an hour picked by its traffic weight, then a second inside it."""
    hours = [start + timedelta(hours=h) for h in range(math.ceil(span / _HOUR))]
    # Peak around 01:00 UTC (8 pm US Eastern), trough twelve hours later; weekends a quarter busier.
    weights = np.array([(1 + 0.6 * math.cos(2 * math.pi * (h.hour - 1) / 24)) * (1.25 if h.weekday() >= 5 else 1.0)
                        for h in hours])  # fmt: skip
    picked = rng.choice(len(hours), size=n, p=weights / weights.sum())
    return np.minimum(picked * _HOUR + rng.integers(0, _HOUR, size=n), span - 1)


class _Visit(NamedTuple):
    """What one visitor does, and when (whole seconds after the page view)."""

    buys: bool
    carts: bool
    clicks: bool
    slot_draw: float
    click_after: int
    cart_after: int
    order_after: int
    card: int
    quantity: int
    repeats: bool
    repeat_after: int
    repeat_card: int
    repeat_quantity: int


def _behaviour(rng: np.random.Generator, arms: Sequence[Arm], variants: np.ndarray, n_cards: int) -> list[_Visit]:
    """Every visitor's visit, drawn column by column."""
    n = len(variants)

    def rate(name: str) -> np.ndarray:
        return np.array([getattr(arm, name) for arm in arms])[variants]

    buys = rng.random(n) < rate("conversion")
    carts = buys | (rng.random(n) < rate("abandon_rate"))
    clicks = carts | (rng.random(n) < rate("click_rate"))
    click_after = 5 + rng.exponential(40, n)
    cart_after = click_after + 10 + rng.exponential(90, n)
    # Most buy in the same visit (~20 minutes); three in ten come back a day or two later.
    order_after = cart_after + np.where(rng.random(n) < 0.7, rng.exponential(1200, n), rng.exponential(1.5 * _DAY, n))
    columns = (
        buys, carts, clicks, rng.random(n), click_after.astype(int), cart_after.astype(int), order_after.astype(int),
        rng.integers(0, n_cards, n), np.minimum(rng.zipf(QUANTITY_EXPONENT, n), MAX_QUANTITY),
        rng.random(n) < REPEAT_ORDER_RATE, (order_after + rng.exponential(4 * _DAY, n)).astype(int),
        rng.integers(0, n_cards, n), np.minimum(rng.zipf(QUANTITY_EXPONENT, n), MAX_QUANTITY),
    )  # fmt: skip
    return list(map(_Visit._make, zip(*(column.tolist() for column in columns), strict=True)))


def _position_cdf(n_slots: int) -> list[float]:
    weights = [1 / (position + 1) for position in range(n_slots)]
    return [sum(weights[: k + 1]) / sum(weights) for k in range(n_slots)]


class _EventWriter:
    """Numbers events and orders as they are written; drops those that would fall after the end."""

    def __init__(
        self, prefix: str, page: str, start: datetime, span: int, cards: Sequence[tuple[str, float]], currency: str
    ) -> None:
        self.prefix, self.page, self.start, self.span = prefix, page, start, span
        self.cards, self.currency = cards, currency
        self.events: list[Event] = []
        self.orders = 0

    def visit(self, user: str, second: int, visit: _Visit, slots: tuple[str, ...], slot_cdf: list[float]) -> None:
        """The page view (the exposure), then whatever the visitor went on to do."""
        self.add("page_view", user, second)
        if visit.clicks:
            slot = slots[min(bisect_right(slot_cdf, visit.slot_draw), len(slots) - 1)]
            self.add("click", user, second + visit.click_after, slot_id=slot, card=visit.card)
        if visit.carts:
            self.add("add_to_cart", user, second + visit.cart_after, card=visit.card)
        if visit.buys:
            self.order(user, second + visit.order_after, visit.card, visit.quantity)
        if visit.buys and visit.repeats:
            self.order(user, second + visit.repeat_after, visit.repeat_card, visit.repeat_quantity)

    def add(self, kind: str, user: str, second: int, slot_id: str | None = None, card: int | None = None) -> None:
        if second >= self.span:
            return
        item = None if card is None else self.cards[card][0]
        self.events.append(Event(f"{self.prefix}-{len(self.events) + 1}", kind, user,
                                 self.start + timedelta(seconds=second), page=self.page, slot_id=slot_id,
                                 item_id=item))  # fmt: skip

    def order(self, user: str, second: int, card: int, quantity: int) -> None:
        if second >= self.span:
            return
        self.orders += 1
        item, price = self.cards[card]
        self.events.append(Event(f"{self.prefix}-{len(self.events) + 1}", "order", user,
                                 self.start + timedelta(seconds=second), item_id=item,
                                 order_id=f"{self.prefix}-order-{self.orders}", revenue=round(price * quantity, 2),
                                 currency=self.currency))  # fmt: skip
