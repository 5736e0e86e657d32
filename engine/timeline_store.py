"""Reading stored timelines back and checking their chains (`liftcase verify-timeline`)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from engine.models import Case, TimelineEvent
from engine.timeline import Break, ChainLink, verify_chain


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
