"""The stored timelines: appending entries that are not engine steps, reading them back and
checking their chains (`liftcase verify-timeline`).

Every timeline row is made by StepRecorder.event (the hash chain and the case's head) and written
by engine.writes.Writes: an engine step's entries with its other rows, and entries from outside
a step (a signal joined, a notice delivered, a comment) through append_entries, here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from engine.models import Case, EventKind, TimelineEvent
from engine.recorder import StepRecorder
from engine.timeline import Break, ChainLink, verify_chain
from engine.writes import CASES, TIMELINE_COLUMNS, Writes
from infra.errors import NotFound

# (case id, kind, payload, actor): one entry on a case's timeline.
Entry = tuple[int, EventKind, dict[str, Any], str]
# The case columns an entry reads and writes: not the large workflow state.
_HEAD_COLUMNS = ("id", "number", "status", "version", "timeline_seq", "timeline_head")


def append_entries(session: Session, entries: Sequence[Entry], now: datetime, *, skip_missing: bool = False) -> None:
    """Append entries to their cases' timelines in the caller's transaction: the cases' heads are
    locked in id order (one SELECT), the entries written with one INSERT and the heads moved by
    versioned UPDATEs. A case that does not exist raises NotFound, or is passed over."""
    wanted = sorted({case_id for case_id, *_ in entries})
    rows = {
        r.id: r
        for r in session.execute(
            select(*(CASES.c[k] for k in _HEAD_COLUMNS))
            .where(CASES.c.id.in_(wanted))
            .order_by(CASES.c.id)
            .with_for_update()
        )
    }
    missing = [c for c in wanted if c not in rows]
    if missing and not skip_missing:
        raise NotFound(f"case {missing[0]} not found")
    recorders: dict[int, StepRecorder] = {}
    for case_id, kind, payload, actor in entries:
        if case_id not in rows:
            continue
        recorder = recorders.get(case_id)
        if recorder is None:
            case = Case(**rows[case_id]._mapping)
            recorder = recorders[case_id] = StepRecorder(session, case, now, actor)
        recorder.event(kind, payload, actor=actor)
    writes = Writes()
    for case_id, recorder in recorders.items():
        writes.add(recorder, version=rows[case_id].version, columns=TIMELINE_COLUMNS)
    writes.flush(session)


def chain_link(row: TimelineEvent) -> ChainLink:
    return ChainLink(row.case_id, row.seq, row.kind, row.at, row.actor, row.payload, row.prev_hash, row.hash)


def links_of(session: Session, case_id: int) -> list[ChainLink]:
    rows = session.scalars(select(TimelineEvent).where(TimelineEvent.case_id == case_id).order_by(TimelineEvent.id))
    return [chain_link(r) for r in rows]


def _cases(session: Session, number: str | None) -> Iterator[Case]:
    stmt = select(Case).order_by(Case.id)
    if number:
        stmt = stmt.where(Case.number == number)
    yield from session.scalars(stmt)


def verify_cases(sessions: sessionmaker, number: str | None = None) -> tuple[int, list[Break]]:
    """(cases checked, first break of each broken case). Events are read in insertion order, so a
    reordering of rows shows up as a sequence or prev_hash mismatch."""
    breaks: list[Break] = []
    checked = 0
    with sessions() as session:
        for case in _cases(session, number):
            checked += 1
            found = verify_chain(case.id, links_of(session, case.id), case.timeline_head, case.timeline_seq)
            if found:
                breaks.append(found)
    return checked, breaks
