"""The use unit's answer to maintenance visits over the HTTP API, on SQLite and PostgreSQL: the
list scoped to the property company's own elevators, confirm (again: 200, the first signature
kept), dispute with a reason (per-field 422, the maintenance unit's managers and technician told,
the closed maintenance-overdue case's timeline), another company's visit not found (404)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from engine.models import Case, EventKind, Notification, TimelineEvent
from infra.clock import SimulatedClock
from processes.expiry_scan import scan
from processes.maintenance import checklist
from processes.system import System
from processes.timelines import summarize
from registry.models import Elevator, Role, User
from tests.support.api_client import Client, app_for, demo_elevator
from tests.support.system import make_system


@pytest.fixture
def api(db_url: str, clock: SimulatedClock, tmp_path: Path) -> Iterator[tuple[System, Flask]]:
    system = make_system(db_url, clock, elevators=60, upload_dir=tmp_path / "uploads")
    yield system, app_for(system)
    system.db.dispose()


def _all_due_ok(maint: Client, elevator_id: int) -> dict[str, str]:
    plan = next(p for p in maint.get("/api/v1/maintenance/plans").get_json() if p["elevator_id"] == elevator_id)
    return {i["code"]: "ok" for p in checklist.periods() if p["key"] in plan["periods_due"] for i in p["items"]}


def _visit(maint: Client, elevator_id: int, **extra: Any) -> dict[str, Any]:
    r = maint.post(
        "/api/v1/maintenance/visits",
        json={"elevator_id": elevator_id, "results": _all_due_ok(maint, elevator_id)} | extra,
    )
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _other_property(system: System) -> str:
    """A property user of another use unit than the demo `property`."""
    with system.sessions() as session:
        own = session.scalar(select(User.organisation_id).where(User.username == "property"))
        users = session.scalars(select(User).where(User.organisation_id != own).order_by(User.id))
        return next(u.username for u in users if Role.PROPERTY in (u.roles or ()))


def test_the_use_unit_lists_and_confirms_its_visits_and_a_second_confirm_changes_nothing(
    api: tuple[System, Flask], clock: SimulatedClock
) -> None:
    system, app = api
    elevator_id = demo_elevator(system)
    maint, prop = Client(app, "maint"), Client(app, "property")
    visit = _visit(maint, elevator_id, note="更换门刀")
    assert visit["confirmation"] == "pending"

    listed = prop.get("/api/v1/maintenance/confirmations").get_json()
    row = next(v for v in listed if v["id"] == visit["id"])
    with system.sessions() as session:
        elevator = session.get(Elevator, elevator_id)
        assert (row["register_code"], row["address"]) == (elevator.register_code, elevator.address)
    assert row["maintenance_unit"] and row["note"] == "更换门刀" and row["items"] > 0 and row["faults"] == []
    # Only the property company sees the list; the maintenance unit does not answer for it.
    assert maint.get("/api/v1/maintenance/confirmations").status_code == 403
    assert maint.post(f"/api/v1/maintenance/visits/{visit['id']}/confirm").status_code == 403

    first = prop.post(f"/api/v1/maintenance/visits/{visit['id']}/confirm")
    assert first.status_code == 200, first.get_json()
    signed = first.get_json()
    assert (signed["confirmation"], signed["confirmed_by"]) == ("confirmed", "property")
    # A second tap (or a retry after a lost answer) a minute later: the same answer, the first signature.
    clock.advance(timedelta(minutes=1))
    again = prop.post(f"/api/v1/maintenance/visits/{visit['id']}/confirm")
    assert again.status_code == 200 and again.get_json()["confirmed_at"] == signed["confirmed_at"]
    # Signed is signed: no dispute afterwards.
    late = prop.post(f"/api/v1/maintenance/visits/{visit['id']}/dispute", json={"reason": "记录不实"})
    assert late.status_code == 409 and "already confirmed" in late.get_json()["message"]
    assert all(v["id"] != visit["id"] for v in prop.get("/api/v1/maintenance/confirmations").get_json())
    done = prop.get("/api/v1/maintenance/confirmations?status=confirmed").get_json()
    assert [v["id"] for v in done] == [visit["id"]]
    bad = prop.get("/api/v1/maintenance/confirmations?status=maybe")
    assert bad.status_code == 422 and "status" in bad.get_json()["errors"]


def test_another_use_unit_can_neither_see_nor_answer_the_visit(api: tuple[System, Flask]) -> None:
    system, app = api
    elevator_id = demo_elevator(system)
    visit = _visit(Client(app, "maint"), elevator_id)
    stranger = Client(app, _other_property(system))
    assert all(v["id"] != visit["id"] for v in stranger.get("/api/v1/maintenance/confirmations?status=all").get_json())
    assert stranger.post(f"/api/v1/maintenance/visits/{visit['id']}/confirm").status_code == 404
    assert (
        stranger.post(f"/api/v1/maintenance/visits/{visit['id']}/dispute", json={"reason": "不是我们的"}).status_code
        == 404
    )
    assert Client(app, "property").post("/api/v1/maintenance/visits/999999/confirm").status_code == 404
    with system.sessions() as session:
        from processes.maintenance.models import MaintenanceVisit

        assert session.get(MaintenanceVisit, visit["id"]).confirmation == "pending"


def test_a_dispute_tells_the_unit_and_the_closed_case_then_the_fixed_visit_is_confirmed(
    api: tuple[System, Flask], clock: SimulatedClock
) -> None:
    system, app = api
    elevator_id = demo_elevator(system)
    with system.sessions() as session, session.begin():
        session.execute(
            update(Elevator)
            .where(Elevator.id == elevator_id)
            .values(last_maintenance_at=clock.now() - timedelta(days=14))
        )
    scan(system)  # a maintenance-overdue case the visit will close
    maint, prop = Client(app, "maint"), Client(app, "property")
    visit = _visit(maint, elevator_id)
    url = f"/api/v1/maintenance/visits/{visit['id']}/dispute"

    for body, field in (({}, "reason"), ({"reason": " "}, "reason"), ({"reason": "x" * 501}, "reason")):
        r = prop.post(url, json=body)
        assert r.status_code == 422 and field in r.get_json()["errors"], r.get_json()
    r = prop.post(url, json={"reason": "当天未见维保人员到场"})
    assert r.status_code == 200, r.get_json()
    disputed = r.get_json()
    assert (disputed["confirmation"], disputed["dispute_reason"], disputed["disputed_by"]) == (
        "disputed",
        "当天未见维保人员到场",
        "property",
    )
    assert prop.post(url, json={"reason": "当天未见维保人员到场"}).status_code == 200  # the same dispute again
    other = prop.post(url, json={"reason": "另一个理由"})
    assert other.status_code == 409 and "another reason" in other.get_json()["message"]
    listed = prop.get("/api/v1/maintenance/confirmations?status=disputed").get_json()
    assert [v["id"] for v in listed] == [visit["id"]]
    # The elevator's history shows the visit with the use unit's answer.
    history = maint.get(f"/api/v1/elevators/{elevator_id}/history").get_json()["maintenance"]
    entry = next(m for m in history if m.get("visit_id") == visit["id"])
    assert (entry["confirmation"], entry["dispute_reason"], entry["proof"]) == (
        "disputed",
        "当天未见维保人员到场",
        "none",
    )

    with system.sessions() as session:
        unit = session.scalar(select(User.organisation_id).where(User.username == "maint"))
        notices = session.scalars(select(Notification).where(Notification.dedupe_key.like(f"visit:{visit['id']}:%")))
        told = {(n.user_id, n.role, n.status) for n in notices if n.channel == "inbox"}
        managers = {
            u.id
            for u in session.scalars(select(User).where(User.organisation_id == unit))
            if Role.MAINTENANCE_MANAGER in u.roles
        }
        technician = session.scalar(select(User.id).where(User.username == "maint"))
        case = session.scalars(select(Case).where(Case.elevator_id == elevator_id, Case.case_type == "expiry")).one()
        flags = [
            e
            for e in session.scalars(
                select(TimelineEvent).where(TimelineEvent.case_id == case.id, TimelineEvent.kind == EventKind.FLAG_SET)
            )
        ]
    assert {u for u, _, _ in told} == managers | {technician} and managers
    assert {s for _, _, s in told} == {"sent"}  # delivered to the inboxes by the in-process jobs
    assert [f.payload["flag"] for f in flags] == ["visit_disputed"]
    assert summarize("flag_set", flags[0].payload, "zh-CN") == "使用单位对维保记录提出异议：当天未见维保人员到场"
    inbox = Client(app, "maint_manager").get("/api/v1/notifications").get_json()
    assert any("提出异议" in n["subject"] and n["body"].endswith("当天未见维保人员到场") for n in inbox)

    # The unit put it right: the property company now signs it.
    fixed = prop.post(f"/api/v1/maintenance/visits/{visit['id']}/confirm").get_json()
    assert (fixed["confirmation"], fixed["dispute_reason"]) == ("confirmed", "当天未见维保人员到场")
    with system.sessions() as session:
        kinds = [
            e.payload.get("flag")
            for e in session.scalars(
                select(TimelineEvent).where(TimelineEvent.case_id == case.id, TimelineEvent.kind == EventKind.FLAG_SET)
            )
        ]
    assert kinds == ["visit_disputed", "visit_confirmed"]


def test_answers_at_the_same_moment_leave_one_answer(api: tuple[System, Flask], db_url: str) -> None:
    """Eight taps at once (PostgreSQL, row lock): all answered 200, one signature. Confirms and
    disputes racing: every confirm answered 200 with one signature, each dispute either kept
    (before the signature) or refused with 409 (after it); nothing fails otherwise."""
    if not db_url.startswith("postgresql"):
        pytest.skip("concurrent writers: PostgreSQL")
    system, app = api
    elevator_id = demo_elevator(system)
    maint = Client(app, "maint")
    first, second = _visit(maint, elevator_id), _visit(maint, elevator_id)
    clients = [Client(app, "property") for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        taps = list(pool.map(lambda c: c.post(f"/api/v1/maintenance/visits/{first['id']}/confirm"), clients))
    assert [r.status_code for r in taps] == [200] * 8
    assert len({r.get_json()["confirmed_at"] for r in taps}) == 1

    def answer(i: int) -> Any:
        url = f"/api/v1/maintenance/visits/{second['id']}"
        if i % 2:
            return clients[i].post(f"{url}/dispute", json={"reason": "未见人员到场"})
        return clients[i].post(f"{url}/confirm")

    with ThreadPoolExecutor(8) as pool:
        raced = list(pool.map(answer, range(8)))
    with system.sessions() as session:
        from processes.maintenance.models import MaintenanceVisit

        final = session.get(MaintenanceVisit, second["id"]).confirmation
    codes = Counter((i % 2, r.status_code) for i, r in enumerate(raced))
    # A confirm always holds (it may follow a dispute: the unit put it right); a dispute that came
    # after the signature is refused, one that came before it stands in the record.
    assert final == "confirmed" and codes[(0, 200)] == 4 and codes[(1, 200)] + codes[(1, 409)] == 4
    assert len({r.get_json()["confirmed_at"] for i, r in enumerate(raced) if i % 2 == 0}) == 1
