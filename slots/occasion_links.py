"""Occasion links: a row of links to occasion pages; static content, no items."""

from slots import SlotType

SLOT_TYPE = SlotType(name="occasion_links", kind="static")
