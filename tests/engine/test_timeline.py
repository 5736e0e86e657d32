"""The hash-chained timeline catches an edited, a deleted and a reordered event, and names the first."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import delete, select, update

from demo.scenarios import an_elevator, complete
from engine.models import TimelineEvent
from engine.timeline_store import verify_cases
from liftcase.cli import main
from processes.intake import open_or_join
from processes.system import System


def _case_with_history(system: System) -> int:
    case_id = open_or_join(
        system.engine, system.settings.sla_file, "rescue", elevator_id=an_elevator(system), signal={"source": "qr"}
    ).case_id
    complete(system, case_id, "verify_dispatch", {"outcome": "dispatch"}, "dispatcher")
    return case_id


def _ids(system: System, case_id: int) -> list[int]:
    with system.sessions() as session:
        return list(
            session.scalars(
                select(TimelineEvent.id).where(TimelineEvent.case_id == case_id).order_by(TimelineEvent.seq)
            )
        )


def test_intact_chain_verifies(system: System) -> None:
    _case_with_history(system)
    checked, breaks = verify_cases(system.sessions)
    assert checked == 1 and breaks == []


def test_edited_event_is_caught_at_that_event(system: System) -> None:
    case_id = _case_with_history(system)
    target = _ids(system, case_id)[2]
    with system.sessions() as session, session.begin():
        session.execute(update(TimelineEvent).where(TimelineEvent.id == target).values(actor="someone-else"))
        seq = session.get(TimelineEvent, target).seq
    _, breaks = verify_cases(system.sessions)
    assert [(b.seq, "edited" in b.reason) for b in breaks] == [(seq, True)]


def test_deleted_event_is_caught(system: System) -> None:
    case_id = _case_with_history(system)
    ids = _ids(system, case_id)
    with system.sessions() as session, session.begin():
        session.execute(delete(TimelineEvent).where(TimelineEvent.id == ids[1]))
    _, breaks = verify_cases(system.sessions)
    assert len(breaks) == 1 and breaks[0].seq == 3 and "expected #2" in breaks[0].reason


def test_deleted_tail_is_caught(system: System) -> None:
    case_id = _case_with_history(system)
    with system.sessions() as session, session.begin():
        session.execute(delete(TimelineEvent).where(TimelineEvent.id == _ids(system, case_id)[-1]))
    _, breaks = verify_cases(system.sessions)
    assert len(breaks) == 1 and "tail deleted" in breaks[0].reason


def test_reordered_events_are_caught(system: System) -> None:
    """Swap the content of two rows (ids keep their order): the chain no longer links."""
    case_id = _case_with_history(system)
    a, b = _ids(system, case_id)[1:3]
    cols = ("seq", "kind", "at", "actor", "payload", "prev_hash", "hash")
    with system.sessions() as session, session.begin():
        ra, rb = session.get(TimelineEvent, a), session.get(TimelineEvent, b)
        va, vb = ({c: getattr(r, c) for c in cols} for r in (ra, rb))
        session.execute(update(TimelineEvent).where(TimelineEvent.id == a).values(seq=-1))
        session.flush()
        session.execute(update(TimelineEvent).where(TimelineEvent.id == b).values(**va))
        session.execute(update(TimelineEvent).where(TimelineEvent.id == a).values(**vb))
    _, breaks = verify_cases(system.sessions)
    assert len(breaks) == 1 and breaks[0].seq == 3 and "reorder" in breaks[0].reason


def test_cli_names_the_first_broken_link_and_fails(system: System, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    case_id = _case_with_history(system)
    with system.sessions() as session, session.begin():
        session.execute(
            update(TimelineEvent).where(TimelineEvent.id == _ids(system, case_id)[0]).values(payload={"forged": True})
        )
    monkeypatch.setenv("LIFTCASE_DATABASE_URL", system.settings.database_url)
    result = CliRunner().invoke(main, ["verify-timeline"])
    assert result.exit_code == 1
    assert "event #1: content does not match its hash (edited)" in result.output
