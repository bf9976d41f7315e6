"""One logging configuration for a Tessera process, made at start-up by `create_app`.

Modules log through `logging.getLogger(__name__)`; this gives the root logger one
stream handler and the configured level. Lines are JSON objects by default (one per
record: time, level, logger, message, the request id while a request is served, and
the access fields of `tessera.access`), or plain text for people (`TESSERA_LOG_FORMAT=text`).
Calling it again (tests build many apps) replaces the level and adds no second
handler, so no line is ever printed twice. Handlers that others add to the root
logger (pytest's capture, an operator's config) are left alone.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from contextvars import ContextVar
from typing import TextIO

import orjson

from core import metrics

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
HANDLER_NAME = "tessera"
LOG_FORMATS = ("json", "text")
# The fields a record may carry into a JSON line beyond its message (see `web.install`'s access log).
EXTRA_FIELDS = ("request_id", "method", "route", "endpoint", "status", "ms")

request_id: ContextVar[str | None] = ContextVar("tessera_request_id", default=None)


class _RequestId(logging.Filter):
    """Stamps every record made while a request is served with that request's id."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return True


_second: tuple[int, str] = (-1, "")  # the last second formatted, swapped whole (threads share it)


def _timestamp(created: float) -> str:
    """ISO 8601 UTC with milliseconds; the date and time are formatted once per second, as an
    access line per request made formatting them each time a measurable share of a resolve."""
    global _second
    second = int(created)
    held = _second
    if held[0] != second:
        held = _second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return f"{held[1]}.{int((created - second) * 1000):03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per record. Only the message and the known fields are written: callers must
    keep shopper ids and tokens out of both (routes are logged as rules, never as paths)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": _timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({name: value for name in EXTRA_FIELDS if (value := getattr(record, name, None)) is not None})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


ACCESS_LOGGER = "tessera.access"
ACCESS_FLUSH_S = 0.2  # the longest an access line waits before it is written


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time of writing (as logging's own last-resort
    handler does), so a swapped or closed stderr from an earlier test or a daemonized server never
    receives a line.

    Access lines (one per request, INFO of `tessera.access`) are queued and written together by a
    background thread at least every `ACCESS_FLUSH_S`: under load, a write and the handler's lock per
    request cost about a tenth of a resolve's time in lock hand-offs between a worker's threads.
    Every other record is written at once, after the queued lines, so a warning or a crash's
    traceback is never held back and lines keep their order."""

    def __init__(self) -> None:
        super().__init__()
        self._queued: deque[str] = deque()  # appends and pops are atomic: no lock per record
        self._write_lock = threading.Lock()
        self._writer: threading.Thread | None = None
        os.register_at_fork(after_in_child=self._forget_writer)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass

    def handle(self, record: logging.LogRecord) -> bool:
        """As `Handler.handle`, without the handler's lock: `emit` is safe without it."""
        if not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + "\n"
        except Exception:  # noqa: BLE001 - logging's own convention: report, never raise
            self.handleError(record)
            return
        self._queued.append(line)
        if record.name == ACCESS_LOGGER and record.levelno <= logging.INFO:
            self._ensure_writer()
        else:
            self.flush()

    def flush(self) -> None:
        """Write every queued line now, in order."""
        with self._write_lock:
            lines = []
            while True:
                try:
                    lines.append(self._queued.popleft())
                except IndexError:
                    break
            if not lines:
                return
            try:
                stream = self.stream
                stream.write("".join(lines))
                stream.flush()
            except (OSError, ValueError):  # stderr closed (a daemon, a finished test): nowhere to write
                pass

    def _ensure_writer(self) -> None:
        if self._writer is not None:
            return
        with self._write_lock:
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_queued, name="log-writer", daemon=True)
                self._writer.start()

    def _write_queued(self) -> None:
        while True:
            time.sleep(ACCESS_FLUSH_S)
            self.flush()

    def _forget_writer(self) -> None:
        """A forked child has no writer thread (and a fresh lock): it starts its own when needed."""
        self._writer = None
        self._write_lock = threading.Lock()


def configure_logging(level: str, log_format: str = "json") -> logging.Handler:
    """Send every module's records at or above `level` to stderr in one format; returns the handler."""
    numeric = logging.getLevelNamesMapping().get(level.upper())
    if numeric is None:
        raise ValueError(f"unknown log level {level!r}")
    if log_format not in LOG_FORMATS:
        raise ValueError(f"unknown log format {log_format!r}; one of {', '.join(LOG_FORMATS)}")
    root = logging.getLogger()
    handler = next((h for h in root.handlers if h.get_name() == HANDLER_NAME), None)
    if handler is None:
        handler = _CurrentStderrHandler()
        handler.set_name(HANDLER_NAME)
        handler.addFilter(_RequestId())
        root.addHandler(handler)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(FORMAT))
    root.setLevel(numeric)
    return handler


class FailureLog:
    """A dependency's failures (Redis, the database, the recommender) as a few log lines, not a
    flood: the first failure is logged, then at most one line per `every_s` saying how many more
    there were, and one line when the dependency works again. No traceback: the exception's type
    and message say what is wrong, and a traceback per request wrote 1,250 of them in one 26 s
    Redis outage. Thread-safe; `recovered()` costs one attribute read while all is well."""

    def __init__(
        self,
        logger: logging.Logger,
        dependency: str,
        every_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._dependency = dependency
        self._every_s = every_s
        self._clock = clock
        self._lock = threading.Lock()
        self._is_down = False
        self._last_logged = -math.inf
        self._suppressed = 0

    @property
    def is_down(self) -> bool:
        return self._is_down

    def failed(self, what: str, error: BaseException) -> None:
        metrics.DEPENDENCY_ERRORS.labels(self._dependency).inc()
        with self._lock:
            now = self._clock()
            self._is_down = True
            if now - self._last_logged < self._every_s:
                self._suppressed += 1
                return
            more, self._suppressed, self._last_logged = self._suppressed, 0, now
        since = f" ({more} more failures since the last line)" if more else ""
        self._logger.warning("%s failed: %s (%s: %s)%s", self._dependency, what, type(error).__name__, error, since)

    def recovered(self) -> None:
        if not self._is_down:
            return
        with self._lock:
            if not self._is_down:
                return
            more, self._is_down, self._suppressed, self._last_logged = self._suppressed, False, 0, -math.inf
        since = f" ({more} failures since the last line)" if more else ""
        self._logger.warning("%s works again%s", self._dependency, since)
