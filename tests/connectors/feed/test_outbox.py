"""The outbox is written in the event's own transaction: a rolled-back entry is never placed in the
feed, and an entry that commits after a later one was placed still gets a position after every
cursor a reader already holds (nothing committed is skipped)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from connectors.feed import flows, service
from connectors.feed.models import FeedEvent
from engine.models import EventKind, FeedOutbox
from engine.timeline_store import append_entries
from infra.clock import SimulatedClock
from processes.system import System
from registry.models import Organisation, User
from registry.scope import Scope
from tests.connectors.feed.conftest import open_cases


def _city_scope(system: System) -> Scope:
    with system.sessions() as session:
        user = session.scalar(select(User).where(User.username == "city_regulator"))
        assert user is not None
        return Scope.of(user, session.get(Organisation, user.organisation_id))


def test_rolled_back_entries_never_reach_the_feed(system: System, clock: SimulatedClock) -> None:
    (case_id,) = open_cases(system, [1], comments=0)
    flows.sequence(system)
    with system.sessions() as session:
        before = session.scalar(select(func.count()).select_from(FeedEvent))
    with system.sessions() as session:
        session.begin()
        append_entries(session, [(case_id, EventKind.COMMENT_ADDED, {"text": "never"}, "x")], clock.now())
        assert session.scalar(select(func.count()).select_from(FeedOutbox)) == 1
        session.rollback()
    assert flows.sequence(system) == 0
    with system.sessions() as session:
        assert session.scalar(select(func.count()).select_from(FeedEvent)) == before


def test_a_late_commit_lands_after_every_cursor_already_given(system: System, clock: SimulatedClock) -> None:
    if system.db.dialect.name != "postgresql":
        pytest.skip("two writers at once: PostgreSQL")
    first, second = open_cases(system, [1, 2], comments=0)
    flows.sequence(system)
    scope = _city_scope(system)
    with system.sessions() as session:
        cursor = max(e.position for e in service.events_after(session, scope, 0, 500))
    slow = system.sessions()
    slow.begin()  # takes its outbox id first, commits last
    append_entries(slow, [(first, EventKind.COMMENT_ADDED, {"text": "slow"}, "x")], clock.now())
    with system.sessions() as session, session.begin():
        append_entries(session, [(second, EventKind.COMMENT_ADDED, {"text": "fast"}, "x")], clock.now())
    assert flows.sequence(system) == 1  # the uncommitted one is not visible, so not placed
    with system.sessions() as session:
        page = service.events_after(session, scope, cursor, 500)
    assert [e.body["data"]["text"] for e in page] == ["fast"]
    cursor = page[-1].position
    slow.commit()
    slow.close()
    assert flows.sequence(system) == 1
    with system.sessions() as session:
        page = service.events_after(session, scope, cursor, 500)
    assert [e.body["data"]["text"] for e in page] == ["slow"]  # after the reader's cursor: not skipped
