"""The root logger's state, shared by the logging tests: they configure it, then must put it back."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from core.logs import HANDLER_NAME


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def our_handlers() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if h.get_name() == HANDLER_NAME]
