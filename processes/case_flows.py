"""What people and connectors do to a case: open it (or join the open one), comment, escalate,
cancel, attach an AI snapshot. Views and connectors call these; they never drive the engine."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from engine.models import Case, EventKind
from processes import attachments
from processes.attachments import Stored
from processes.intake import IntakeResult, open_or_join
from processes.models import CaseComment
from processes.system import System


def take_signal(
    system: System,
    case_type: str,
    *,
    elevator_id: int | None,
    signal: dict[str, Any],
    actor: str,
    equipment_id: int | None = None,
) -> IntakeResult:
    """A new case of that type, or a join of the elevator's (or other equipment's) open one
    (idempotent on the signal's `idempotency_key`)."""
    return open_or_join(
        system.engine,
        system.sla,
        case_type,
        elevator_id=elevator_id,
        signal=signal,
        actor=actor,
        equipment_id=equipment_id,
    )


# Case types people open by hand, and what the case's `source` says about how it came in.
STARTED_BY_HAND = {"rescue": "phone", "complaint": "phone", "rectification": "inspection", "expiry": "regulator"}
# Those a regulator may open about other special equipment (a boiler's expiry, a crane's nonconformities).
EQUIPMENT_CASES = frozenset({"rectification", "expiry"})


class CannotOpen(ValueError):
    """The case type cannot start from these facts (an expiry without a due date on record)."""


def open_by_hand(
    system: System,
    case_type: str,
    *,
    elevator_id: int | None,
    fields: dict[str, Any],
    actor: str,
    equipment_id: int | None = None,
    reason: str | None = None,
    author_id: int | None = None,
) -> IntakeResult:
    """A case someone opens by hand: a call to 96933 (rescue, complaint), an inspection report
    (rectification), an expiry a regulator found, about an elevator or (expiry, rectification)
    other special equipment. `fields` are the form's other fields; they become the signal. The
    opener's `reason` is the case's first comment (a join's comment on the open case)."""
    if (elevator_id is None) == (equipment_id is None):
        raise CannotOpen("name the elevator or the other equipment the case is about (one of them)")
    if equipment_id is not None and case_type not in EQUIPMENT_CASES:
        allowed = ", ".join(sorted(EQUIPMENT_CASES))
        raise CannotOpen(f"a {case_type} case is about an elevator; equipment cases: {allowed}")
    signal = {k: v.isoformat() if isinstance(v, date | datetime) else v for k, v in fields.items()}
    signal["source"] = STARTED_BY_HAND[case_type]
    if equipment_id is not None:
        signal["equipment_id"] = equipment_id
    try:
        result = take_signal(
            system, case_type, elevator_id=elevator_id, signal=signal, actor=actor, equipment_id=equipment_id
        )
    except ValueError as err:  # the case type's start variables refused the facts
        raise CannotOpen(str(err)) from err
    if reason:
        _comment(system, result.case_id, reason, author=actor, author_id=author_id, actor=actor, shown=reason)
    return result


def _comment(
    system: System, case_id: int, body: str, *, author: str, author_id: int | None, actor: str, shown: str
) -> CaseComment:
    with system.sessions() as session, session.begin():
        comment = CaseComment(
            case_id=case_id, author_id=author_id, author=author, body=body, created_at=system.clock.now()
        )
        session.add(comment)
        session.flush()
    # Its own transaction after the comment's: the timeline entry names the comment's id.
    system.engine.record(case_id, EventKind.COMMENT_ADDED, {"comment": comment.id, "body": shown}, actor=actor)
    return comment


def add_comment(system: System, case_id: int, body: str, *, author: str, author_id: int) -> CaseComment:
    """A user's comment, also written to the case timeline."""
    return _comment(system, case_id, body, author=author, author_id=author_id, actor=author, shown=body)


def add_passenger_note(system: System, case_id: int, note: str) -> CaseComment:
    """A QR caller's note as a case comment where the dispatcher reads it (the timeline keeps the
    note as written)."""
    return _comment(
        system, case_id, f"乘客留言: {note}", author="qr-caller", author_id=None, actor="public", shown=note
    )


def escalate(system: System, case_id: int, *, roles: list[str], reason: str, actor: str) -> Case:
    """Raise the case one level and tell those roles, as a BPMN escalate step would."""
    return system.engine.escalate(case_id, roles=roles, reason=reason, actor=actor)


def cancel(system: System, case_id: int, *, reason: str, actor: str) -> Case:
    """Cancel the case: open tasks and timers end, the timeline says why."""
    return system.engine.cancel_case(case_id, reason, actor=actor)


def attach_snapshot(system: System, case_id: int, stored: Stored, filename: str) -> int:
    """An AI event's stored image on its case, once per image and case (a retried event does not
    attach it twice); the attachment's id."""
    with system.sessions() as session, session.begin():
        return attachments.attach_snapshot(session, case_id, stored, filename, system.clock.now())
