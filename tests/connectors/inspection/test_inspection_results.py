"""Inspection results in: the signed webhook (signature, replay window, idempotency key), a pass that
renews the register and closes the expiry case, a failure that opens a rectification case with one
item per nonconformity, the file import with per-row errors, and the items walked to closed."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import func, select

from connectors.ai_events.signature import sign
from connectors.feed import flows as feed_flows
from connectors.feed.models import FeedEvent
from connectors.inspection.models import InspectionReport
from connectors.inspection.service import add_source
from engine.models import Case, CaseTask, FeedOutbox, TimelineEvent
from infra.clock import SimulatedClock
from processes import case_flows, register_sync, task_flows
from processes.models import AdminAuditEntry, RectificationItem
from processes.rectification_items import add_evidence, items_of, review
from processes.register_dates import add_months
from processes.system import System
from registry.accounts.service import hash_password
from registry.equipment.models import Equipment
from registry.models import District, Elevator, Organisation, OrgKind, Role
from registry.models import User as Person
from registry.sync.models import FieldProvenance, RegisterConflict
from tests.support.api_client import PASSWORD, Client, app_for, demo_elevator
from tests.support.system import make_system

SOURCE = "dz-inspect"


@pytest.fixture
def env(db_url: str, clock: SimulatedClock, tmp_path: Path) -> Iterator[tuple[System, Flask, str]]:
    system = make_system(db_url, clock, elevators=30, upload_dir=tmp_path / "uploads")
    with system.sessions() as session, session.begin():
        org = session.scalars(select(Organisation).where(Organisation.kind == OrgKind.INSPECTION_AGENCY)).first()
        assert org is not None
        secret = add_source(session, SOURCE, org.code, clock.now(), system.settings.secret_key)
        session.add(Person(username="inspector", display_name="检验员", roles=[Role.REGULATOR], organisation_id=org.id))
    yield system, app_for(system), secret
    system.db.dispose()


def report(system: System, register_code: str, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "source": SOURCE,
        "ts": system.clock.now().isoformat(),
        "report_no": "DZJY-2026-0001",
        "register_code": register_code,
        "inspected_on": "2026-11-20",
        "conclusion": "不合格",
        "nonconformities": [
            {"code": "2.8", "description": "轿厢应急照明不亮", "severity": "B"},
            {"code": "3.12(1)", "description": "机房未设置警示标志", "severity": "C"},
            {"code": "8.3", "description": "制动器制动力不足", "severity": "A"},
        ],
    }
    body.update(over)
    return body


def post(app: Flask, secret: str, payload: Any, *, source: str = SOURCE, signature: str | None = None) -> Any:
    raw = json.dumps(payload).encode()
    headers = {
        "X-Liftcase-Source": source,
        "X-Liftcase-Signature": signature or sign(secret, raw),
        "Content-Type": "application/json",
    }
    return app.test_client().post("/hooks/inspection-results", data=raw, headers=headers)


def lift(system: System, elevator_id: int | None = None) -> Elevator:
    with system.sessions() as session:
        if elevator_id is not None:
            return session.get(Elevator, elevator_id)
        return session.scalars(select(Elevator).order_by(Elevator.id)).first()


def count(system: System, model: Any, *where: Any) -> int:
    with system.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_bad_signature_is_401_and_an_old_timestamp_is_refused(env: tuple[System, Flask, str]) -> None:
    system, app, secret = env
    body = report(system, lift(system).register_code)
    assert post(app, secret, body, signature="sha256=" + "0" * 64).status_code == 401
    assert post(app, "another-secret", body).status_code == 401
    assert post(app, secret, body, source="nobody").status_code == 401
    old = report(system, lift(system).register_code, ts=(system.clock.now() - timedelta(minutes=6)).isoformat())
    r = post(app, secret, old)
    assert r.status_code == 409 and "replay refused" in r.get_json()["message"]
    ahead = report(system, lift(system).register_code, ts=(system.clock.now() + timedelta(minutes=6)).isoformat())
    assert post(app, secret, ahead).status_code == 409
    assert count(system, InspectionReport) == 0 and count(system, Case) == 0


def test_per_field_errors_write_nothing(env: tuple[System, Flask, str]) -> None:
    system, app, secret = env
    code = lift(system).register_code
    r = post(app, secret, report(system, code, conclusion="maybe", nonconformities=[{"code": "x", "severity": "D"}]))
    assert r.status_code == 422
    errors = r.get_json()["errors"]
    assert "conclusion" in errors and set(errors["nonconformities"]["0"]) == {"code", "description", "severity"}
    r = post(app, secret, report(system, code, nonconformities=[]))
    assert r.status_code == 422 and "nonconformities" in r.get_json()["errors"]
    r = post(app, secret, report(system, "NO-SUCH-CODE"))
    assert r.status_code == 422 and "register_code" in r.get_json()["errors"]
    r = post(app, secret, report(system, code, source="someone-else"))
    assert r.status_code == 422 and "source" in r.get_json()["errors"]
    assert count(system, InspectionReport) == 0 and count(system, Case) == 0


def test_a_failed_report_opens_one_rectification_with_its_items_however_often_sent(
    env: tuple[System, Flask, str],
) -> None:
    system, app, secret = env
    elevator = lift(system)
    body = report(system, elevator.register_code, idempotency_key="evt-77", rectify_by="2026-12-31")
    first = post(app, secret, body)
    assert first.status_code == 200, first.get_json()
    answer = first.get_json()
    assert answer["status"] == "accepted" and answer["outcome"] == "rectification_opened"
    assert answer["case_number"].startswith("ZG-")
    again = post(app, secret, {**body, "ts": system.clock.now().isoformat()})
    assert again.status_code == 200 and again.get_json()["status"] == "duplicate"
    assert again.get_json()["case_id"] == answer["case_id"]
    assert count(system, Case) == 1 and count(system, InspectionReport) == 1
    with system.sessions() as session:
        items = session.scalars(select(RectificationItem).order_by(RectificationItem.position)).all()
        case = session.get(Case, answer["case_id"])
        tasks = session.scalars(select(CaseTask).where(CaseTask.case_id == case.id)).all()
        kinds = [e.kind for e in session.scalars(select(TimelineEvent).where(TimelineEvent.case_id == case.id))]
        outbox = session.scalar(select(func.count()).select_from(FeedOutbox).where(FeedOutbox.case_id == case.id))
        agency = session.scalars(select(Organisation).where(Organisation.kind == OrgKind.INSPECTION_AGENCY)).first()
    assert [(i.code, i.severity, i.state) for i in items] == [
        ("2.8", "B", "open"),
        ("3.12(1)", "C", "open"),
        ("8.3", "A", "open"),
    ]
    assert case.case_type == "rectification" and case.elevator_id == elevator.id
    assert case.variables["report_no"] == "DZJY-2026-0001" and case.variables["conclusion"] == "failed"
    assert case.variables["inspection_agency_id"] == agency.id
    # The use unit rectifies with its maintenance unit: the unit's task first.
    assert [(t.bpmn_id, t.role, t.organisation_id) for t in tasks] == [
        ("rectify_work", "maintenance", elevator.maintenance_unit_id)
    ]
    assert "item_updated" in kinds  # on the timeline, so in the outbound feed's outbox too
    assert outbox == len(kinds)
    feed_flows.sequence(system)
    with system.sessions() as session:
        fed = session.scalars(select(FeedEvent.kind).where(FeedEvent.case_key == case.id)).all()
    assert "item_updated" in fed and "case_opened" in fed


def test_a_second_report_joins_the_open_case_and_a_failed_boiler_opens_its_own(env: tuple[System, Flask, str]) -> None:
    system, app, secret = env
    elevator = lift(system)
    first = post(app, secret, report(system, elevator.register_code)).get_json()
    second_items = [{"code": "6.10(1)", "description": "层门锁紧元件啮合长度不足", "severity": "A"}]
    body = report(system, elevator.register_code, report_no="DZJY-2026-0002", nonconformities=second_items)
    second = post(app, secret, body).get_json()
    assert second["case_id"] == first["case_id"] and second["status"] == "accepted"
    with system.sessions() as session:
        rows = session.scalars(select(RectificationItem).order_by(RectificationItem.position)).all()
        boiler = session.scalars(select(Equipment).order_by(Equipment.id)).first()
    assert [(r.position, r.code) for r in rows][-1] == (4, "6.10(1)") and len(rows) == 4
    assert boiler is not None
    opened = post(app, secret, report(system, boiler.register_code, report_no="GL-2026-1", conclusion="conditional"))
    assert opened.status_code == 200, opened.get_json()
    with system.sessions() as session:
        case = session.get(Case, opened.get_json()["case_id"])
        task = session.scalars(select(CaseTask).where(CaseTask.case_id == case.id)).one()
    assert case.elevator_id is None and case.district_code == boiler.district_code
    assert case.variables["equipment_id"] == boiler.id and case.variables["address"] == boiler.address
    assert (task.bpmn_id, task.organisation_id) == ("rectify_work", boiler.maintenance_unit_id)


def test_a_pass_renews_the_register_and_closes_the_open_expiry_case(env: tuple[System, Flask, str]) -> None:
    system, app, secret = env
    elevator = lift(system)
    due = system.clock.now().date() + timedelta(days=20)
    intake = case_flows.take_signal(
        system,
        "expiry",
        elevator_id=elevator.id,
        signal={"source": "scan", "kind": "inspection", "due_date": due.isoformat(), "idempotency_key": "t-exp"},
        actor="expiry-scan",
    )
    r = post(
        app,
        secret,
        report(system, elevator.register_code, conclusion="合格", nonconformities=[], next_due="2027-11-30"),
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["outcome"] == "register_renewed" and r.get_json()["expiry_case_id"] == intake.case_id
    with system.sessions() as session:
        expiry = session.get(Case, intake.case_id)
        renewed = [
            e.payload
            for e in session.scalars(select(TimelineEvent).where(TimelineEvent.case_id == expiry.id))
            if e.kind == "register_updated"
        ]
    assert expiry.status == "closed" and expiry.close_reason == "inspected"
    assert lift(system, elevator.id).next_inspection_due == date(2027, 11, 30)
    # written by the expiry case's renew step, on its timeline, from the report's date
    assert renewed and renewed[0]["changes"]["next_inspection_due"][1] == "2027-11-30"
    assert not renewed[0]["renewed_elsewhere"]
    assert count(system, Case, Case.case_type == "rectification") == 0


def test_a_pass_without_a_case_renews_the_register_with_its_audit_entry(env: tuple[System, Flask, str]) -> None:
    system, app, secret = env
    with system.sessions() as session:
        boiler = session.scalars(select(Equipment).order_by(Equipment.id)).first()
    assert boiler is not None
    body = report(
        system, boiler.register_code, conclusion="reinspection_passed", nonconformities=[], inspected_on="2026-11-25"
    )
    r = post(app, secret, body)
    assert r.status_code == 200, r.get_json()
    with system.sessions() as session:
        row = session.get(Equipment, boiler.id)
        entry = session.scalars(select(AdminAuditEntry).order_by(AdminAuditEntry.seq.desc())).first()
    assert row.last_inspected_on == date(2026, 11, 25)
    assert row.next_inspection_due == add_months(date(2026, 11, 25), boiler.inspection_cycle_months)
    assert entry.kind == "equipment.inspection_recorded" and entry.payload["target"]["id"] == boiler.id
    feed_flows.sequence(system)  # the register stream of the outbound feed carries it
    with system.sessions() as session:
        fed = session.scalars(select(FeedEvent).where(FeedEvent.kind == "equipment.inspection_recorded")).all()
    assert len(fed) == 1 and fed[0].stream == "register"


def test_a_key_reused_for_a_different_report_is_refused_not_answered_duplicate(
    env: tuple[System, Flask, str],
) -> None:
    system, app, secret = env
    elevator, other = lift(system), lift(system, 2)
    body = report(system, elevator.register_code, idempotency_key="evt-88")
    assert post(app, secret, body).get_json()["status"] == "accepted"
    # The same report again, re-signed with a new ts and naming the elevator by its QR code: duplicate.
    same = post(app, secret, {**body, "ts": system.clock.now().isoformat(), "register_code": elevator.qr_code})
    assert same.status_code == 200 and same.get_json()["status"] == "duplicate"
    changed = [
        {"conclusion": "合格", "nonconformities": [], "next_due": "2027-11-30"},
        {"register_code": other.register_code},
        {"nonconformities": body["nonconformities"][:2]},
        {"inspected_on": "2026-11-21"},
    ]
    for change in changed:
        r = post(app, secret, {**body, **change, "ts": system.clock.now().isoformat()})
        answer = r.get_json()
        assert r.status_code == 422, (change, answer)
        assert "already used for a different report" in answer["errors"]["idempotency_key"][0]
        assert "DZJY-2026-0001" in answer["message"]
    # Without an idempotency key the report number is the key: the error names that field.
    keyless = report(system, other.register_code, report_no="DZJY-2026-0009")
    assert post(app, secret, keyless).get_json()["status"] == "accepted"
    r = post(app, secret, {**keyless, "conclusion": "合格", "nonconformities": [], "next_due": "2027-11-30"})
    assert r.status_code == 422 and "report_no" in r.get_json()["errors"]
    assert count(system, InspectionReport) == 2 and count(system, Case) == 2
    assert lift(system, other.id).next_inspection_due != date(2027, 11, 30)  # the refused pass changed nothing


def test_the_import_keeps_good_reports_and_lists_bad_rows(env: tuple[System, Flask, str]) -> None:
    system, app, _secret = env
    lifts = [lift(system, i) for i in (1, 2, 3, 4)]
    csv = "\n".join(
        [
            "报告编号,设备代码,检验日期,检验结论,下次检验日期,不符合项编号,不符合项描述,项目类别",
            f"R-1,{lifts[0].register_code},2026-11-20,合格,2027-11-30,,,",
            f"R-2,{lifts[1].register_code},2026-11-21,不合格,,2.8,应急照明不亮,B",
            f"R-2,{lifts[1].register_code},2026-11-21,不合格,,8.3,制动力不足,A",
            f"R-3,{lifts[2].register_code},2026-11-22,也许,,,,",
            f"R-4,{lifts[3].register_code},2026-11-22,限期整改,,2.8,照明,B",
            f"R-4,{lifts[3].register_code},2026-11-22,限期整改,,bad code,说明,Z",
            "R-5,NO-SUCH,2026-11-22,合格,,,,",
        ]
    ).encode()
    inspector = Client(app, "inspector")
    r = inspector.http.post(
        "/api/v1/inspection-reports/import",
        data={"file": (io.BytesIO(csv), "reports.csv")},
        headers={"X-CSRF-Token": inspector.csrf},
        content_type="multipart/form-data",
    )
    assert r.status_code == 200, r.get_json()
    summary = r.get_json()
    assert (summary["rows"], summary["accepted"], summary["duplicates"]) == (7, 2, 0)
    assert len(summary["cases_opened"]) == 1
    by_row = {e["row"]: e["errors"] for e in summary["errors"]}
    assert sorted(by_row) == [5, 6, 7, 8]
    assert "conclusion" in by_row[5]
    assert set(by_row[7]) >= {"item_code", "item_severity"} and "report_no" in by_row[6]
    assert "register_code" in by_row[8]
    assert lift(system, lifts[0].id).next_inspection_due == date(2027, 11, 30)
    assert count(system, RectificationItem) == 2 and count(system, InspectionReport) == 2
    # the same file again: nothing new
    again = inspector.http.post(
        "/api/v1/inspection-reports/import",
        data={"file": (io.BytesIO(csv), "reports.csv")},
        headers={"X-CSRF-Token": inspector.csrf},
        content_type="multipart/form-data",
    ).get_json()
    assert (again["accepted"], again["duplicates"]) == (0, 2) and count(system, Case) == 1
    # a report number imported before, now for another result: that row refused, not a duplicate
    reused = "\n".join(
        ["报告编号,设备代码,检验日期,检验结论,下次检验日期", f"R-1,{lifts[0].register_code},2026-11-20,合格,2028-01-31"]
    ).encode()
    third = inspector.http.post(
        "/api/v1/inspection-reports/import",
        data={"file": (io.BytesIO(reused), "reports.csv")},
        headers={"X-CSRF-Token": inspector.csrf},
        content_type="multipart/form-data",
    ).get_json()
    assert (third["accepted"], third["duplicates"]) == (0, 0)
    assert [(e["row"], list(e["errors"])) for e in third["errors"]] == [(2, ["report_no"])]
    assert lift(system, lifts[0].id).next_inspection_due == date(2027, 11, 30)
    # only an institute's staff (or an admin naming the source) imports
    r = Client(app, "property").http.post("/api/v1/inspection-reports/import", headers={"X-CSRF-Token": "x"})
    assert r.status_code in (403, 400)


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, format="JPEG")
    return out.getvalue()


def evidence(client: Client, case_id: int, item_id: int, note: str, *, photo: bool = True) -> Any:
    data: dict[str, Any] = {"note": note}
    if photo:
        data["file"] = (io.BytesIO(_jpeg()), "fixed.jpg")
    else:
        data["reference"] = "维保系统记录 WB-2026-88"
    return client.http.post(
        f"/api/v1/cases/{case_id}/items/{item_id}/evidence",
        data=data,
        headers={"X-CSRF-Token": client.csrf},
        content_type="multipart/form-data",
    )


def test_items_are_rectified_with_evidence_and_reviewed_one_by_one(env: tuple[System, Flask, str]) -> None:
    system, app, secret = env
    elevator_id = demo_elevator(system)
    body = report(
        system, lift(system, elevator_id).register_code, nonconformities=report(system, "")["nonconformities"][:2]
    )
    case_id = post(app, secret, body).get_json()["case_id"]
    maint, prop, regulator = Client(app, "maint"), Client(app, "property"), Client(app, "inspector")
    items = maint.get(f"/api/v1/cases/{case_id}/items").get_json()
    assert [(i["code"], i["state"]) for i in items] == [("2.8", "open"), ("3.12(1)", "open")]
    first, second = items[0]["id"], items[1]["id"]

    r = evidence(maint, case_id, first, "更换应急照明电池")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "submitted" and r.get_json()["evidence"][0]["attachment_id"]
    assert regulator.post(f"/api/v1/cases/{case_id}/items/{first}/evidence", json={}).status_code == 403
    tasks = {
        t["bpmn_id"]: t["id"]
        for t in maint.get(f"/api/v1/cases/{case_id}").get_json()["tasks"]
        if t["status"] == "open"
    }
    assert (
        maint.post(
            f"/api/v1/tasks/{tasks['rectify_work']}/complete", json={"data": {"description": "已整改"}}
        ).status_code
        == 200
    )
    rectify = next(
        t["id"]
        for t in prop.get(f"/api/v1/cases/{case_id}").get_json()["tasks"]
        if t["bpmn_id"] == "rectify" and t["status"] == "open"
    )
    # not every item has evidence: the use unit cannot submit yet
    r = prop.post(f"/api/v1/tasks/{rectify}/complete", json={"data": {"description": "已整改", "photos": ["1"]}})
    assert r.status_code == 409 and "3.12(1)" in r.get_json()["message"]
    assert evidence(prop, case_id, second, "已张贴警示标志", photo=False).status_code == 200
    assert (
        prop.post(
            f"/api/v1/tasks/{rectify}/complete", json={"data": {"description": "已整改", "photos": ["1"]}}
        ).status_code
        == 200
    )

    # Approving the whole review while items are unjudged is refused.
    review_task = next(
        t["id"]
        for t in prop.get(f"/api/v1/cases/{case_id}").get_json()["tasks"]
        if t["bpmn_id"] == "review_evidence" and t["status"] == "open"
    )
    district = Client(app, "regulator")
    r = district.post(f"/api/v1/tasks/{review_task}/complete", json={"data": {"approved": True}})
    assert r.status_code == 409 and "2.8" in r.get_json()["message"]
    # The reviewer accepts one item and returns the other: the review completes, back to the units.
    assert maint.post(f"/api/v1/cases/{case_id}/items/{first}/review", json={"accepted": True}).status_code == 403
    r = regulator.post(f"/api/v1/cases/{case_id}/items/{first}/review", json={"accepted": True})
    assert r.status_code == 200 and r.get_json()["state"] == "accepted"
    r = regulator.post(f"/api/v1/cases/{case_id}/items/{second}/review", json={"accepted": False, "note": "照片不清"})
    assert r.status_code == 200 and r.get_json()["state"] == "rejected"
    open_now = [
        t["bpmn_id"] for t in maint.get(f"/api/v1/cases/{case_id}").get_json()["tasks"] if t["status"] == "open"
    ]
    assert open_now == ["rectify_work"]
    assert evidence(maint, case_id, first, "again").status_code == 409  # accepted: closed
    assert evidence(maint, case_id, second, "重新张贴警示标志").status_code == 200
    with system.sessions() as session:
        kinds = [e.kind for e in session.scalars(select(TimelineEvent).where(TimelineEvent.case_id == case_id))]
    assert kinds.count("item_updated") == 6  # added, 2 evidence, accepted, rejected, evidence again


def _open_task(system: System, case_id: int, bpmn_id: str) -> int:
    with system.sessions() as session:
        return session.scalars(
            select(CaseTask.id).where(
                CaseTask.case_id == case_id, CaseTask.bpmn_id == bpmn_id, CaseTask.status == "open"
            )
        ).one()


def _rectify_and_accept(system: System, case_id: int) -> None:
    """The units rectify every open item, the use unit submits, the reviewer accepts them all."""
    task_flows.complete(system, _open_task(system, case_id, "rectify_work"), {"description": "已整改"}, actor="maint")
    with system.sessions() as session:
        waiting = [i.id for i in items_of(session, case_id) if i.state in ("open", "rejected")]
    for item_id in waiting:
        add_evidence(system, case_id, item_id, note="已整改", actor="maint", reference="WB-1")
    rectify = _open_task(system, case_id, "rectify")
    task_flows.complete(system, rectify, {"description": "已整改", "photos": ["1"]}, actor="property")
    for item_id in waiting:
        review(system, case_id, item_id, accepted=True, note="", actor="regulator")


def test_the_reinspection_report_is_the_cases_reinspection(env: tuple[System, Flask, str]) -> None:
    system, app, secret = env
    elevator = lift(system)
    one = [{"code": "2.8", "description": "轿厢应急照明不亮", "severity": "B"}]
    case_id = post(app, secret, report(system, elevator.register_code, nonconformities=one)).get_json()["case_id"]
    _rectify_and_accept(system, case_id)
    _open_task(system, case_id, "reinspect")  # the review completed itself: every item accepted

    again = [{"code": "8.3", "description": "制动器制动力不足", "severity": "A"}]
    body = report(system, elevator.register_code, report_no="FJ-1", nonconformities=again, rectify_by="2027-01-15")
    failed = post(app, secret, body).get_json()
    assert (failed["outcome"], failed["case_id"]) == ("reinspection_failed", case_id)
    with system.sessions() as session:
        states = [(i.code, i.state) for i in items_of(session, case_id)]
        case = session.get(Case, case_id)
    assert states == [("2.8", "accepted"), ("8.3", "open")] and case.status == "open"
    assert lift(system, elevator.id).stop_use is True  # failed re-inspection: out of use until it passes
    _open_task(system, case_id, "rectify_work")

    _rectify_and_accept(system, case_id)
    body = report(system, elevator.register_code, report_no="FJ-2", conclusion="复检合格", nonconformities=[])
    passed = post(app, secret, {**body, "next_due": "2027-12-01"}).get_json()
    assert (passed["outcome"], passed["case_id"]) == ("register_renewed", case_id)
    with system.sessions() as session:
        case = session.get(Case, case_id)
    assert case.status == "closed" and case.close_reason == "passed"
    assert lift(system, elevator.id).next_inspection_due == date(2027, 12, 1)
    assert lift(system, elevator.id).stop_use is False


def _provincial(system: System, register_code: str, due: str) -> None:
    """The provincial platform's export saying the elevator's next inspection is due on `due`."""
    rows = [{"register_code": register_code, "next_inspection_due": due}]
    with system.sessions() as session, session.begin():
        register_sync.import_source(
            session, rows, source="provincial", filename="province.csv", actor="admin", now=system.clock.now()
        )


def test_a_stale_provincial_export_does_not_undo_an_inspection_result(env: tuple[System, Flask, str]) -> None:
    """The inspection's date is the inspection source's word: the province's older figure, read after
    it, is listed as a conflict for a regulator, never written over the report's date."""
    system, app, secret = env
    elevator = lift(system)
    _provincial(system, elevator.register_code, "2026-12-20")
    assert lift(system, elevator.id).next_inspection_due == date(2026, 12, 20)
    body = report(system, elevator.register_code, conclusion="合格", nonconformities=[], next_due="2027-11-20")
    assert post(app, secret, body).status_code == 200
    assert lift(system, elevator.id).next_inspection_due == date(2027, 11, 20)
    with system.sessions() as session:
        origin = session.get(FieldProvenance, (elevator.id, "elevator", "next_inspection_due"))
        assert origin is not None and origin.source == "inspection"

    _provincial(system, elevator.register_code, "2026-12-20")  # the province has not heard yet

    assert lift(system, elevator.id).next_inspection_due == date(2027, 11, 20)
    with system.sessions() as session:
        conflicts = session.scalars(
            select(RegisterConflict).where(
                RegisterConflict.record_id == elevator.id, RegisterConflict.field == "next_inspection_due"
            )
        ).all()
    assert [c.status for c in conflicts] == ["open"]
    assert {s: v["value"] for s, v in conflicts[0].candidates.items()} == {
        "provincial": "2026-12-20",
        "inspection": "2027-11-20",
    }


def test_the_issuing_institute_sees_the_rectification_of_equipment_outside_its_district(
    env: tuple[System, Flask, str],
) -> None:
    """The institute whose report opened a rectification case about a boiler sees the case before
    its re-inspection task exists, though the boiler is outside its district; another institute of
    its district does not."""
    system, app, secret = env
    with system.sessions() as session, session.begin():
        boiler = session.scalars(select(Equipment).order_by(Equipment.id)).first()
        assert boiler is not None
        elsewhere = session.scalars(select(District.code).where(District.code != boiler.district_code)).first()
        issuer = session.scalar(select(Person).where(Person.username == "inspector"))
        agency = session.get(Organisation, issuer.organisation_id)
        agency.district_code = elsewhere
        other = Organisation(code="other-inspect", name="另一检验机构", kind=OrgKind.INSPECTION_AGENCY,
                             district_code=elsewhere)  # fmt: skip
        session.add(other)
        session.flush()
        session.add(Person(username="other-inspector", display_name="检验员乙", roles=[Role.REGULATOR],
                           organisation_id=other.id, password_hash=hash_password(PASSWORD)))  # fmt: skip
    r = post(app, secret, report(system, boiler.register_code, report_no="GL-2026-7"))
    assert r.status_code == 200, r.get_json()
    case_id = r.get_json()["case_id"]
    with system.sessions() as session:
        tasks = session.scalars(select(CaseTask).where(CaseTask.case_id == case_id)).all()
    assert [t.bpmn_id for t in tasks] == ["rectify_work"] and all(t.organisation_id != agency.id for t in tasks)

    inspector, stranger = Client(app, "inspector"), Client(app, "other-inspector")
    assert inspector.get(f"/api/v1/cases/{case_id}").status_code == 200
    listed = inspector.get("/api/v1/cases", query_string={"type": "rectification"}).get_json()
    assert case_id in [c["id"] for c in listed]
    assert stranger.get(f"/api/v1/cases/{case_id}").status_code == 404
    listed = stranger.get("/api/v1/cases", query_string={"type": "rectification"}).get_json()
    assert case_id not in [c["id"] for c in listed]
