"""Maintenance supervision in the demo city, so its pages show something at first look: three
check-in tags (car, pit, machine room) on every elevator; some weeks of half-monthly visits by the
demo maintenance unit on the demo property company's elevators, proven by a tag read, on time
and late, the older ones confirmed by the property company, one disputed and the latest ones
awaiting its confirmation (/console/visits); and one rescue whose technician reported arrival
without any proof (/console/arrivals).

`seed_maintenance(system, seed=...)` runs once, after seed_city and the processes' deployment;
the same seed gives the same tags (UIDs and printed codes) on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from demo.scenarios import complete
from infra.settings import CITY_TZ
from processes.checkin.models import CheckIn
from processes.intake import open_or_join
from processes.maintenance import checklist
from processes.maintenance.flows import cycle_days, write_visit
from processes.maintenance.models import MaintenanceVisit
from processes.maintenance.service import local_day
from processes.system import System
from registry.models import Elevator, User
from registry.tags.models import PLACES, CheckinTag
from registry.tags.service import new_code

ACTOR = "demo-seed"
TAGGED_ELEVATORS_PER_BATCH = 2000
VISITED_ELEVATORS = 6
# Days before today of each elevator's visits, with the register's last visit 50 days back: the
# 15-day cycle makes the first two on time, the third late (19 days after the one before), the last on time.
VISIT_DAYS_BACK = (44, 31, 12, 1)


@dataclass(frozen=True)
class Seeded:
    tags: int
    visits: int
    late: int
    pending: int
    disputed: int
    unproven_rescue: int | None


def tag_uid(elevator_id: int, place_index: int) -> str:
    """A 7-byte NTAG-like serial (04 + 5 bytes of the elevator id + the place): unique per tag."""
    return f"04{elevator_id:010X}{place_index:02X}"


def seed_maintenance(system: System, *, seed: int = 20261123) -> Seeded:
    now = system.clock.now()
    with system.sessions() as session, session.begin():
        tags = _tags(session, random.Random(seed), now)
    visits, late, pending, disputed = _visits(system, now)
    rescue = _unproven_rescue(system) if visits else None  # a second run adds nothing
    return Seeded(tags, visits, late, pending, disputed, rescue)


def _tags(session: Session, rng: random.Random, now: datetime) -> int:
    """Three tags per elevator that has none yet; printed codes drawn from the seed (unique)."""
    tagged = select(CheckinTag.elevator_id)
    ids = list(session.scalars(select(Elevator.id).where(Elevator.id.not_in(tagged)).order_by(Elevator.id)))
    used = set(session.scalars(select(CheckinTag.code)))
    rows = []
    for elevator_id in ids:
        for index, place in enumerate(PLACES):
            code = new_code(rng)
            while code in used:
                code = new_code(rng)
            used.add(code)
            rows.append(
                {
                    "uid": tag_uid(elevator_id, index),
                    "code": code,
                    "elevator_id": elevator_id,
                    "place": place,
                    "active": True,
                    "registered_at": now,
                    "registered_by": ACTOR,
                }
            )
    for start in range(0, len(rows), TAGGED_ELEVATORS_PER_BATCH * len(PLACES)):
        session.execute(insert(CheckinTag), rows[start : start + TAGGED_ELEVATORS_PER_BATCH * len(PLACES)])
    return len(rows)


def _demo_people(session: Session) -> tuple[User, User]:
    maint = session.scalars(select(User).where(User.username == "maint")).one()
    owner = session.scalars(select(User).where(User.username == "property")).one()
    return maint, owner


def _visits(system: System, now: datetime) -> tuple[int, int, int, int]:
    """Visits on the first elevators the demo unit maintains for the demo property company. Each
    visit follows a tag read in the car by `maint` that morning; answers: older ones confirmed,
    the third visit of the second elevator disputed, each elevator's latest awaiting the answer."""
    today = local_day(now)
    items = {code: "ok" for code in checklist.item_codes()}
    cycle = cycle_days(system)
    made = late = pending = disputed = 0
    with system.sessions() as session, session.begin():
        if session.scalar(select(func.count()).select_from(MaintenanceVisit)):
            return 0, 0, 0, 0
        maint, owner = _demo_people(session)
        elevators = list(
            session.scalars(
                select(Elevator)
                .where(
                    Elevator.maintenance_unit_id == maint.organisation_id,
                    Elevator.use_unit_id == owner.organisation_id,
                )
                .order_by(Elevator.id)
                .limit(VISITED_ELEVATORS)
            )
        )
        for n, elevator in enumerate(elevators):
            elevator.last_maintenance_at = _morning(today - timedelta(days=50))
            car = session.scalars(
                select(CheckinTag).where(CheckinTag.elevator_id == elevator.id, CheckinTag.place == "car")
            ).first()
            for k, back in enumerate(VISIT_DAYS_BACK):
                day = today - timedelta(days=back)
                at = _morning(day) + timedelta(hours=1, minutes=7 * n)
                checkin = CheckIn(
                    at=at, user_id=maint.id, organisation_id=maint.organisation_id, elevator_id=elevator.id,
                    tag_id=car.id if car else None, place="car" if car else None, method="tag" if car else "none",
                    proof="tag" if car else "none", far=False,
                )  # fmt: skip
                session.add(checkin)
                session.flush()
                results = items | {"A1-05": "adjusted"} if k % 2 else items
                visit = write_visit(
                    session, elevator, maintained_on=day, results=results, cycle=cycle, now=at, actor="maint",
                    technician=maint.display_name, technician_id=maint.id, checkin=checkin,
                    note="门刀调整" if k % 2 else "",
                )  # fmt: skip
                made += 1
                late += not visit.on_time
                if k == len(VISIT_DAYS_BACK) - 1:
                    pending += 1
                elif n == 1 and k == 2:
                    visit.confirmation = "disputed"
                    visit.disputed_at, visit.disputed_by = at + timedelta(days=1), owner.username
                    visit.dispute_reason = "当天物业未见维保人员到场，请核实"
                    disputed += 1
                else:
                    visit.confirmation = "confirmed"
                    visit.confirmed_at, visit.confirmed_by = at + timedelta(hours=3), owner.username
    return made, late, pending, disputed


def _morning(day: date) -> datetime:
    return datetime.combine(day, time(9), tzinfo=CITY_TZ)


def _unproven_rescue(system: System) -> int | None:
    """A rescue on another elevator of the demo unit, its arrival reported with no check-in."""
    with system.sessions() as session:
        maint, owner = _demo_people(session)
        elevator_id = session.scalar(
            select(Elevator.id)
            .where(
                Elevator.maintenance_unit_id == maint.organisation_id,
                Elevator.use_unit_id != owner.organisation_id,
                Elevator.device_id.is_(None),
            )
            .order_by(Elevator.id)
        )
    if elevator_id is None:
        return None
    case_id = open_or_join(
        system.engine, system.sla, "rescue", elevator_id=elevator_id, signal={"source": "phone", "trapped_count": 1}
    ).case_id
    complete(system, case_id, "verify_dispatch", {"outcome": "dispatch", "trapped_count": 1}, "dispatcher")
    complete(system, case_id, "accept_order", {"eta_minutes": 15, "technician": maint.display_name}, "maint")
    complete(system, case_id, "report_arrival", {"on_site": True}, "maint")
    complete(system, case_id, "report_release", {"released_count": 1, "method": "leveling_and_open"}, "maint")
    complete(
        system, case_id, "report_cause", {"cause_category": "door_system", "description": "层门锁触点氧化"}, "maint"
    )
    complete(system, case_id, "return_visit", {"satisfied": True}, "dispatcher")
    return case_id
