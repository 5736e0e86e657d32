"""A check-in: the tag or code checked against the register, the position against the elevator,
the row written, and, for a case, a timeline entry in the same transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.models import Case, CaseStatus, EventKind
from engine.timeline_store import append_entries
from processes.checkin.models import CheckIn
from processes.checkin.service import position_check
from processes.system import System
from processes.visibility import cases_visible
from registry.models import Elevator
from registry.scope import Scope, elevators_visible
from registry.tags import service as tags
from registry.tags.service import TagError


class CheckinRefused(ValueError):
    """The check-in proves nothing and is not kept; `errors` is field -> messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def check_in(
    system: System,
    scope: Scope,
    *,
    elevator_id: int | None = None,
    uid: str | None = None,
    code: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    case_id: int | None = None,
) -> CheckIn:
    """Record that the signed-in technician is at an elevator. The tag (by `uid`, read over NFC, or
    by its printed `code`) names the elevator; when `elevator_id` is given too, a tag of another
    elevator is refused, and so is a retired or unknown tag. Without a tag, `elevator_id` and the
    phone's position (if any) are recorded. The user must see the elevator, or the case."""
    now = system.clock.now()
    max_m = system.settings.checkin_max_distance_m
    with system.sessions() as session, session.begin():
        tag = None
        if uid or code:
            field = "uid" if uid else "code"
            try:
                tag = tags.find(session, uid=uid, code=code)
            except TagError as err:
                raise CheckinRefused(err.errors) from err
            if tag is None:
                raise CheckinRefused({field: ["this tag is not in the register"]})
            if not tag.active:
                raise CheckinRefused({field: ["this tag was retired and proves nothing; use the tag that replaced it"]})
            if elevator_id is not None and tag.elevator_id != elevator_id:
                raise CheckinRefused({field: ["this tag belongs to another elevator"]})
            elevator_id = tag.elevator_id
        if elevator_id is None:
            raise CheckinRefused({"elevator_id": ["read a tag, or name the elevator"]})
        elevator = session.get(Elevator, elevator_id)
        case = session.get(Case, case_id) if case_id is not None else None
        if case_id is not None and (case is None or not _sees_case(session, scope, case_id)):
            raise CheckinRefused({"case_id": ["no such case in your scope"]})
        if case is not None and case.elevator_id != elevator_id:
            raise CheckinRefused({"case_id": ["this case is about another elevator"]})
        if case is not None and case.status != CaseStatus.OPEN:
            raise CheckinRefused({"case_id": ["this case is no longer open"]})
        if elevator is None or (case is None and not _sees_elevator(session, scope, elevator_id)):
            raise CheckinRefused({"elevator_id": ["no such elevator in your scope"]})
        distance, within, far = position_check(elevator, lat, lon, max_m)
        if tag is not None:
            method = "tag" if uid else "qr"
        else:
            method = "position" if lat is not None and lon is not None else "none"
        proof = method if method in ("tag", "qr") else ("position" if within else "none")
        row = CheckIn(
            at=now,
            user_id=scope.user_id,
            organisation_id=scope.organisation_id,
            elevator_id=elevator_id,
            tag_id=tag.id if tag else None,
            place=tag.place if tag else None,
            method=method,
            proof=proof,
            lat=lat,
            lon=lon,
            distance_m=distance,
            far=far,
            case_id=case_id,
        )
        session.add(row)
        session.flush()
        if case is not None:
            payload: dict[str, Any] = {
                "flag": "checked_in",
                "checkin_id": row.id,
                "method": method,
                "proof": proof,
                "place": row.place,
                "distance_m": distance,
                "far": far,
            }
            append_entries(session, [(case.id, EventKind.FLAG_SET, payload, scope.username)], now)
        session.expunge(row)
        return row


def _sees_elevator(session: Any, scope: Scope, elevator_id: int) -> bool:
    return session.scalar(select(Elevator.id).where(Elevator.id == elevator_id, elevators_visible(scope))) is not None


def _sees_case(session: Any, scope: Scope, case_id: int) -> bool:
    return session.scalar(select(Case.id).where(Case.id == case_id, cases_visible(scope))) is not None
