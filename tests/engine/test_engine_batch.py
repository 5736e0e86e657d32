"""Bursts of signals in one transaction (open_or_join_many), case numbers without gaps, and the
bulk writer's guards: each signal gets its own answer, one case per elevator and type, racing
bursts do not open a case twice, the timeline chains stay whole."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text

from engine.models import Case, CaseTask, EventKind, Notification, TimelineEvent
from engine.recorder import StepRecorder
from engine.starts import AlreadyOpen, CaseStart
from engine.timeline_store import verify_cases
from engine.writes import CASES, StaleCase, Writes
from infra.errors import NotFound
from processes.intake import IntakeItem, open_or_join, open_or_join_many
from processes.models import Signal
from processes.system import System
from tests.support.helpers import kinds

WARNING = {"source": "iot", "kind": "door_lock_fault", "warning_type": "door_lock_fault", "recent_count": 1}


def _numbers(system: System) -> list[str]:
    with system.sessions() as session:
        return list(session.scalars(select(Case.number).order_by(Case.number)))


def test_a_burst_answers_each_signal_and_opens_one_case_per_elevator(system: System) -> None:
    sla = system.settings.sla_file
    already = open_or_join(system.engine, sla, "warning", elevator_id=5, signal=WARNING)
    items = [
        IntakeItem("warning", 1, {**WARNING, "idempotency_key": "a"}),
        IntakeItem("warning", 2, WARNING),
        IntakeItem("warning", 1, {**WARNING, "idempotency_key": "b"}),  # a repeat in the same burst
        IntakeItem("warning", 5, WARNING),  # joins the case opened before the burst
        IntakeItem("warning", 1, {**WARNING, "idempotency_key": "a"}),  # the same signal twice
        IntakeItem("rescue", 1, {"source": "iot", "kind": "trapped"}),  # another type: its own case
    ]
    results = open_or_join_many(system.engine, sla, items)

    new1, new2, repeat, joined, dup, rescue = results
    assert not new1.joined and not new2.joined and not rescue.joined
    assert len({new1.case_id, new2.case_id, rescue.case_id, already.case_id}) == 4
    assert (repeat.case_id, repeat.joined, repeat.duplicate) == (new1.case_id, True, False)
    assert (joined.case_id, joined.joined) == (already.case_id, True)
    assert (dup.case_id, dup.duplicate) == (new1.case_id, True)
    # numbers: consecutive per prefix and day, none spent on the joins
    assert _numbers(system) == sorted(["YJ-20261123-0001", "YJ-20261123-0002", "YJ-20261123-0003", "JY-20261123-0001"])
    assert [r.number for r in results] == ["YJ-20261123-0002", "YJ-20261123-0003", None, None, None, "JY-20261123-0001"]
    assert len(kinds(system, new1.case_id, "signal_joined")) == 1
    assert len(kinds(system, already.case_id, "signal_joined")) == 1
    with system.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Signal)) == 2  # keys a and b
        tasks = session.scalars(select(CaseTask).where(CaseTask.case_id == new1.case_id)).all()
        assert [t.bpmn_id for t in tasks] == ["accept_order"] and tasks[0].organisation_id is not None
        queued = session.scalars(select(Notification.id).where(Notification.case_id == new1.case_id)).all()
    event = kinds(system, new1.case_id, "notification_queued")
    assert sorted(i for e in event for i in e["notifications"]) == sorted(queued)
    checked, breaks = verify_cases(system.sessions)
    assert checked == 4 and breaks == []

    # The same burst again: every signal with a key is a duplicate, the others join.
    again = open_or_join_many(system.engine, sla, items)
    assert [r.case_id for r in again] == [r.case_id for r in results]
    assert [r.duplicate for r in again] == [True, False, True, False, True, False]
    assert len(_numbers(system)) == 4


def test_racing_bursts_open_each_case_once(system: System) -> None:
    sla = system.settings.sla_file
    elevators = list(range(10, 30))
    barrier = threading.Barrier(3)
    answers: dict[int, list[int]] = {}
    orders = [elevators, elevators[::-1], elevators[5:] + elevators[:5]]
    errors: list[BaseException] = []

    def burst(n: int, order: list[int]) -> None:
        barrier.wait()
        items = [IntakeItem("warning", e, WARNING) for e in order]
        try:
            answers[n] = [r.case_id for r in open_or_join_many(system.engine, sla, items)]
        except BaseException as err:  # reported by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=burst, args=(n, o)) for n, o in enumerate(orders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(answers) == 3
    by_elevator = [dict(zip(order, answers[n], strict=True)) for n, order in enumerate(orders)]
    assert by_elevator[0] == by_elevator[1] == by_elevator[2]
    with system.sessions() as session:
        opened = session.scalars(select(Case.elevator_id).where(Case.status == "open")).all()
    assert sorted(opened) == elevators
    assert verify_cases(system.sessions)[1] == []


def test_start_cases_reports_open_keys_and_refuses_an_unknown_process(system: System) -> None:
    model = open_or_join(system.engine, system.settings.sla_file, "warning", elevator_id=2, signal=WARNING)
    with system.sessions() as session:
        variables = session.get(Case, model.case_id).variables
    start = CaseStart("warning", "warning", variables, elevator_id=3, correlation_key="k:3")
    first, second = system.engine.start_cases([start, start])
    assert isinstance(first, Case) and isinstance(second, AlreadyOpen) and second.case_id == first.id
    with pytest.raises(AlreadyOpen) as err:
        system.engine.start_case(start)
    assert err.value.case_id == first.id
    with pytest.raises(NotFound):
        system.engine.start_case(CaseStart("no_such_process", "warning", {}))
    with pytest.raises(NotFound):
        system.engine.record(999_999, EventKind.SIGNAL_JOINED, {})
    assert len(_numbers(system)) == 2  # the refused starts took no number


def test_a_number_sequence_lost_or_new_continues_after_the_numbers_given(system: System) -> None:
    """PostgreSQL: the day's sequence starts after the highest number already issued (numbers from
    before an upgrade, or a sequence an operator dropped), so numbers never repeat."""
    if system.db.dialect.name != "postgresql":
        pytest.skip("SQLite numbers come from the counter row")
    sla = system.settings.sla_file
    for e in (1, 2):
        open_or_join(system.engine, sla, "warning", elevator_id=e, signal=WARNING)
    with system.db.begin() as conn:
        conn.execute(text("DROP SEQUENCE case_no_yj_20261123"))
    system.engine.ids.forget()
    third = open_or_join(system.engine, sla, "warning", elevator_id=3, signal=WARNING)
    assert third.number == "YJ-20261123-0003"
    with system.db.begin() as conn:  # dropped behind this process's back: the start is retried
        conn.execute(text("DROP SEQUENCE case_no_yj_20261123"))
    fourth = open_or_join(system.engine, sla, "warning", elevator_id=4, signal=WARNING)
    assert fourth.number == "YJ-20261123-0004"


def test_a_completion_writes_back_only_what_changed(system: System) -> None:
    """A completion that leaves the timers alone does not rewrite them; the version column moves."""
    sla = system.settings.sla_file
    case_id = open_or_join(system.engine, sla, "rescue", elevator_id=7, signal={"source": "qr"}).case_id
    with system.sessions() as session:
        version = session.scalar(select(Case.version).where(Case.id == case_id))
        task_id = session.scalar(select(CaseTask.id).where(CaseTask.case_id == case_id, CaseTask.status == "open"))
    system.engine.record(case_id, EventKind.SIGNAL_JOINED, {"note": "x"})
    case = system.engine.complete_task(task_id, {"outcome": "dispatch"}, actor="dispatcher")
    with system.sessions() as session:
        stored = session.get(Case, case_id)
        assert stored.version == version + 2 == case.version  # the record, then the completion
        assert stored.milestones.get("verify_dispatch")
        seqs = session.scalars(
            select(TimelineEvent.seq).where(TimelineEvent.case_id == case_id).order_by(TimelineEvent.id)
        ).all()
    assert seqs == list(range(1, len(seqs) + 1)) and stored.timeline_seq == len(seqs)
    with system.sessions() as session:  # dispatching started the ladder: its due times are in the table
        timers = session.execute(text("SELECT bpmn_id FROM case_timers WHERE case_id = :c"), {"c": case_id}).all()
    assert timers
    assert verify_cases(system.sessions)[1] == []


def test_a_write_from_a_stale_read_is_refused(system: System) -> None:
    """The version column guards every case write: on SQLite by row count, on PostgreSQL (whose
    pipeline reports no row counts) by the database's check that this transaction wrote the row."""
    case_id = open_or_join(system.engine, system.settings.sla_file, "warning", elevator_id=9, signal=WARNING).case_id
    with system.sessions() as session:
        row = session.execute(select(CASES).where(CASES.c.id == case_id)).one()
    with system.db.begin() as conn:  # someone else's step lands in between
        conn.execute(text("UPDATE cases SET version = version + 1 WHERE id = :c"), {"c": case_id})
    with system.sessions() as session, pytest.raises(StaleCase), session.begin():
        ids = system.engine.ids.source(session)
        recorder = StepRecorder(session, Case(**row._mapping), system.clock.now(), "t", ids=ids)
        recorder.event(EventKind.SIGNAL_JOINED, {"late": True})
        writes = Writes()
        writes.add(recorder, version=row.version, columns=("timeline_seq", "timeline_head"))
        writes.flush(session)
    assert kinds(system, case_id, "signal_joined") == []  # nothing of the refused step was kept
    assert verify_cases(system.sessions)[1] == []


def test_a_write_of_several_cases_with_one_stale_read_is_refused(system: System) -> None:
    """Several cases in one write (a timer batch, entries on many timelines): checked together."""
    sla = system.settings.sla_file
    case_ids = [open_or_join(system.engine, sla, "warning", elevator_id=e, signal=WARNING).case_id for e in (11, 12)]
    with system.sessions() as session:
        rows = session.execute(select(CASES).where(CASES.c.id.in_(case_ids)).order_by(CASES.c.id)).all()
    with system.db.begin() as conn:  # someone else's step lands on the second case in between
        conn.execute(text("UPDATE cases SET version = version + 1 WHERE id = :c"), {"c": case_ids[1]})
    with system.sessions() as session, pytest.raises(StaleCase), session.begin():
        writes = Writes()
        for row in rows:
            recorder = StepRecorder(session, Case(**row._mapping), system.clock.now(), "t")
            recorder.event(EventKind.SIGNAL_JOINED, {"late": True})
            writes.add(recorder, version=row.version, columns=("timeline_seq", "timeline_head"))
        writes.flush(session)
    assert [kinds(system, c, "signal_joined") for c in case_ids] == [[], []]
    assert verify_cases(system.sessions)[1] == []
