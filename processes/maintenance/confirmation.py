"""The use unit's answer to a maintenance visit (维保记录使用单位签字确认): the states, the one table of
moves between them, and the use unit's list of its elevators' visits. Reads only; the writes and
what follows them are confirmation_flows.py's."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from processes.maintenance.models import MaintenanceVisit
from processes.maintenance.service import visit_dict
from registry.models import Elevator, Organisation
from registry.scope import Scope, elevators_visible


class Confirmation(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    DISPUTED = "disputed"


LISTED = ("pending", "disputed", "confirmed", "all")


class AnswerConflict(ValueError):
    """The visit already holds an answer the new one would contradict (409)."""


def move(current: str, answer: Confirmation, *, same_reason: bool = True) -> Literal["write", "unchanged"]:
    """What an answer does to a visit in state `current`. The same answer again changes nothing (a
    second tap, or a retry over a weak phone connection, must not fail nor move the time of
    signature); a signed visit is not disputed afterwards; a disputed one is confirmed once the
    maintenance unit has put it right; a second dispute with other words is refused rather than
    silently dropped."""
    match (current, answer):
        case (Confirmation.PENDING, _):
            return "write"
        case (Confirmation.DISPUTED, Confirmation.CONFIRMED):
            return "write"
        case (Confirmation.CONFIRMED, Confirmation.CONFIRMED):
            return "unchanged"
        case (Confirmation.DISPUTED, Confirmation.DISPUTED) if same_reason:
            return "unchanged"
        case (Confirmation.DISPUTED, Confirmation.DISPUTED):
            raise AnswerConflict("the visit is already disputed with another reason; the maintenance unit was told")
        case (Confirmation.CONFIRMED, Confirmation.DISPUTED):
            raise AnswerConflict("the visit was already confirmed and cannot be disputed now")
    raise AnswerConflict(f"a visit in state {current!r} cannot be answered {answer.value!r}")


def answerable(scope: Scope) -> Any:
    """Visits of the elevators the signed-in use unit uses (the scope in the query, not after it)."""
    return MaintenanceVisit.elevator_id.in_(
        select(Elevator.id).where(Elevator.use_unit_id == scope.organisation_id, elevators_visible(scope))
    )


def visits_to_answer(
    session: Session, scope: Scope, *, status: str = "pending", limit: int = 100
) -> list[dict[str, Any]]:
    """The use unit's visits in `status` (pending: awaiting its answer, oldest first; the others
    newest first), each with the elevator's code and address and the maintenance unit's name."""
    stmt = (
        select(MaintenanceVisit, Elevator.register_code, Elevator.address, Organisation.name)
        .join(Elevator, Elevator.id == MaintenanceVisit.elevator_id)
        .join(Organisation, Organisation.id == MaintenanceVisit.maintenance_unit_id)
        .where(answerable(scope))
        .limit(limit)
    )
    if status != "all":
        stmt = stmt.where(MaintenanceVisit.confirmation == status)
    if status == Confirmation.PENDING:
        stmt = stmt.order_by(MaintenanceVisit.maintained_on, MaintenanceVisit.id)
    else:
        stmt = stmt.order_by(MaintenanceVisit.maintained_on.desc(), MaintenanceVisit.id.desc())
    return [
        answer_dict(visit) | {"register_code": code, "address": address, "maintenance_unit": unit}
        for visit, code, address, unit in session.execute(stmt)
    ]


def answer_dict(visit: MaintenanceVisit) -> dict[str, Any]:
    faults = sorted(code for code, result in (visit.results or {}).items() if result == "fault")
    return visit_dict(visit) | {
        "items": len(visit.results or {}),
        "faults": faults,
    }
