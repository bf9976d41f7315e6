"""The published state every storefront worker serves from: one immutable snapshot in memory.

Everything a resolve needs that is not about one shopper — pages and their documents, running
experiments, campaigns, audiences, the catalog — is loaded by the parts' owners (`PartLoader`s,
wired in `app.py`) into one `Snapshot` labelled with the database's published-state version
(`core.state_version`), and swapped whole, so a request never sees half of a change. The hot
path reads `PublishedState.current()`: an attribute, no SQL.

How a change reaches every worker:
- the writing process refreshes at once, after its commit (the dispatcher's effect), and
  announces the new version on a Redis channel; every worker's listener wakes its watcher;
- the watcher also checks the version every `poll_s` (one primary-key read), the backstop
  for a missed message or a deployment without Redis, so a change arrives within a second.

Each snapshot built from the database is kept as a last-known-good copy, in Redis and in the
instance folder, as tagged JSON (`core.tagged_json`: only registered types are read back).
A worker that starts while the database is down serves the newest copy it can find; while
the database is unreachable, `faults()` says so and pages are marked degraded.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from core import metrics
from core.clock import Clock, utcnow
from core.db import Database
from core.errors import ServiceUnavailable
from core.logs import FailureLog
from core.private_files import private_folder
from core.state_share import StateShare
from core.state_version import read_version
from core.tagged_json import Codec, CodecError

log = logging.getLogger(__name__)

PartLoader = Callable[[Session, Mapping[str, Any]], Any]  # (session, the parts loaded before it) → part
COPY_FORMAT = 1  # bump when a part's shape changes: older copies are then ignored, not misread
EMPTY_RECHECK_S = 1.0
STALE_REASON = "published_state_unverified"  # the database could not be asked whether the snapshot is current


@dataclass(frozen=True)
class Snapshot:
    version: int
    built_at: datetime
    parts: Mapping[str, Any]
    origin: str = "database"  # or "redis copy" / "file copy" when the database was down at start

    def part(self, name: str) -> Any:
        return self.parts[name]


class PublishedState:
    def __init__(
        self,
        db: Database,
        loaders: Sequence[tuple[str, PartLoader]],
        codec: Codec,
        *,
        copy_path: Path | None = None,
        share: StateShare | None = None,
        poll_s: float = 0.5,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._loaders = tuple(loaders)
        self._codec = codec
        self._copy_path = copy_path
        self._share = share
        self._poll_s = poll_s
        self._clock = clock
        self._snapshot: Snapshot | None = None
        self._pinned: ContextVar[Snapshot | None] = ContextVar(f"tessera-snapshot-{id(self)}", default=None)
        self._build_lock = threading.Lock()
        self._stopped = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._database = FailureLog(log, "database (published state)")
        self._last_verified: datetime | None = None
        db.after_published_change.append(self._after_local_commit)

    # The hot path

    def current(self) -> Snapshot:
        """The snapshot to serve from: the request's pinned one, else the newest. Only a worker's
        first call can read the database (or a copy); a snapshot with no pages is checked again,
        so a store seeded after start-up shows at once."""
        pinned = self._pinned.get()
        if pinned is not None:
            return pinned
        held = self._snapshot
        if held is not None and (held.parts.get("layouts") or self._is_fresh(held)):
            return held
        return self._first_snapshot(rebuild=held is not None)

    @contextmanager
    def pinned(self) -> Iterator[Snapshot]:
        """One snapshot for a whole resolve: a swap in the middle of it (a publish and a stop in one
        commit, say) must not serve the new page with the old experiment."""
        token = self._pinned.set(self.current())
        try:
            yield self._pinned.get() or self.current()
        finally:
            self._pinned.reset(token)

    def faults(self) -> tuple[str, ...]:
        """Why a page served now may be out of date: empty while the database answers."""
        return (STALE_REASON,) if self._database.is_down else ()

    # Keeping it current

    def refresh(self, rebuild: bool = False) -> bool:
        """Check the version and rebuild when it moved (or when asked); True when a new snapshot
        was swapped in. Raises the database's error (the watcher logs it, the dispatcher retries)."""
        with self._db.session() as session:
            version = read_version(session)
        if self._is_current(version) and not rebuild:
            self._verified()
            return False
        with self._build_lock:
            with self._db.session() as session:
                version = read_version(session)
                if self._is_current(version) and not rebuild:
                    self._verified()
                    return False
                held, snapshot = self._snapshot, Snapshot(version, self._clock(), self._load_parts(session))
            self._snapshot = snapshot
        self._verified()
        if held is None or held.version != snapshot.version:
            log.info("published state %d loaded", snapshot.version)
        self._keep_copy(snapshot)
        return True

    def announce(self) -> None:
        """After a change committed here: refresh this worker, then tell the others (raises if
        Redis cannot be told; the dispatcher retries, and their version checks catch up anyway)."""
        self.refresh()
        if self._share is not None and self._snapshot is not None:
            self._share.announce(self._snapshot.version)

    def _after_local_commit(self) -> None:
        """A change committed in this process: serve it from the committer's next request on.
        Best effort (the committed change must not fail here); the watcher catches up otherwise."""
        if self._snapshot is None:
            return  # never served yet: the first request loads the current state anyway
        try:
            self.refresh()
        except Exception as exc:  # noqa: BLE001
            self._database.failed("refreshing the published state after a commit", exc)

    def start(self) -> None:
        """Watch for changes in the background (a version check every `poll_s`, woken early by
        announcements). `poll_s` 0 watches nothing: one process on an in-memory database."""
        if self._threads or self._poll_s <= 0:
            return
        self._threads.append(threading.Thread(target=self._watch, name="published-state", daemon=True))
        if self._share is not None:
            self._threads.append(threading.Thread(target=self._listen, name="published-state-bus", daemon=True))
        for thread in self._threads:
            thread.start()

    def close(self) -> None:
        """Stop watching. The listener is not waited for: it may sit in a one-second read of the
        channel, and it ends by itself (closing the share under it only ends that read early)."""
        self._stopped.set()
        self._wake.set()
        for thread in self._threads[:1]:
            thread.join(timeout=5)
        if self._share is not None:
            self._share.close()

    @property
    def version(self) -> int:
        held = self._snapshot
        return held.version if held is not None else 0

    @property
    def age_s(self) -> float:
        """Seconds since the held snapshot was last confirmed current (its build, if never checked)."""
        held = self._snapshot
        if held is None:
            return 0.0
        return (self._clock() - (self._last_verified or held.built_at)).total_seconds()

    # Inside

    def _first_snapshot(self, rebuild: bool) -> Snapshot:
        """A worker's first snapshot; or, while the store has no pages, a fresh look each time
        (a store seeded after start-up shows at once; an empty store has nothing to serve anyway)."""
        try:
            self.refresh(rebuild=rebuild)
        except Exception as exc:  # noqa: BLE001 - the database is down: serve what was last known good
            self._database.failed("loading the published state", exc)
            if self._snapshot is None:
                self._snapshot = self._from_copies()
        if self._snapshot is None:
            raise ServiceUnavailable("the published state is not loaded yet; try again shortly")
        return self._snapshot

    def _is_fresh(self, held: Snapshot) -> bool:
        """An empty store is looked at again at most once a second, not on every request."""
        return (self._clock() - held.built_at).total_seconds() < EMPTY_RECHECK_S

    def _is_current(self, version: int) -> bool:
        held = self._snapshot
        # `!=`, not `<`: a database restored from a backup is the truth, even at a lower version.
        return held is not None and held.version == version

    def _verified(self) -> None:
        self._last_verified = self._clock()
        self._database.recovered()
        metrics.STATE_VERSION.set(self.version)
        metrics.STATE_AGE.set(0)

    def _load_parts(self, session: Session) -> dict[str, Any]:
        parts: dict[str, Any] = {}
        for name, loader in self._loaders:
            parts[name] = loader(session, parts)
        return parts

    def _watch(self) -> None:
        while not self._stopped.is_set():
            self._wake.wait(self._poll_s)
            self._wake.clear()
            if self._stopped.is_set():
                return
            try:
                self.refresh()
            except Exception as exc:  # noqa: BLE001 - keep serving the snapshot held; say so once
                self._database.failed("checking the published state's version", exc)
                metrics.STATE_AGE.set(self.age_s)

    def _listen(self) -> None:
        assert self._share is not None
        bus = FailureLog(log, "redis (published-state announcements)")
        while not self._stopped.is_set():
            try:
                announced = self._share.wait_for_announcement(timeout_s=1.0)
            except Exception as exc:  # noqa: BLE001 - the version check still runs; listen again later
                if self._stopped.is_set():
                    return  # closed under the read: the worker is shutting down
                bus.failed("listening for announcements", exc)
                self._stopped.wait(1.0)
                continue
            bus.recovered()
            if announced is not None and announced != self.version:
                self._wake.set()

    def _keep_copy(self, snapshot: Snapshot) -> None:
        """Write the last-known-good copy where a worker starting without a database looks."""
        try:
            text = self._codec.dumps({"format": COPY_FORMAT, "version": snapshot.version,
                                      "built_at": snapshot.built_at, "parts": snapshot.parts})  # fmt: skip
        except (TypeError, ValueError) as exc:
            log.error("the published state cannot be kept as a copy: %s", exc)
            return
        if self._copy_path is not None:
            try:
                _write_atomically(self._copy_path, text)
            except OSError as exc:
                log.warning("could not write the published state's copy to the instance folder (%s)", exc)
        if self._share is not None:
            try:
                self._share.save_copy(text)
            except Exception as exc:  # noqa: BLE001 - the file copy still stands
                log.warning("could not keep the published state's copy in redis (%s: %s)", type(exc).__name__, exc)

    def _from_copies(self) -> Snapshot | None:
        """The newest readable copy: Redis (shared by every node), then this node's file."""
        found = [c for c in (self._copy_from_share(), self._copy_from_file()) if c is not None]
        if not found:
            return None
        best = max(found, key=lambda s: s.version)
        log.warning("serving published state %d from its %s: the database is unreachable", best.version, best.origin)
        return best

    def _copy_from_share(self) -> Snapshot | None:
        if self._share is None:
            return None
        try:
            text = self._share.load_copy()
        except Exception as exc:  # noqa: BLE001
            log.warning("no published-state copy from redis (%s: %s)", type(exc).__name__, exc)
            return None
        return None if text is None else self._decode_copy(text, "redis copy")

    def _copy_from_file(self) -> Snapshot | None:
        if self._copy_path is None or not self._copy_path.exists():
            return None
        try:
            text = self._copy_path.read_text(encoding="utf-8")
        except OSError as exc:
            log.warning("no published-state copy from the instance folder (%s)", exc)
            return None
        return self._decode_copy(text, "file copy")

    def _decode_copy(self, text: str, origin: str) -> Snapshot | None:
        try:
            raw = self._codec.loads(text)
            if not isinstance(raw, dict) or raw.get("format") != COPY_FORMAT:
                raise CodecError("written by another version of Tessera")
            return Snapshot(int(raw["version"]), raw["built_at"], dict(raw["parts"]), origin)
        except (CodecError, KeyError, TypeError, ValueError) as exc:
            log.warning("ignoring the published state's %s: %s", origin, exc)
            return None


def _write_atomically(path: Path, text: str) -> None:
    """Write then rename, so a reader (or a crash) never sees half a file; readable by the owner only."""
    private_folder(path.parent)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
