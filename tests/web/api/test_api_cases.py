"""Cases and tasks over the HTTP API as the people who use them: inbox, form errors, claim,
complete, SLA, diagram, comments, escalation, cancel, attachments."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask

from infra.clock import SimulatedClock
from processes.intake import open_or_join
from processes.system import System
from tests.support.api_client import Client, app_for, demo_elevator
from tests.support.system import make_system


def _png() -> bytes:
    """A real photo: uploads are decoded and re-encoded, so a PNG header alone is refused."""
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 200)).save(out, format="PNG")
    return out.getvalue()


PNG = _png()


@pytest.fixture
def api(db_url: str, clock: SimulatedClock, tmp_path: Path) -> Iterator[tuple[System, Flask]]:
    system = make_system(db_url, clock, elevators=80, upload_dir=tmp_path / "uploads")
    yield system, app_for(system)
    system.db.dispose()


def rescue_case(system: System) -> int:
    return open_or_join(
        system.engine, system.settings.sla_file, "rescue", elevator_id=demo_elevator(system), signal={"source": "qr"}
    ).case_id


def test_dispatcher_verifies_and_technician_accepts_over_http(api: tuple[System, Flask], clock: SimulatedClock) -> None:
    system, app = api
    case_id = rescue_case(system)
    dispatcher = Client(app, "dispatcher")
    inbox = dispatcher.get("/api/v1/tasks?scope=mine").get_json()
    task = next(t for t in inbox if t["case_id"] == case_id)
    assert task["bpmn_id"] == "verify_dispatch" and task["can_act"]

    detail = dispatcher.get(f"/api/v1/tasks/{task['id']}").get_json()
    assert detail["form_schema"]["type"] == "object"

    bad = dispatcher.post(
        f"/api/v1/tasks/{task['id']}/complete", json={"data": {"outcome": "maybe", "trapped_count": -1}}
    )
    assert bad.status_code == 422
    body = bad.get_json()
    assert body["code"] == 422 and body["errors"] and all(isinstance(v, list) for v in body["errors"].values())

    ok = dispatcher.post(
        f"/api/v1/tasks/{task['id']}/complete", json={"data": {"outcome": "dispatch", "trapped_count": 1}}
    )
    assert ok.status_code == 200, ok.get_json()
    again = dispatcher.post(
        f"/api/v1/tasks/{task['id']}/complete", json={"data": {"outcome": "dispatch", "trapped_count": 1}}
    )
    assert again.status_code in (403, 409)

    maint = Client(
        app,
        "maint",
    )
    mine = maint.get("/api/v1/tasks?scope=mine").get_json()
    accept = next(t for t in mine if t["case_id"] == case_id and t["bpmn_id"] == "accept_order")
    assert maint.post(f"/api/v1/tasks/{accept['id']}/claim").get_json()["assignee_id"] == maint.me["id"]
    colleague = Client(app, "maint_manager")
    assert colleague.post(f"/api/v1/tasks/{accept['id']}/claim").status_code == 409

    clock.advance(timedelta(minutes=2))
    assert maint.post(f"/api/v1/tasks/{accept['id']}/complete", json={"data": {"eta_minutes": 20}}).status_code == 200

    case = dispatcher.get(f"/api/v1/cases/{case_id}").get_json()
    states = {m["milestone"]: m["state"] for m in case["sla"]}
    assert states["dispatched"] == "met" and states["accepted"] == "met" and states["on_site"] == "pending"
    assert case["timeline"]["chain"] == "intact"
    kinds = [e["kind"] for e in case["timeline"]["events"]]
    assert "task_assigned" in kinds and kinds.count("task_completed") == 2
    roles = {p["role"] for p in case["participants"]}
    assert {"rescue_centre", "maintenance", "property"} <= roles

    diagram = dispatcher.get(f"/api/v1/cases/{case_id}/diagram").get_json()
    assert "verify_dispatch" in diagram["completed"] and "report_arrival" in diagram["active"]
    assert diagram["xml"].lstrip().startswith("<?xml") or "<bpmn" in diagram["xml"][:500]


def test_overdue_filter_and_sla_countdown(api: tuple[System, Flask], clock: SimulatedClock) -> None:
    system, app = api
    case_id = rescue_case(system)
    regulator = Client(app, "city_regulator")
    assert [c["id"] for c in regulator.get("/api/v1/cases?overdue=true").get_json()] == []
    clock.advance(timedelta(minutes=4))
    sla = regulator.get(f"/api/v1/cases/{case_id}/sla").get_json()
    verify = next(m for m in sla if m["milestone"] == "dispatched")
    assert verify["state"] == "overdue" and verify["seconds_left"] < 0
    listed = regulator.get("/api/v1/cases?overdue=true&type=rescue").get_json()
    assert [c["id"] for c in listed] == [case_id]
    assert regulator.get("/api/v1/cases?type=warning").get_json() == []
    page = regulator.get("/api/v1/cases?page=1&page_size=1")
    assert page.status_code == 200 and "X-Pagination" in page.headers


def test_comment_escalate_cancel(api: tuple[System, Flask]) -> None:
    system, app = api
    case_id = rescue_case(system)
    regulator = Client(app, "regulator")
    assert regulator.post(f"/api/v1/cases/{case_id}/comments", json={"body": "请尽快到场"}).status_code == 201
    assert regulator.post(f"/api/v1/cases/{case_id}/comments", json={"body": ""}).status_code == 422
    auditor = Client(app, "auditor")
    assert auditor.post(f"/api/v1/cases/{case_id}/comments", json={"body": "x"}).status_code == 403

    up = regulator.post(f"/api/v1/cases/{case_id}/escalate", json={"reason": "长时间未响应"})
    assert up.status_code == 200 and up.get_json()["escalation_level"] == 2
    maint = Client(app, "maint")
    assert maint.post(f"/api/v1/cases/{case_id}/escalate", json={"reason": "x" * 5}).status_code == 403

    dispatcher = Client(app, "dispatcher")
    assert dispatcher.post(f"/api/v1/cases/{case_id}/cancel", json={}).status_code == 422
    done = dispatcher.post(f"/api/v1/cases/{case_id}/cancel", json={"reason": "误报：乘客已自行离开"})
    assert done.status_code == 200 and done.get_json()["status"] == "cancelled"
    assert dispatcher.post(f"/api/v1/cases/{case_id}/cancel", json={"reason": "again"}).status_code == 409
    events = regulator.get(f"/api/v1/cases/{case_id}").get_json()["timeline"]["events"]
    assert [e["kind"] for e in events if e["kind"] in ("comment_added", "escalated", "case_cancelled")] == [
        "comment_added",
        "escalated",
        "case_cancelled",
    ]


def test_evidence_upload_limits(api: tuple[System, Flask]) -> None:
    system, app = api
    case_id = rescue_case(system)
    dispatcher = Client(app, "dispatcher")
    task = next(t for t in dispatcher.get("/api/v1/tasks").get_json() if t["case_id"] == case_id)
    url = f"/api/v1/tasks/{task['id']}/attachments"
    from io import BytesIO

    ok = dispatcher.post(url, data={"file": (BytesIO(PNG), "arrival.png")}, content_type="multipart/form-data")
    assert ok.status_code == 201, ok.get_json()
    meta = ok.get_json()
    assert meta["content_type"] == "image/png"
    exe = dispatcher.post(
        url, data={"file": (BytesIO(b"MZ\x90\x00" * 10), "photo.jpg")}, content_type="multipart/form-data"
    )
    assert exe.status_code == 422 and "file" in exe.get_json()["errors"]
    big = PNG + b"\x00" * system.settings.max_upload_bytes
    assert (
        dispatcher.post(url, data={"file": (BytesIO(big), "big.png")}, content_type="multipart/form-data").status_code
        == 413
    )
    got = dispatcher.get(f"/api/v1/cases/{case_id}/attachments/{meta['id']}")
    assert got.status_code == 200 and got.data[:8] == PNG[:8] and meta["size"] == len(got.data)


def test_dispatcher_opens_a_rescue_phoned_in_and_a_repeat_joins(api: tuple[System, Flask]) -> None:
    system, app = api
    dispatcher = Client(app, "dispatcher")
    lift = demo_elevator(system)
    made = dispatcher.post(
        "/api/v1/cases", json={"type": "rescue", "elevator_id": lift, "phone": "13800000000", "trapped_count": 2}
    )
    assert made.status_code == 201 and made.get_json()["number"].startswith("JY-")
    again = dispatcher.post("/api/v1/cases", json={"type": "rescue", "elevator_id": lift})
    assert again.status_code == 200 and again.get_json() == {**made.get_json(), "number": None, "joined": True}
    case = dispatcher.get(f"/api/v1/cases/{made.get_json()['case_id']}").get_json()
    assert case["variables"]["trapped_count"] == 2
    assert "signal_joined" in [e["kind"] for e in case["timeline"]["events"]]
    assert Client(app, "maint").post("/api/v1/cases", json={"type": "rescue", "elevator_id": lift}).status_code == 403
    regulator = Client(app, "regulator")
    report = regulator.post(
        "/api/v1/cases",
        json={
            "type": "rectification",
            "elevator_id": lift,
            "report_no": "JY2026-1",
            "findings": ["限速器动作速度超差"],
        },
    )
    assert report.status_code == 201 and report.get_json()["number"].startswith(("ZG-",))
    assert dispatcher.post("/api/v1/cases", json={"type": "rescue", "elevator_id": 10**6}).status_code == 404


def test_only_a_manager_takes_a_claimed_task_from_a_colleague(api: tuple[System, Flask]) -> None:
    system, app = api
    case_id = rescue_case(system)
    dispatcher = Client(app, "dispatcher")
    verify = next(t for t in dispatcher.get("/api/v1/tasks").get_json() if t["case_id"] == case_id)
    dispatcher.post(f"/api/v1/tasks/{verify['id']}/complete", json={"data": {"outcome": "dispatch"}})
    maint, manager = Client(app, "maint"), Client(app, "maint_manager")
    accept = next(t for t in maint.get("/api/v1/tasks").get_json() if t["bpmn_id"] == "accept_order")
    assert maint.post(f"/api/v1/tasks/{accept['id']}/claim").status_code == 200
    colleagues = [u for u in manager.get("/api/v1/organisations/mine/users").get_json() if u["username"] != "maint"]
    other = next(u for u in colleagues if "maintenance" in u["roles"] and u["username"] != "maint_manager")
    seen = next(t for t in manager.get("/api/v1/tasks?scope=org").get_json() if t["id"] == accept["id"])
    assert seen["can_act"] is False and seen["can_assign"] is True
    handed = manager.post(f"/api/v1/tasks/{accept['id']}/assign", json={"user_id": other["id"]})
    assert handed.status_code == 200 and handed.get_json()["assignee_id"] == other["id"]
    # a technician cannot take it back from the colleague who now holds it
    assert maint.post(f"/api/v1/tasks/{accept['id']}/assign", json={"user_id": maint.me["id"]}).status_code == 409


def test_a_claim_is_withdrawn_only_by_its_claimer_and_both_stay_on_the_timeline(api: tuple[System, Flask]) -> None:
    system, app = api
    case_id = rescue_case(system)
    dispatcher = Client(app, "dispatcher")
    verify = next(t for t in dispatcher.get("/api/v1/tasks").get_json() if t["case_id"] == case_id)
    dispatcher.post(f"/api/v1/tasks/{verify['id']}/complete", json={"data": {"outcome": "dispatch"}})
    maint = Client(app, "maint")
    accept = next(t for t in maint.get("/api/v1/tasks").get_json() if t["bpmn_id"] == "accept_order")
    assert maint.post(f"/api/v1/tasks/{accept['id']}/release").status_code == 200  # the on-call's, given back
    # nothing to withdraw before a claim
    assert maint.post(f"/api/v1/tasks/{accept['id']}/release", json={"undo": True}).status_code == 409
    assert maint.post(f"/api/v1/tasks/{accept['id']}/claim").status_code == 200
    undone = maint.post(f"/api/v1/tasks/{accept['id']}/release", json={"undo": True})
    assert undone.status_code == 200 and undone.get_json()["assignee_id"] is None
    timeline = Client(app, "regulator").get(f"/api/v1/cases/{case_id}?lang=zh-CN").get_json()["timeline"]["events"]
    assigned = [e for e in timeline if e["kind"] == "task_assigned"]
    assert [e["payload"].get("undo") for e in assigned[-3:]] == [None, None, True]  # release, claim, undo
    assert assigned[-2]["payload"]["assignee_id"] == maint.me["id"]
    assert any("撤销认领任务" in e["summary"] for e in assigned)
