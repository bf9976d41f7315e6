"""An erased shopper stays erased, across restarts and across the change of digest scheme: the key
(derived from the instance's secret key when none is configured) is the same at every start, and
erasures stored as plain SHA-256 before it existed are re-keyed at start."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from core.spool import Spool
from shoppers.erasure_digest import KEYED, LEGACY, ShopperDigest, legacy_digest
from shoppers.events import parse_batch
from shoppers.models import ErasedShopper, EventRow


def spooled_before(path: Path, users: list[str], seconds_ago: float) -> None:
    """Events of `users` that this node's spool took `seconds_ago` (the database was down then)."""
    now = datetime.now(UTC)
    raw = [{"event_id": uuid.uuid4().hex, "type": "page_view", "user_id": user, "page": "home",
            "occurred_at": (now - timedelta(seconds=seconds_ago + 1)).isoformat()} for user in users]  # fmt: skip
    valid, rejected = parse_batch(raw, now)
    assert not rejected
    spool = Spool(path, clock=lambda: time.time() - seconds_ago)
    spool.put("event", [event.as_payload() for _raw, event in valid])
    spool.close()


def events_of(app: Any, users: list[str]) -> set[str]:
    """Whose events are in the database once the app's spool is drained."""
    services = app.extensions["tessera"]
    services.spooled_events.wake()
    deadline = time.monotonic() + 30
    while services.spool.depth("event"):  # acknowledged only after the batch's commit
        assert time.monotonic() < deadline, "the spool was never drained"
        services.spooled_events.wake()
        time.sleep(0.01)
    with services.db.session() as session:
        return set(session.scalars(select(EventRow.user_id).where(EventRow.user_id.in_(users))))


def test_an_erased_shopper_stays_erased_across_a_restart(
    make_app: Any, admin_headers: dict[str, str], tmp_path: Path
) -> None:
    erased, other = f"gone-{uuid.uuid4().hex[:6]}", f"kept-{uuid.uuid4().hex[:6]}"
    first = make_app(secret_key="")  # the key derives from the secret key kept in the instance folder
    assert first.test_client().delete(f"/api/v1/shoppers/{erased}", headers=admin_headers).status_code == 200
    key = first.extensions["tessera"].settings.erasure_digest_key
    first.extensions["tessera"].close()

    spooled_before(tmp_path / "spool.db", [erased, other], seconds_ago=60)  # taken before the erasure
    again = make_app(secret_key="")
    assert again.extensions["tessera"].settings.erasure_digest_key == key
    assert events_of(again, [erased, other]) == {other}
    with again.extensions["tessera"].db.session() as session:
        stored = session.scalars(select(ErasedShopper.user_digest)).all()
    assert ShopperDigest(key).of(erased) in stored and legacy_digest(erased) not in stored


def test_erasures_stored_as_plain_sha256_are_rekeyed_at_start_and_still_hold(
    make_app: Any, db_session: Any, tmp_path: Path
) -> None:
    erased = f"old-{uuid.uuid4().hex[:6]}"
    db_session.execute(insert(ErasedShopper).values(user_digest=legacy_digest(erased), scheme=LEGACY,
                                                    erased_at=datetime.now(UTC)))  # fmt: skip
    db_session.commit()
    spooled_before(tmp_path / "other-instance" / "spool.db", [erased], seconds_ago=60)

    app = make_app(instance_path=tmp_path / "other-instance")
    digests = app.extensions["tessera"].erasure
    rows = db_session.execute(select(ErasedShopper.user_digest, ErasedShopper.scheme)).all()
    assert [tuple(r) for r in rows] == [(digests.of(erased), KEYED)]
    assert events_of(app, [erased]) == set()
