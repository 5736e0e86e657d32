"""Reads and writes behind the public pages: an elevator's public facts, tracking links, progress."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import Case, CaseStatus
from infra.settings import CITY_TZ
from processes.case_context import case_contexts
from processes.catalogue import CASE_TYPES
from registry.models import Elevator, Organisation


@dataclass(frozen=True)
class ElevatorFacts:
    """What a passenger may see: nothing about people, only the elevator and who answers for it."""

    id: int
    qr_code: str
    register_code: str
    address: str
    use_unit: str
    maintenance_unit: str
    maintenance_phone: str | None
    last_maintenance: date | None
    next_inspection: date | None
    inspection_overdue: bool
    stop_use: bool


def elevator_facts(session: Session, code: str, today: date) -> ElevatorFacts | None:
    """The elevator behind a QR code (or None: unknown codes answer 404, revealing nothing)."""
    elevator = session.scalar(select(Elevator).where(Elevator.qr_code == code))
    if elevator is None:
        return None
    use = session.get(Organisation, elevator.use_unit_id)
    maint = session.get(Organisation, elevator.maintenance_unit_id)
    last = elevator.last_maintenance_at.astimezone(CITY_TZ).date() if elevator.last_maintenance_at else None
    due = elevator.next_inspection_due
    return ElevatorFacts(
        id=elevator.id,
        qr_code=elevator.qr_code,
        register_code=elevator.register_code,
        address=elevator.address,
        use_unit=use.name if use else "",
        maintenance_unit=maint.name if maint else "",
        maintenance_phone=maint.phone if maint else None,
        last_maintenance=last,
        next_inspection=due,
        inspection_overdue=bool(due and due < today),
        stop_use=elevator.stop_use,
    )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_link(session: Session, *, case_id: int, elevator_id: int, kind: str, joined: bool, now: datetime) -> str:
    """A new unguessable token (144 bits) for one caller; returns the token, stores its hash."""
    from connectors.qr.models import TrackingLink

    token = secrets.token_urlsafe(18)
    session.add(
        TrackingLink(
            token_sha256=_digest(token),
            case_id=case_id,
            elevator_id=elevator_id,
            kind=kind,
            joined=joined,
            created_at=now,
        )
    )
    return token


@dataclass(frozen=True)
class Milestone:
    name: str  # reported, dispatched, accepted, ...; the page translates it
    at: datetime | None  # local time when reached


@dataclass(frozen=True)
class Progress:
    number: str
    kind: str
    status: str  # open | closed | cancelled | failed
    close_reason: str | None
    address: str
    milestones: list[Milestone]
    eta: datetime | None = None  # when the technician said they would arrive, until they are there


def progress(session: Session, token: str) -> Progress | None:
    """The case's milestones behind a tracking token; no names, phones or notes."""
    from connectors.qr.models import TrackingLink

    if not token or len(token) > 64:
        return None
    link = session.scalar(select(TrackingLink).where(TrackingLink.token_sha256 == _digest(token)))
    if link is None:
        return None
    case = session.get(Case, link.case_id)
    elevator = session.get(Elevator, link.elevator_id)
    if case is None or elevator is None:
        return None
    reached = case.milestones or {}
    steps = [Milestone("reported", case.opened_at.astimezone(CITY_TZ))]
    seen = {"reported"}
    for bpmn_id, name in CASE_TYPES[case.case_type].milestones.items():
        at = reached.get(bpmn_id)
        when = datetime.fromisoformat(at).astimezone(CITY_TZ) if at else None
        if name in seen:  # two tasks may mark the same milestone (answered by either unit)
            if when is not None:
                steps = [Milestone(m.name, m.at or when) if m.name == name else m for m in steps]
            continue
        seen.add(name)
        steps.append(Milestone(name, when))
    if "closed" not in seen:
        steps.append(Milestone("closed", None))
    if case.status != CaseStatus.OPEN and case.closed_at is not None:
        steps = [Milestone(m.name, case.closed_at.astimezone(CITY_TZ)) if m.name == "closed" else m for m in steps]
    eta = None
    arrived = any(m.name == "on_site" and m.at for m in steps)
    if case.status == CaseStatus.OPEN and not arrived:
        eta_at = case_contexts(session, [case]).get(case.id, {}).get("eta_at")
        eta = datetime.fromisoformat(eta_at).astimezone(CITY_TZ) if eta_at else None
    return Progress(
        number=case.number,
        kind=link.kind,
        status=case.status,
        close_reason=case.close_reason,
        address=elevator.address,
        milestones=steps,
        eta=eta,
    )
