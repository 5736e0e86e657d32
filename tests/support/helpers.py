"""Small readers over the database for assertions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.models import Case, CaseTask, Notification, TimelineEvent
from processes.system import System


def events(system: System, case_id: int) -> list[TimelineEvent]:
    with system.sessions() as session:
        return list(
            session.scalars(select(TimelineEvent).where(TimelineEvent.case_id == case_id).order_by(TimelineEvent.seq))
        )


def kinds(system: System, case_id: int, kind: str) -> list[dict[str, Any]]:
    return [e.payload for e in events(system, case_id) if e.kind == kind]


def escalations(system: System, case_id: int) -> list[tuple[int, list[str]]]:
    return [(p["level"], p["roles"]) for p in kinds(system, case_id, "escalated")]


def case(system: System, case_id: int) -> Case:
    with system.sessions() as session:
        found = session.get(Case, case_id)
        assert found is not None
        return found


def tasks(system: System, case_id: int) -> list[CaseTask]:
    with system.sessions() as session:
        return list(session.scalars(select(CaseTask).where(CaseTask.case_id == case_id).order_by(CaseTask.id)))


def open_tasks(system: System, case_id: int) -> list[str]:
    return [t.bpmn_id for t in tasks(system, case_id) if t.status == "open"]


def notified_roles(system: System, case_id: int) -> set[str]:
    with system.sessions() as session:
        return set(session.scalars(select(Notification.role).where(Notification.case_id == case_id)))
