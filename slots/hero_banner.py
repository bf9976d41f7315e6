"""Hero banner: a headline over an image; static content, no items."""

from slots import SlotType

SLOT_TYPE = SlotType(name="hero_banner", kind="static")
