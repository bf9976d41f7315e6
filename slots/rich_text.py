"""Text block: a heading and paragraphs; static content, no items."""

from slots import SlotType

SLOT_TYPE = SlotType(name="rich_text", kind="static")
