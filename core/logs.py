"""One logging configuration for a Tessera process, made at start-up by `create_app`.

Modules log through `logging.getLogger(__name__)`; this gives the root logger one
stream handler (time, level, logger name, message) and the configured level.
Calling it again (tests build many apps) replaces the level and adds no second
handler, so no line is ever printed twice. Handlers that others add to the root
logger (pytest's capture, an operator's config) are left alone.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
HANDLER_NAME = "tessera"


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time of the record (as logging's own
    last-resort handler does), so a swapped or closed stderr from an earlier test or
    a daemonized server never receives a line."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def configure_logging(level: str) -> logging.Handler:
    """Send every module's records at or above `level` to stderr in one format; returns the handler."""
    numeric = logging.getLevelNamesMapping().get(level.upper())
    if numeric is None:
        raise ValueError(f"unknown log level {level!r}")
    root = logging.getLogger()
    handler = next((h for h in root.handlers if h.get_name() == HANDLER_NAME), None)
    if handler is None:
        handler = _CurrentStderrHandler()
        handler.set_name(HANDLER_NAME)
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    root.setLevel(numeric)
    return handler
