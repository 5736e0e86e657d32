"""Inspection results across scopes and into exports: a user of district A (regulator, maintenance
unit, property) reading or acting on the rectification items of district B's case; formula cells
(=cmd|...) that arrive by the inspection import and leave by our CSV/XLSX exports."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import select

from connectors.ai_events.signature import sign
from connectors.inspection.service import add_source
from infra.clock import SimulatedClock
from processes.system import System
from registry.models import Elevator, Organisation, OrgKind
from tests.support.api_client import Client, app_for, demo_elevator, other_elevator
from tests.support.system import make_system

SOURCE = "inst-scope"
FORMULA = "=cmd|' /C calc'!A0"


@pytest.fixture
def env(db_url: str, clock: SimulatedClock, tmp_path: Path) -> Iterator[tuple[System, Flask, str]]:
    system = make_system(db_url, clock, elevators=40, upload_dir=tmp_path / "uploads")
    with system.sessions() as session, session.begin():
        org = session.scalars(select(Organisation).where(Organisation.kind == OrgKind.INSPECTION_AGENCY)).first()
        assert org is not None
        secret = add_source(session, SOURCE, org.code, clock.now(), system.settings.secret_key)
    yield system, app_for(system), secret
    system.db.dispose()


def failed_case(system: System, app: Flask, secret: str, elevator_id: int, report_no: str) -> int:
    with system.sessions() as session:
        code = session.get(Elevator, elevator_id).register_code
    body = {
        "source": SOURCE, "ts": system.clock.now().isoformat(), "report_no": report_no, "register_code": code,
        "inspected_on": "2026-11-20", "conclusion": "failed",
        "nonconformities": [{"code": "2.8", "description": "轿厢应急照明不亮", "severity": "B"}],
    }  # fmt: skip
    raw = json.dumps(body).encode()
    headers = {"X-Liftcase-Source": SOURCE, "X-Liftcase-Signature": sign(secret, raw)}
    r = app.test_client().post("/hooks/inspection-results", data=raw, headers=headers, content_type="application/json")
    assert r.status_code == 200, r.get_json()
    return int(r.get_json()["case_id"])


def test_district_a_cannot_read_or_act_on_district_b_items(env: tuple[System, Flask, str]) -> None:
    system, app, secret = env
    mine = failed_case(system, app, secret, demo_elevator(system), "SC-A")
    theirs = failed_case(system, app, secret, other_elevator(system), "SC-B")
    users = {name: Client(app, name) for name in ("regulator", "maint", "property")}
    for name, client in users.items():
        assert client.get(f"/api/v1/cases/{mine}/items").status_code == 200, name  # the control
        r = client.get(f"/api/v1/cases/{theirs}/items")
        assert r.status_code == 404, (name, r.status_code)
        assert client.get(f"/api/v1/cases/{theirs}").status_code == 404, name
    item = users["regulator"].get(f"/api/v1/cases/{mine}/items").get_json()[0]["id"]
    with system.sessions() as session:
        from processes.rectification_items import items_of

        their_item = items_of(session, theirs)[0].id
    for name in ("maint", "property"):
        r = users[name].post(
            f"/api/v1/cases/{theirs}/items/{their_item}/evidence",
            json=None,
            data={"note": "偷偷整改", "reference": "x"},
        )
        assert r.status_code == 404, (name, r.status_code)
    r = users["regulator"].post(f"/api/v1/cases/{theirs}/items/{their_item}/review", json={"accepted": True})
    assert r.status_code == 404
    # An item id of B's case through A's case: not found either.
    r = users["regulator"].post(f"/api/v1/cases/{mine}/items/{their_item}/review", json={"accepted": True})
    assert r.status_code == 404, r.status_code
    assert item != their_item
    # B's case is not in A's lists or exports.
    listed = {c["id"] for c in users["regulator"].get("/api/v1/cases?page_size=100").get_json()}
    assert mine in listed and theirs not in listed


def _cells(data: bytes, fmt: str) -> list[str]:
    if fmt == "csv":
        return [c for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) for c in row]
    sheet = load_workbook(io.BytesIO(data), read_only=True).active
    return [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None]


def test_formula_cells_imported_come_out_of_exports_neutralised(env: tuple[System, Flask, str]) -> None:
    system, app, _ = env
    with system.sessions() as session:
        code = session.get(Elevator, demo_elevator(system)).register_code
    rows = [
        ["report_no", "register_code", "inspected_on", "conclusion", "item_code", "item_description", "item_severity"],
        [FORMULA[:50], code, "2026-11-20", "failed", "2.8", FORMULA, "B"],
        ["+SC-2", code, "2026-11-20", "failed", "3.1", "@SUM(1+1)*cmd|' /C calc'!A0", "C"],
    ]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    admin = Client(app, "admin")
    r = admin.post(
        f"/api/v1/inspection-reports/import?source={SOURCE}",
        json=None,
        data={"file": (io.BytesIO(out.getvalue().encode()), "reports.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["accepted"] == 2, r.get_json()
    for path in ("/api/v1/reports/exports/cases", "/api/v1/reports/exports/timelines"):
        for fmt in ("csv", "xlsx"):
            data = admin.get(f"{path}?format={fmt}").data
            cells = _cells(data, fmt)
            live = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
            assert live == [], (path, fmt, live[:3])
            if path.endswith("timelines"):
                assert any("cmd|" in c for c in cells), (path, fmt)  # the text is kept, only defused
