"""Maintenance supervision over the HTTP API on SQLite and PostgreSQL: the tag register, on-site
check-in (tag, printed code, position), visits with the TSG T5002 checklist closing the overdue
case, the use unit's confirmation, imports with per-row errors, rescue arrivals without proof."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from engine.models import Case, CaseStatus, CaseTask, EventKind, TimelineEvent
from infra.clock import SimulatedClock
from infra.settings import CITY_TZ
from processes.expiry_scan import scan
from processes.intake import open_or_join
from processes.maintenance import checklist
from processes.system import System
from registry.models import Elevator
from tests.support.api_client import Client, app_for, demo_elevator, other_elevator
from tests.support.system import make_system

UIDS = ("04A1B2C3D4E501", "04A1B2C3D4E502", "04A1B2C3D4E503")


@pytest.fixture
def api(db_url: str, clock: SimulatedClock, tmp_path: Path) -> Iterator[tuple[System, Flask]]:
    system = make_system(db_url, clock, elevators=60, upload_dir=tmp_path / "uploads")
    yield system, app_for(system)
    system.db.dispose()


def _elevator(system: System, elevator_id: int) -> Elevator:
    with system.sessions() as session:
        return session.get(Elevator, elevator_id)


def _tags(admin: Client, elevator_id: int) -> list[dict[str, Any]]:
    out = []
    for uid, place in zip(UIDS, ("car", "pit", "machine_room"), strict=True):
        r = admin.post("/api/v1/checkin-tags", json={"elevator_id": elevator_id, "place": place, "uid": uid})
        assert r.status_code == 201, r.get_json()
        out.append(r.get_json())
    return out


def all_ok(periods: list[str]) -> dict[str, str]:
    return {i["code"]: "ok" for p in checklist.periods() if p["key"] in periods for i in p["items"]}


def test_tags_check_in_refusals_and_the_position_check(api: tuple[System, Flask]) -> None:
    system, app = api
    mine, other = demo_elevator(system), other_elevator(system)
    admin, maint = Client(app, "admin"), Client(app, "maint")
    car, _pit, room = _tags(admin, mine)
    assert car["qr_url"].endswith(f"/console/checkin?code={car['code']}")
    assert {t["place"] for t in admin.get(f"/api/v1/checkin-tags?elevator_id={mine}").get_json()} == {
        "car",
        "pit",
        "machine_room",
    }
    # A second car tag needs `replace`; a UID registered once is never registered again.
    again = admin.post("/api/v1/checkin-tags", json={"elevator_id": mine, "place": "car", "uid": "04FFEEDDCCBB01"})
    assert again.status_code == 422 and "place" in again.get_json()["errors"]
    dup = admin.post("/api/v1/checkin-tags", json={"elevator_id": other, "place": "car", "uid": UIDS[0]})
    assert dup.status_code == 422 and "uid" in dup.get_json()["errors"]
    other_car = admin.post("/api/v1/checkin-tags", json={"elevator_id": other, "place": "car", "uid": "04FFEEDDCCBB02"})
    assert other_car.status_code == 201

    # The technician's own elevator, the pit tag read over NFC (colons as phones show them).
    e = _elevator(system, mine)
    ok = maint.post(
        "/api/v1/checkins", json={"uid": "04:a1:b2:c3:d4:e5:02", "elevator_id": mine, "lat": e.lat, "lon": e.lon}
    )
    assert ok.status_code == 201, ok.get_json()
    checked = ok.get_json()
    assert (checked["method"], checked["proof"], checked["place"], checked["far"]) == ("tag", "tag", "pit", False)
    # Another elevator's tag, named against this elevator: refused, nothing kept.
    wrong = maint.post("/api/v1/checkins", json={"code": other_car.get_json()["code"], "elevator_id": mine})
    assert wrong.status_code == 422 and "another elevator" in wrong.get_json()["errors"]["code"][0]
    unknown = maint.post("/api/v1/checkins", json={"uid": "04000000000009", "elevator_id": mine})
    assert unknown.status_code == 422 and "uid" in unknown.get_json()["errors"]
    # A retired tag proves nothing.
    assert admin.post(f"/api/v1/checkin-tags/{room['id']}/retire").get_json()["active"] is False
    retired = maint.post("/api/v1/checkins", json={"uid": UIDS[2], "elevator_id": mine})
    assert retired.status_code == 422 and "retired" in retired.get_json()["errors"]["uid"][0]
    # The printed code (QR fallback) with a position ~1.1 km off: kept as a qr check-in, flagged far.
    far = maint.post("/api/v1/checkins", json={"code": car["code"].lower(), "lat": e.lat + 0.01, "lon": e.lon})
    body = far.get_json()
    assert far.status_code == 201 and body["method"] == "qr" and body["far"] is True and body["distance_m"] > 1000
    # Position only: near proves presence, far proves nothing.
    near = maint.post("/api/v1/checkins", json={"elevator_id": mine, "lat": e.lat + 0.0005, "lon": e.lon}).get_json()
    away = maint.post("/api/v1/checkins", json={"elevator_id": mine, "lat": e.lat + 0.02, "lon": e.lon}).get_json()
    assert (near["proof"], near["far"], away["proof"], away["far"]) == ("position", False, "none", True)
    # Outside the unit's scope: refused.
    assert maint.post("/api/v1/checkins", json={"elevator_id": other}).status_code == 422
    assert Client(app, "property").post("/api/v1/checkins", json={"elevator_id": mine}).status_code == 403


def test_tag_import_reports_each_bad_row(api: tuple[System, Flask]) -> None:
    system, app = api
    admin = Client(app, "admin")
    code = _elevator(system, demo_elevator(system)).register_code
    csv_text = (
        "设备注册代码,位置,标签UID\n"
        f"{code},轿厢,04AA000000000A\n"
        f"{code},roof,04AA000000000B\n"
        f"99999999999999999999,pit,04AA000000000C\n"
        f"{code},pit,not-a-uid\n"
        f"{code},底坑,04AA000000000A\n"
    )
    r = admin.post(
        "/api/v1/checkin-tags/import",
        data={"file": (BytesIO(csv_text.encode()), "tags.csv")},
        content_type="multipart/form-data",
    )
    report = r.get_json()
    assert r.status_code == 200 and (report["rows"], report["created"]) == (5, 1)
    assert {e["row"]: sorted(e["errors"]) for e in report["errors"]} == {
        3: ["place"],
        4: ["register_code"],
        5: ["uid"],
        6: ["uid"],
    }


def test_a_visit_with_its_checklist_closes_the_overdue_case_and_the_property_confirms(
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
    scan(system)
    with system.sessions() as session:
        overdue = session.scalars(select(Case).where(Case.open_key == f"expiry:maintenance:{elevator_id}")).one()
    admin, maint = Client(app, "admin"), Client(app, "maint")
    _tags(admin, elevator_id)
    plans = maint.get("/api/v1/maintenance/plans").get_json()
    plan = next(p for p in plans if p["elevator_id"] == elevator_id)
    assert plan["periods_due"] == ["half_monthly", "quarterly", "half_yearly", "yearly"]  # nothing done yet
    checkin = maint.post("/api/v1/checkins", json={"uid": UIDS[0], "elevator_id": elevator_id}).get_json()

    half = all_ok(["half_monthly"])
    short = maint.post("/api/v1/maintenance/visits", json={"elevator_id": elevator_id, "results": half})
    assert short.status_code == 422 and "A2-01" in short.get_json()["errors"]["results"][0]
    bad = maint.post("/api/v1/maintenance/visits", json={"elevator_id": elevator_id, "results": {"Z9-99": "ok"}})
    assert bad.status_code == 422

    results = all_ok(plan["periods_due"]) | {"A1-05": "adjusted"}
    r = maint.post(
        "/api/v1/maintenance/visits",
        json={"elevator_id": elevator_id, "results": results, "checkin_id": checkin["id"], "photos": ["att:12"]},
    )
    assert r.status_code == 201, r.get_json()
    visit = r.get_json()
    assert visit["proof"] == "tag" and visit["on_time"] is True and visit["periods"] == plan["periods_due"]
    today = clock.now().astimezone(CITY_TZ).date()
    assert _elevator(system, elevator_id).last_maintenance_at.astimezone(CITY_TZ).date() == today
    with system.sessions() as session:
        closed = session.get(Case, overdue.id)
        assert (closed.status, closed.close_reason) == (CaseStatus.CLOSED, "maintained")
        received = session.scalars(
            select(TimelineEvent).where(
                TimelineEvent.case_id == overdue.id, TimelineEvent.kind == EventKind.MESSAGE_RECEIVED
            )
        ).one()
    assert received.payload["message"] == "maintenance_recorded"
    assert f"visit:{visit['id']}" in str(received.payload)
    after = next(p for p in maint.get("/api/v1/maintenance/plans").get_json() if p["elevator_id"] == elevator_id)
    assert after["next_due_on"] == (today + timedelta(days=15)).isoformat()
    assert after["periods_due"] == ["half_monthly"]  # the longer periods were just done

    # Someone else's check-in cannot prove this visit.
    other = Client(app, "maint_manager")
    assert (
        other.post(
            "/api/v1/maintenance/visits",
            json={"elevator_id": elevator_id, "results": half, "checkin_id": checkin["id"]},
        ).status_code
        == 422
    )
    prop = Client(app, "property")
    confirmed = prop.post(f"/api/v1/maintenance/visits/{visit['id']}/confirm").get_json()
    assert confirmed["confirmed_by"] == "property" and confirmed["confirmed_at"]
    assert Client(app, "maint").post(f"/api/v1/maintenance/visits/{visit['id']}/confirm").status_code == 403


def test_visit_import_per_row_errors_on_time_rates_and_a_second_send(
    api: tuple[System, Flask], clock: SimulatedClock
) -> None:
    system, app = api
    mine, other = demo_elevator(system), other_elevator(system)
    today = clock.now().astimezone(CITY_TZ).date()
    with system.sessions() as session, session.begin():
        session.execute(
            update(Elevator).where(Elevator.id == mine).values(last_maintenance_at=clock.now() - timedelta(days=40))
        )
        code, other_code = (session.get(Elevator, i).register_code for i in (mine, other))
    maint = Client(app, "maint")
    visits = [
        # on time: the first after the 40-day gap is late, the next within 15 days is on time
        {
            "register_code": code,
            "maintained_on": (today - timedelta(days=20)).isoformat(),
            "record_id": "P-1",
            "items": "A1-01;A1-02",
            "technician": "张工",
        },
        {
            "register_code": code,
            "maintained_on": (today - timedelta(days=8)).isoformat(),
            "record_id": "P-2",
            "results": {"A1-01": "ok", "A2-01": "replaced"},
            "periods": "半月;季度",
        },
        {"register_code": code, "maintained_on": "2026-13-01", "record_id": "P-3"},
        {"register_code": other_code, "maintained_on": today.isoformat(), "record_id": "P-4"},
        {"register_code": code, "maintained_on": today.isoformat(), "record_id": "P-5", "results": {"A1-01": "great"}},
        {"register_code": code, "maintained_on": (today + timedelta(days=3)).isoformat(), "record_id": "P-6"},
        {"register_code": code, "maintained_on": today.isoformat(), "record_id": "P-1"},
    ]
    r = maint.post(
        "/api/v1/maintenance/visits/import?source=paperless",
        data={"file": (BytesIO(json.dumps({"visits": visits}, ensure_ascii=False).encode()), "visits.json")},
        content_type="multipart/form-data",
    )
    report = r.get_json()
    assert r.status_code == 200, report
    assert (report["rows"], report["created"], report["skipped"]) == (7, 2, 0)
    assert {e["row"]: sorted(e["errors"]) for e in report["errors"]} == {
        4: ["maintained_on"],
        5: ["register_code"],
        6: ["results"],
        7: ["maintained_on"],
        8: ["record_id"],
    }
    listed = maint.get(f"/api/v1/maintenance/visits?elevator_id={mine}").get_json()
    assert [(v["external_id"], v["on_time"]) for v in listed] == [("P-2", True), ("P-1", False)]
    assert listed[0]["periods"] == ["half_monthly", "quarterly"]
    assert _elevator(system, mine).last_maintenance_at.astimezone(CITY_TZ).date() == today - timedelta(days=8)
    # The same file again adds nothing.
    again = maint.post(
        "/api/v1/maintenance/visits/import?source=paperless",
        data={"file": (BytesIO(json.dumps(visits[:2]).encode()), "visits.json")},
        content_type="multipart/form-data",
    ).get_json()
    assert (again["created"], again["skipped"]) == (0, 2)
    # CSV with the Chinese header; a file without the needed columns is refused whole.
    csv_text = f"设备注册代码,维保日期,维保记录编号,维保项目\n{code},{today.isoformat()},P-9,A1-01;A1-31\n"
    csv_report = maint.post(
        "/api/v1/maintenance/visits/import",
        data={"file": (BytesIO(csv_text.encode()), "visits.csv")},
        content_type="multipart/form-data",
    ).get_json()
    assert (csv_report["created"], csv_report["errors"]) == (1, [])
    body = [{"register_code": code, "maintained_on": today.isoformat(), "record_id": "P-10", "items": ["A1-02"]}]
    as_json = maint.post("/api/v1/maintenance/visits/import?source=other-system", json=body).get_json()
    assert (as_json["rows"], as_json["created"]) == (1, 1)
    broken = maint.post(
        "/api/v1/maintenance/visits/import",
        data={"file": (BytesIO(b"a,b\n1,2\n"), "visits.csv")},
        content_type="multipart/form-data",
    )
    assert broken.status_code == 422 and "missing columns" in broken.get_json()["message"]

    rates = {u["unit_id"]: u for u in Client(app, "regulator").get("/api/v1/maintenance/on-time").get_json()}
    unit = _elevator(system, mine).maintenance_unit_id
    assert (rates[unit]["visits"], rates[unit]["on_time"]) == (4, 3)
    own = Client(app, "maint_manager").get("/api/v1/maintenance/on-time").get_json()
    assert [u["unit_id"] for u in own] == [unit]


def _complete(system: System, case_id: int, bpmn_id: str, data: dict[str, Any], actor: str) -> None:
    with system.sessions() as session:
        task_id = session.scalar(
            select(CaseTask.id).where(
                CaseTask.case_id == case_id, CaseTask.bpmn_id == bpmn_id, CaseTask.status == "open"
            )
        )
    assert task_id is not None, f"{bpmn_id} is not open"
    system.engine.complete_task(task_id, data, actor=actor)


def _rescue_to_arrival(system: System, elevator_id: int, arrival: dict[str, Any]) -> int:
    case_id = open_or_join(
        system.engine, system.settings.sla_file, "rescue", elevator_id=elevator_id, signal={"source": "qr"}
    ).case_id
    _complete(system, case_id, "verify_dispatch", {"outcome": "dispatch", "trapped_count": 1}, "dispatcher")
    _complete(system, case_id, "accept_order", {"eta_minutes": 10}, "maint")
    return case_id


def test_rescue_arrivals_without_proof_are_listed_for_the_regulator(
    api: tuple[System, Flask], clock: SimulatedClock
) -> None:
    system, app = api
    elevator_id = demo_elevator(system)
    admin, maint = Client(app, "admin"), Client(app, "maint")
    _tags(admin, elevator_id)
    e = _elevator(system, elevator_id)

    proven = _rescue_to_arrival(system, elevator_id, {})
    clock.advance(timedelta(minutes=8))
    r = maint.post("/api/v1/checkins", json={"uid": UIDS[0], "elevator_id": elevator_id, "case_id": proven})
    assert r.status_code == 201, r.get_json()
    _complete(system, proven, "report_arrival", {"on_site": True}, "maint")
    with system.sessions() as session:
        flags = [
            ev.payload
            for ev in session.scalars(
                select(TimelineEvent).where(TimelineEvent.case_id == proven, TimelineEvent.kind == EventKind.FLAG_SET)
            )
        ]
    assert any(f.get("flag") == "checked_in" and f["proof"] == "tag" for f in flags)
    # Close it out of the way, so the next rescue of the same elevator opens a case of its own.
    system.engine.cancel_case(proven, "test: out of the way", actor="dispatcher")

    clock.advance(timedelta(hours=2))
    unproven = _rescue_to_arrival(system, elevator_id, {})
    clock.advance(timedelta(minutes=9))
    _complete(system, unproven, "report_arrival", {"on_site": True, "lat": e.lat + 0.03, "lon": e.lon}, "maint")

    regulator, maint = Client(app, "regulator"), Client(app, "maint")  # sessions idle 30 min at most
    r = regulator.get("/api/v1/arrivals/unproven?days=7")
    assert r.status_code == 200, r.get_json()
    listed = r.get_json()
    assert [(a["case_id"], a["proof"], a["far"]) for a in listed] == [(unproven, "none", True)]
    detail = regulator.get(f"/api/v1/cases/{unproven}").get_json()
    assert detail["arrival_proof"]["proven"] is False
    assert regulator.get(f"/api/v1/cases/{proven}").get_json()["arrival_proof"]["proof"] == "tag"
    assert maint.get("/api/v1/arrivals/unproven").status_code == 403
