"""What storefront workers share beside the database: announcements of a new published-state
version, and its last-known-good copy (see `core.published_state`).

`RedisStateShare` keeps both in Redis: announcements on a pub/sub channel (a worker that misses
one still catches up by its own version check), the copy under one key, so a worker starting on a
node whose instance folder has none still finds one.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

log = logging.getLogger(__name__)


class StateShare(Protocol):
    """What workers share beside the database: version announcements and a last-known-good copy."""

    def announce(self, version: int) -> None: ...

    def wait_for_announcement(self, timeout_s: float) -> int | None: ...

    def save_copy(self, text: str) -> None: ...

    def load_copy(self) -> str | None: ...

    def close(self) -> None: ...


class RedisStateShare:
    """Announcements on a pub/sub channel and the last-known-good copy under one key."""

    def __init__(self, url: str, prefix: str = "tessera:") -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=0.5)
        self._channel = prefix + "published-state"
        self._copy_key = prefix + "published-state:copy"
        self._pubsub: Any = None

    def announce(self, version: int) -> None:
        self._redis.publish(self._channel, str(version))

    def wait_for_announcement(self, timeout_s: float) -> int | None:
        if self._pubsub is None:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(self._channel)
            self._pubsub = pubsub
        try:
            message = self._pubsub.get_message(timeout=timeout_s)
        except Exception:
            self._drop_subscription()
            raise
        if message is None or message.get("type") != "message":
            return None
        try:
            return int(message["data"])
        except (TypeError, ValueError):
            return None

    def save_copy(self, text: str) -> None:
        self._redis.set(self._copy_key, text.encode("utf-8"))

    def load_copy(self) -> str | None:
        raw: Any = self._redis.get(self._copy_key)
        return None if raw is None else bytes(raw).decode("utf-8")

    def close(self) -> None:
        self._drop_subscription()
        self._redis.close()

    def _drop_subscription(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            try:
                pubsub.close()
            except Exception:  # noqa: BLE001 - it is being thrown away
                log.debug("closing a broken subscription failed", exc_info=True)
