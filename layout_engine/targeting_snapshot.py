"""Audience rules and campaigns as this process holds them: read at most every RULES_TTL_S.

An edit in this process calls `forget` and is served at once; other processes
see it within RULES_TTL_S. A time-travel preview reads the campaigns of its
instant fresh, never from (or into) the held snapshot.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from core.db import Database
from layout_engine import audience_service, campaign_service
from layout_engine.audiences import Rule
from layout_engine.campaign_rules import Campaign

RULES_TTL_S = 5.0  # audiences and campaigns: an edit reaches every process within this


class TargetingSnapshotStore:
    def __init__(self, db: Database, clock: Callable[[], float] = time.monotonic) -> None:
        self._db = db
        self._clock = clock
        self._rules: tuple[float, dict[str, Rule]] | None = None
        self._campaigns: tuple[float, list[Campaign]] | None = None

    def audience_rules(self) -> dict[str, Rule]:
        mono = self._clock()
        if self._rules is None or mono - self._rules[0] > RULES_TTL_S:
            with self._db.session() as session:
                self._rules = (mono, audience_service.rules_in_force(session))
        return self._rules[1]

    def campaigns_for(self, now: datetime, is_time_travel: bool) -> list[Campaign]:
        if is_time_travel:  # a preview at another instant reads the campaigns of that instant
            with self._db.session() as session:
                return campaign_service.campaigns_at(session, now)
        mono = self._clock()
        if self._campaigns is None or mono - self._campaigns[0] > RULES_TTL_S:
            with self._db.session() as session:
                self._campaigns = (mono, campaign_service.active_campaigns(session, now))
        return self._campaigns[1]

    def forget(self) -> None:
        """After an audience or campaign change in this process: read them again at once."""
        self._rules = None
        self._campaigns = None
