"""The root logger's state, shared by the logging tests: they configure it, then must put it back."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from core.logs import HANDLER_NAME


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    """Also writes out access lines earlier tests queued (`core.logs` writes them in batches), before
    this test captures stderr (autouse fixtures are set up first), and this test's own at its end."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    _flush_ours()
    yield
    _flush_ours()
    root.handlers[:] = handlers
    root.setLevel(level)


def _flush_ours() -> None:
    for handler in our_handlers():
        handler.flush()


def our_handlers() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if h.get_name() == HANDLER_NAME]
