"""The demo city's maintenance supervision (demo/seed_maintenance.py), as its pages read it over the
API: three working tags on every elevator, visits on time and late proven by a tag, one disputed and
some awaiting the property company's answer, a rescue whose arrival nobody proved; a second run
adds nothing, and the same seed prints the same codes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from demo.run import passenger_qr_code
from demo.seed_maintenance import seed_maintenance
from infra.clock import SimulatedClock
from processes.maintenance.models import MaintenanceVisit
from registry.models import Elevator
from registry.tags.models import PLACES, CheckinTag
from registry.tags.service import normalise_code, normalise_uid
from tests.support.api_client import Client, app_for
from tests.support.system import make_system


def test_the_demo_seeds_tags_visits_to_confirm_and_an_unproven_arrival(
    sqlite_url: str, clock: SimulatedClock, tmp_path: Path
) -> None:
    system = make_system(sqlite_url, clock, elevators=80)
    seeded = seed_maintenance(system)
    with system.sessions() as session:
        elevators = session.scalar(select(func.count()).select_from(Elevator))
        tags = session.scalars(select(CheckinTag)).all()
    assert seeded.tags == len(tags) == 3 * elevators
    assert Counter(Counter(t.elevator_id for t in tags).values()) == Counter({3: elevators})
    assert {t.place for t in tags} == set(PLACES)
    assert all(normalise_uid(t.uid) == t.uid and normalise_code(t.code) == t.code for t in tags)
    assert len({t.code for t in tags}) == len(tags)
    assert (seeded.late, seeded.disputed) == (seeded.visits // 4, 1) and seeded.pending >= 1

    app = app_for(system)
    maint, owner = Client(app, "maint"), Client(app, "property")
    visits = maint.get("/api/v1/maintenance/visits?limit=500").get_json()
    assert len(visits) == seeded.visits and {v["proof"] for v in visits} == {"tag"}
    assert {v["on_time"] for v in visits} == {True, False}
    awaiting = owner.get("/api/v1/maintenance/confirmations").get_json()
    assert len(awaiting) == seeded.pending and all(v["confirmation"] == "pending" for v in awaiting)
    disputed = owner.get("/api/v1/maintenance/confirmations?status=disputed").get_json()
    assert len(disputed) == 1 and disputed[0]["dispute_reason"]
    # The check-in page works with a seeded tag's printed code.
    elevator_id = awaiting[0]["elevator_id"]
    with system.sessions() as session:
        code = session.scalars(
            select(CheckinTag.code).where(CheckinTag.elevator_id == elevator_id, CheckinTag.place == "pit")
        ).one()
    checked = maint.post("/api/v1/checkins", json={"code": code, "elevator_id": elevator_id})
    assert checked.status_code == 201 and checked.get_json()["proof"] == "qr"
    # The regulators' unproven arrivals list the seeded rescue.
    arrivals = Client(app, "city_regulator").get("/api/v1/arrivals/unproven").get_json()
    assert [a["case_id"] for a in arrivals] == [seeded.unproven_rescue]
    # The demo banner's passenger page still leads to an elevator without an open case.
    assert passenger_qr_code(system) is not None

    again = seed_maintenance(system)
    assert (again.tags, again.visits, again.unproven_rescue) == (0, 0, None)
    with system.sessions() as session:
        assert session.scalar(select(func.count()).select_from(MaintenanceVisit)) == seeded.visits

    twin = make_system(f"sqlite:///{tmp_path / 'twin.sqlite3'}", clock, elevators=80)
    seed_maintenance(twin)
    with twin.sessions() as session:
        twin_codes = dict(session.execute(select(CheckinTag.uid, CheckinTag.code)).all())
    assert twin_codes == {t.uid: t.code for t in tags}
    system.db.dispose()
    twin.db.dispose()
