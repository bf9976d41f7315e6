"""The unit of work over a real session: a rolled-back change is never dispatched."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from core import changes
from core.changes import PagePublished, RulesChanged
from layout_engine.models import Page


def test_a_rolled_back_unit_of_work_forgets_what_it_recorded(db_session: Any) -> None:
    db_session.execute(update(Page).values(title="Renamed"))  # services record beside their writes
    changes.record(db_session, PagePublished("home", "US"))
    db_session.rollback()
    assert changes.peek(db_session) == []


def test_a_committed_unit_of_work_keeps_its_changes_for_the_dispatcher(db_session: Any) -> None:
    changes.record(db_session, RulesChanged("audience:a"))
    db_session.commit()
    assert changes.take(db_session) == [RulesChanged("audience:a")]
