"""Check-in reads without side effects: distances, the strength of a proof, how a rescue's arrival
was proven."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine.models import Case, CaseTask, TaskStatus
from processes.checkin.models import CheckIn
from registry.models import Elevator

# Strongest first: a tag read by NFC, its printed code, the phone's position, nothing.
PROOFS = ("tag", "qr", "position", "none")
ARRIVAL_TASK = "report_arrival"
# A check-in this long after the arrival was reported still proves it (the technician taps the
# tag once the passengers are out).
ARRIVAL_GRACE = timedelta(minutes=15)
EARTH_RADIUS_M = 6_371_000.0


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine), metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


class Positioned(Protocol):
    """An elevator's position: its register row, or the two columns read for it."""

    @property
    def lat(self) -> float | None: ...

    @property
    def lon(self) -> float | None: ...


def position_check(
    elevator: Positioned, lat: float | None, lon: float | None, max_distance_m: float
) -> tuple[float | None, bool, bool]:
    """(distance, within, far) of a reported position: `within` proves presence, `far` flags it.
    Without a position, elevator coordinates or a configured distance, neither."""
    if lat is None or lon is None or elevator.lat is None or elevator.lon is None:
        return None, False, False
    d = round(distance_m(lat, lon, elevator.lat, elevator.lon), 1)
    if max_distance_m <= 0:
        return d, False, False
    return d, d <= max_distance_m, d > max_distance_m


def strongest(proofs: Iterable[str]) -> str:
    return min(proofs, key=PROOFS.index, default="none")


# Built once: every case page and rescue list runs them (building one cost about what running it does).
_ARRIVALS = select(CaseTask.case_id, CaseTask.completed_at, CaseTask.data, CaseTask.organisation_id).where(
    CaseTask.case_id.in_(bindparam("ids", expanding=True)),
    CaseTask.bpmn_id == ARRIVAL_TASK,
    CaseTask.status == TaskStatus.COMPLETED,
)
_POSITIONS = select(Elevator.id, Elevator.lat, Elevator.lon).where(Elevator.id.in_(bindparam("ids", expanding=True)))
_CHECKINS = select(CheckIn).where(
    CheckIn.elevator_id.in_(bindparam("ids", expanding=True)),
    CheckIn.at >= bindparam("earliest", type_=CheckIn.at.type),
    CheckIn.proof != "none",
)


def arrival_proofs(session: Session, cases: Iterable[Case], max_distance_m: float) -> dict[int, dict[str, Any]]:
    """case id -> how its technician's arrival was proven, for the rescues whose arrival was
    reported: the strongest check-in at the case's elevator from the case's opening to the
    arrival (plus a grace period), made for the case or by the arriving unit's people, else the
    position the arrival form gave, else none."""
    by_id = {c.id: c for c in cases if c.case_type == "rescue" and c.elevator_id}
    if not by_id:
        return {}
    arrivals = {
        case_id: (completed_at, data or {}, org_id)
        for case_id, completed_at, data, org_id in session.execute(_ARRIVALS, {"ids": list(by_id)})
        if completed_at is not None
    }
    if not arrivals:
        return {}
    elevators = {e.id: e for e in session.execute(_POSITIONS, {"ids": list({by_id[c].elevator_id for c in arrivals})})}
    earliest = min(by_id[c].opened_at for c in arrivals)
    checkins: dict[int, list[CheckIn]] = {}
    for row in session.scalars(_CHECKINS, {"ids": list(elevators), "earliest": earliest}):
        checkins.setdefault(row.elevator_id, []).append(row)
    out: dict[int, dict[str, Any]] = {}
    for case_id, (arrived_at, data, org_id) in arrivals.items():
        case = by_id[case_id]
        window_end: datetime = arrived_at + ARRIVAL_GRACE
        # A check-in for this case, or one by the arriving unit's people while the case was open.
        found = [
            c
            for c in checkins.get(case.elevator_id or 0, [])
            if (c.case_id == case_id or (c.case_id is None and c.organisation_id == org_id))
            and case.opened_at <= c.at <= window_end
        ]
        best = min(found, key=lambda c: (PROOFS.index(c.proof), c.at), default=None)
        if best is not None:
            out[case_id] = {"proof": best.proof, "checkin_id": best.id, "far": best.far, "distance_m": best.distance_m}
            continue
        elevator = elevators[case.elevator_id or 0]
        d, within, far = position_check(elevator, data.get("lat"), data.get("lon"), max_distance_m)
        out[case_id] = {"proof": "position" if within else "none", "checkin_id": None, "far": far, "distance_m": d}
    for case_id, proof in out.items():
        proof["arrived_at"] = arrivals[case_id][0].isoformat()
        proof["proven"] = proof["proof"] != "none" and not proof["far"]
    return out


def unproven_arrivals(
    session: Session, scope: Any, since: datetime, max_distance_m: float, limit: int = 200
) -> list[dict[str, Any]]:
    """Rescues in the scope opened since `since` whose arrival was reported without proof (or with
    a position far from the elevator), newest first: what a regulator follows up."""
    from processes.visibility import cases_visible

    cases = list(
        session.scalars(
            select(Case)
            .where(
                cases_visible(scope),
                Case.case_type == "rescue",
                Case.opened_at >= since,
                Case.id.in_(
                    select(CaseTask.case_id).where(
                        CaseTask.bpmn_id == ARRIVAL_TASK, CaseTask.status == TaskStatus.COMPLETED
                    )
                ),
            )
            .order_by(Case.opened_at.desc(), Case.id.desc())
            .limit(limit * 4)
        )
    )
    proofs = arrival_proofs(session, cases, max_distance_m)
    out = []
    for case in cases:
        proof = proofs.get(case.id)
        if proof is not None and not proof["proven"]:
            out.append({"case_id": case.id, "number": case.number, "elevator_id": case.elevator_id, **proof})
    return out[:limit]
