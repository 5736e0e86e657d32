"""Attacks on the inspection inbound surfaces, written from the contract (issue 14 §1, DESIGN
"Other inbound contracts"), not from the code: the same idempotency key from 8 threads at once, a
body signed for one source sent as another, the replay window's edges, oversized, non-UTF-8 and
wrongly typed bodies, and the file import fed a zip bomb, 100k rows and formula cells."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from connectors.ai_events.signature import WINDOW, sign
from connectors.inspection.models import InspectionReport
from connectors.inspection.service import add_source
from engine.models import Case
from infra.clock import SimulatedClock
from processes.models import AdminAuditEntry
from processes.system import System
from registry.models import Elevator, Organisation, OrgKind
from tests.support.api_client import Client, app_for
from tests.support.system import make_system

A, B = "inst-a", "inst-b"


@pytest.fixture
def env(db_url: str, clock: SimulatedClock, tmp_path: Path) -> Iterator[tuple[System, Flask, dict[str, str]]]:
    system = make_system(db_url, clock, elevators=20, upload_dir=tmp_path / "uploads")
    with system.sessions() as session, session.begin():
        org = session.scalars(select(Organisation).where(Organisation.kind == OrgKind.INSPECTION_AGENCY)).first()
        assert org is not None
        key = system.settings.secret_key
        secrets = {name: add_source(session, name, org.code, clock.now(), key) for name in (A, B)}
    yield system, app_for(system), secrets
    system.db.dispose()


def code_of(system: System) -> str:
    with system.sessions() as session:
        return session.scalars(select(Elevator.register_code).order_by(Elevator.id)).first()


def failed(system: System, source: str = A, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "source": source,
        "ts": system.clock.now().isoformat(),
        "report_no": "ATK-0001",
        "idempotency_key": "atk-key-1",
        "register_code": code_of(system),
        "inspected_on": "2026-11-20",
        "conclusion": "failed",
        "nonconformities": [{"code": "2.8", "description": "轿厢应急照明不亮", "severity": "B"}],
    }
    body.update(over)
    return body


def send(app: Flask, raw: bytes, *, source: str, secret: str, content_type: str = "application/json") -> Any:
    headers = {"X-Liftcase-Source": source, "X-Liftcase-Signature": sign(secret, raw), "Content-Type": content_type}
    return app.test_client().post("/hooks/inspection-results", data=raw, headers=headers)


def count(system: System, model: Any) -> int:
    with system.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("conclusion", ["failed", "passed"])
def test_one_key_from_eight_threads_makes_one_report_and_one_case(
    env: tuple[System, Flask, dict[str, str]], db_url: str, conclusion: str
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("a real race needs PostgreSQL's concurrent writers")
    system, app, secrets = env
    over: dict[str, Any] = {"conclusion": conclusion}
    if conclusion == "passed":
        over |= {"nonconformities": [], "next_due": "2027-11-20"}
    raw = json.dumps(failed(system, **over)).encode()
    gate, answers, errors = threading.Barrier(8), [], []

    def one() -> None:
        try:
            gate.wait()
            r = send(app, raw, source=A, secret=secrets[A])
            answers.append((r.status_code, r.get_json()))
        except Exception as err:  # a crash in a thread is the finding
            errors.append(repr(err))

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [s for s, _ in answers] == [200] * 8, answers
    assert count(system, InspectionReport) == 1 and count(system, Case) == (1 if conclusion == "failed" else 0)
    assert len({a["case_id"] for _, a in answers}) == 1
    with system.sessions() as session:
        renewals = session.scalar(
            select(func.count()).select_from(AdminAuditEntry).where(AdminAuditEntry.kind.like("%inspection_recorded"))
        )
    assert renewals <= 1
    assert sorted(a["status"] for _, a in answers).count("accepted") == 1


def test_a_body_signed_for_one_source_is_refused_as_another(env: tuple[System, Flask, dict[str, str]]) -> None:
    system, app, secrets = env
    raw = json.dumps(failed(system, source=A)).encode()
    assert send(app, raw, source=B, secret=secrets[A]).status_code == 401  # A's signature under B's name
    r = send(app, raw, source=B, secret=secrets[B])  # B signs a body that says it is A's
    assert r.status_code == 422 and "source" in r.get_json()["errors"]
    assert count(system, InspectionReport) == 0


@pytest.mark.parametrize(("offset", "status"), [
    (-WINDOW, 200), (-WINDOW - timedelta(seconds=1), 409), (WINDOW, 200), (WINDOW + timedelta(seconds=1), 409),
])  # fmt: skip
def test_the_replay_window_edges(env: tuple[System, Flask, dict[str, str]], offset: timedelta, status: int) -> None:
    system, app, secrets = env
    raw = json.dumps(failed(system, ts=(system.clock.now() + offset).isoformat())).encode()
    assert send(app, raw, source=A, secret=secrets[A]).status_code == status
    assert count(system, InspectionReport) == (1 if status == 200 else 0)


def test_an_oversized_body_is_413_and_bad_bytes_or_types_are_clear(env: tuple[System, Flask, dict[str, str]]) -> None:
    system, app, secrets = env
    big = b'{"pad": "' + b"x" * (system.settings.max_upload_bytes + 1) + b'"}'
    assert send(app, big, source=A, secret=secrets[A]).status_code == 413
    r = send(app, '{"source": "inst-a"}'.encode("utf-16"), source=A, secret=secrets[A])
    assert r.status_code == 400 and "UTF-8" in r.get_json()["message"]
    raw = json.dumps(failed(system)).encode()
    for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        r = send(app, raw, source=A, secret=secrets[A], content_type=kind)
        assert r.status_code in (200, 400, 415), (kind, r.status_code)
    assert count(system, InspectionReport) <= 1


# --- the file import -----------------------------------------------------------------------------


def importer(app: Flask) -> Client:
    return Client(app, "admin")


def upload(client: Client, data: bytes, name: str) -> Any:
    return client.post(
        f"/api/v1/inspection-reports/import?source={A}",
        json=None,
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def zip_bomb_xlsx() -> bytes:
    """A real workbook whose sheet is swapped for one that inflates to ~1 GB of empty rows from
    ~1 MB on the wire."""
    from openpyxl import Workbook

    small = io.BytesIO()
    book = Workbook()
    book.active.append(["report_no", "register_code", "inspected_on", "conclusion"])
    book.save(small)
    out = io.BytesIO()
    with zipfile.ZipFile(small) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for member in src.infolist():
            if member.filename != "xl/worksheets/sheet1.xml":
                z.writestr(member, src.read(member))
                continue
            with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
                ns = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
                sheet.write(b'<?xml version="1.0"?><worksheet xmlns="' + ns + b'"><sheetData>')
                chunk = b"<row/>" * 100_000
                for _ in range(1700):
                    sheet.write(chunk)
                sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


def test_an_xlsx_zip_bomb_is_refused_clearly(env: tuple[System, Flask, dict[str, str]]) -> None:
    system, app, _ = env
    bomb = zip_bomb_xlsx()
    assert len(bomb) < system.settings.max_upload_bytes
    r = upload(importer(app), bomb, "bomb.xlsx")
    assert r.status_code == 422, r.status_code
    assert "file" in r.get_json()["errors"]
    assert count(system, InspectionReport) == 0


def test_an_xlsx_of_100k_rows_is_refused_with_the_limit(env: tuple[System, Flask, dict[str, str]]) -> None:
    from openpyxl import Workbook

    system, app, _ = env
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["report_no", "register_code", "inspected_on", "conclusion"])
    code = code_of(system)
    for n in range(100_000):
        sheet.append([f"R{n}", code, "2026-11-20", "passed"])
    out = io.BytesIO()
    book.save(out)
    r = upload(importer(app), out.getvalue(), "many.xlsx")
    assert r.status_code == 422 and "rows" in r.get_json()["message"]
    assert count(system, InspectionReport) == 0


def test_eight_different_reports_on_one_elevator_at_once_share_one_case(
    env: tuple[System, Flask, dict[str, str]], db_url: str
) -> None:
    """Different keys, same elevator: each report is kept, they join one rectification case, and
    every report's items are there once with their own positions (none lost to a position clash)."""
    if not db_url.startswith("postgresql"):
        pytest.skip("a real race needs PostgreSQL's concurrent writers")
    from processes.models import RectificationItem

    system, app, secrets = env
    bodies = [json.dumps(failed(system, report_no=f"ATK-{n}", idempotency_key=f"k-{n}")).encode() for n in range(8)]
    gate, answers = threading.Barrier(8), []

    def one(raw: bytes) -> None:
        gate.wait()
        r = send(app, raw, source=A, secret=secrets[A])
        answers.append((r.status_code, r.get_json()))

    threads = [threading.Thread(target=one, args=(raw,)) for raw in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [s for s, _ in answers] == [200] * 8, answers
    assert {a["status"] for _, a in answers} == {"accepted"}
    assert count(system, InspectionReport) == 8 and count(system, Case) == 1
    with system.sessions() as session:
        origins = session.scalars(select(RectificationItem.origin)).all()
    assert len(origins) == 8 and len(set(origins)) == 8


def test_re_inspection_reports_racing_for_one_waiting_case_are_all_answered(
    env: tuple[System, Flask, dict[str, str]], db_url: str
) -> None:
    """A case waits for its re-inspection; four different re-inspection reports for that elevator
    arrive at once (an institute's retry under a new key, a second inspector). None is a 500; each
    report is kept; the case closes once."""
    if not db_url.startswith("postgresql"):
        pytest.skip("a real race needs PostgreSQL's concurrent writers")
    from tests.connectors.inspection.test_inspection_results import _open_task, _rectify_and_accept

    system, app, secrets = env
    first = send(app, json.dumps(failed(system)).encode(), source=A, secret=secrets[A]).get_json()
    case_id = first["case_id"]
    _rectify_and_accept(system, case_id)
    _open_task(system, case_id, "reinspect")
    over = {"conclusion": "reinspection_passed", "nonconformities": [], "next_due": "2027-12-01"}
    bodies = [
        json.dumps(failed(system, report_no=f"FJ-{n}", idempotency_key=f"fj-{n}", **over)).encode() for n in range(4)
    ]
    gate, answers = threading.Barrier(4), []

    def one(raw: bytes) -> None:
        gate.wait()
        r = send(app, raw, source=A, secret=secrets[A])
        answers.append((r.status_code, r.get_json()))

    threads = [threading.Thread(target=one, args=(raw,)) for raw in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [s for s, _ in answers] == [200] * 4, answers
    assert count(system, InspectionReport) == 5
    with system.sessions() as session:
        case = session.get(Case, case_id)
        assert case.status == "closed"


def test_long_keys_that_share_a_prefix_are_two_reports(env: tuple[System, Flask, dict[str, str]]) -> None:
    """A 60-character source name and two 120-character idempotency keys that differ only at the
    end: two reports, each with its items (no key cut to a common prefix)."""
    from processes.models import RectificationItem

    system, app, _ = env
    name = "s" * 60
    with system.sessions() as session, session.begin():
        org = session.scalars(select(Organisation).where(Organisation.kind == OrgKind.INSPECTION_AGENCY)).first()
        assert org is not None
        secret = add_source(session, name, org.code, system.clock.now(), system.settings.secret_key)
    for n, code in enumerate(("2.8", "3.1")):
        item = [{"code": code, "description": "轿厢应急照明不亮", "severity": "B"}]
        body = failed(system, source=name, report_no=f"L-{n}", idempotency_key="k" * 119 + str(n), nonconformities=item)
        r = send(app, json.dumps(body).encode(), source=name, secret=secret)
        assert r.status_code == 200 and r.get_json()["status"] == "accepted", r.get_json()
    with system.sessions() as session:
        codes = sorted(session.scalars(select(RectificationItem.code)).all())
    assert count(system, InspectionReport) == 2 and codes == ["2.8", "3.1"]
