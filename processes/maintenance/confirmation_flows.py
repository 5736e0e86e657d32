"""The use unit confirms or disputes a maintenance visit: the answer written under a row lock, the
maintenance-overdue case the visit closed (if any) told on its timeline, and on a dispute the
maintenance unit's managers and the visit's technician told in their inboxes (the notices go out
after the commit, like the engine's)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import Case, EventKind, Notification, TimelineEvent
from engine.recorder import QueuedNotices
from engine.timeline_store import append_entries
from processes.maintenance.confirmation import AnswerConflict, Confirmation, answerable, move
from processes.maintenance.models import MaintenanceVisit
from processes.system import System
from registry.models import Elevator, Organisation, Role, User
from registry.scope import Scope

__all__ = ["AnswerConflict", "VisitNotFound", "answer_visit"]


class VisitNotFound(LookupError):
    """No such visit of the signed-in use unit's elevators (another company's visits do not exist
    for it: 404, not 403)."""


def answer_visit(
    system: System, scope: Scope, visit_id: int, answer: Confirmation, *, reason: str | None = None
) -> MaintenanceVisit:
    """Confirm (签字确认) or dispute (提出异议, with a reason) a visit of the use unit's elevators.
    AnswerConflict when the visit's state does not allow it; the same answer again is a no-op."""
    now = system.clock.now()
    reason = (reason or "").strip() or None
    notices: QueuedNotices | None = None
    with system.sessions() as session, session.begin():
        visit: MaintenanceVisit | None = session.scalar(
            select(MaintenanceVisit).where(MaintenanceVisit.id == visit_id, answerable(scope)).with_for_update()
        )
        if visit is None:
            raise VisitNotFound(visit_id)
        if move(visit.confirmation, answer, same_reason=reason == visit.dispute_reason) == "write":
            if answer is Confirmation.CONFIRMED:
                visit.confirmed_at, visit.confirmed_by = now, scope.username
            else:
                visit.disputed_at, visit.disputed_by, visit.dispute_reason = now, scope.username, reason
            visit.confirmation = answer.value
            case_id = closed_case(session, visit)
            if case_id is not None:
                payload = {"flag": f"visit_{answer.value}", "visit_id": visit.id, "reason": reason}
                append_entries(session, [(case_id, EventKind.FLAG_SET, payload, scope.username)], now)
            if answer is Confirmation.DISPUTED:
                ids = _tell_the_unit(session, visit, case_id, now)
                if ids:  # routed by the closed case's priority, like a step's notices
                    priority = session.scalar(select(Case.priority).where(Case.id == case_id)) if case_id else None
                    notices = QueuedNotices(ids, priority)
        session.flush()
        session.expunge(visit)
    if notices is not None:
        system.engine.notifications_queued([notices])
    return visit


def closed_case(session: Session, visit: MaintenanceVisit) -> int | None:
    """The maintenance-overdue case this visit closed (its timeline names `visit:<id>`), if any."""
    named = f"visit:{visit.id}"
    events = session.execute(
        select(TimelineEvent.case_id, TimelineEvent.payload)
        .join(Case, Case.id == TimelineEvent.case_id)
        .where(
            Case.elevator_id == visit.elevator_id,
            Case.case_type == "expiry",
            TimelineEvent.kind == EventKind.MESSAGE_RECEIVED,
            TimelineEvent.at >= visit.recorded_at,
        )
        .order_by(TimelineEvent.id)
    )
    for case_id, payload in events:
        if ((payload or {}).get("payload") or {}).get("record_no") == named:
            return int(case_id)
    return None


def _tell_the_unit(session: Session, visit: MaintenanceVisit, case_id: int | None, now: datetime) -> list[int]:
    """One inbox notice to each active manager of the visit's maintenance unit and to its technician."""
    elevator = session.get(Elevator, visit.elevator_id)
    use_unit = session.get(Organisation, elevator.use_unit_id) if elevator and elevator.use_unit_id else None
    people = session.scalars(
        select(User).where(User.organisation_id == visit.maintenance_unit_id, User.active.is_(True)).order_by(User.id)
    )
    told: list[tuple[str, int]] = []
    for user in people:
        if Role.MAINTENANCE_MANAGER in (user.roles or ()):
            told.append((Role.MAINTENANCE_MANAGER.value, user.id))
        elif user.id == visit.technician_id:
            told.append((Role.MAINTENANCE.value, user.id))
    where = f"{elevator.register_code} {elevator.address}" if elevator else f"#{visit.elevator_id}"
    subject = f"维保记录被使用单位提出异议：{visit.maintained_on.isoformat()} {where}"[:200]
    who = use_unit.name if use_unit else "使用单位"
    body = f"{who}对 {visit.maintained_on.isoformat()} 的维保记录提出异议：{visit.dispute_reason}"
    rows = [
        Notification(
            case_id=case_id,
            role=role,
            organisation_id=visit.maintenance_unit_id,
            user_id=user_id,
            channel="inbox",
            subject=subject,
            body=body,
            dedupe_key=f"visit:{visit.id}:disputed:{role}:{visit.maintenance_unit_id}:{user_id}:inbox",
            status="queued",
            attempts=0,
            created_at=now,
        )
        for role, user_id in told
    ]
    session.add_all(rows)
    session.flush()
    return [n.id for n in rows]
