"""Sign-in (throttle, audit trail, tokens, sign-out) and administration (elevators with checked
register codes, bulk import with a per-row error report, users with hashed passwords)."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from flask import Flask
from openpyxl import Workbook
from sqlalchemy import select

from infra.clock import SimulatedClock
from processes.system import System
from registry.accounts.models import SignInEvent
from registry.models import Elevator, Organisation, OrgKind, User
from tests.support.api_client import PASSWORD, Client, app_for
from tests.support.system import make_system


@pytest.fixture
def api(db_url: str, clock: SimulatedClock) -> Iterator[tuple[System, Flask]]:
    system = make_system(db_url, clock, elevators=40)
    yield system, app_for(system)
    system.db.dispose()


def _units(system: System) -> tuple[str, str]:
    with system.sessions() as s:
        uu = s.scalar(select(Organisation.code).where(Organisation.kind == OrgKind.USE_UNIT).order_by(Organisation.id))
        mu = s.scalar(
            select(Organisation.code).where(Organisation.kind == OrgKind.MAINTENANCE_UNIT).order_by(Organisation.id)
        )
        return uu, mu


def test_throttle_after_repeated_failures_and_audit_trail(api: tuple[System, Flask], clock: SimulatedClock) -> None:
    system, app = api
    http = app.test_client()
    for _ in range(system.settings.signin_free_failures):
        assert http.post("/api/v1/session", json={"username": "maint", "password": "wrong"}).status_code == 401
    throttled = http.post("/api/v1/session", json={"username": "maint", "password": PASSWORD})
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "2"  # a wait, not a lock
    from datetime import timedelta

    clock.advance(timedelta(seconds=2))
    assert http.post("/api/v1/session", json={"username": "maint", "password": PASSWORD}).status_code == 200
    csrf = http.get("/api/v1/session").get_json()["csrf_token"]
    assert http.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert http.get("/api/v1/session").status_code == 401
    # unknown users are refused the same way and recorded too
    assert http.post("/api/v1/session", json={"username": "nobody", "password": "x"}).status_code == 401
    with system.sessions() as s:
        trail = [(e.username, e.kind) for e in s.scalars(select(SignInEvent).order_by(SignInEvent.id))]
    assert trail == [("maint", "failed")] * 5 + [
        ("maint", "throttled"),
        ("maint", "sign_in"),
        ("maint", "sign_out"),
        ("nobody", "failed"),
    ]
    with system.sessions() as s:
        stored = s.scalar(select(User.password_hash).where(User.username == "maint"))
    assert PASSWORD not in stored and stored.startswith(("scrypt:", "pbkdf2:"))


def test_personal_token_works_without_csrf_and_can_be_revoked(api: tuple[System, Flask]) -> None:
    _, app = api
    admin = Client(app, "admin")
    made = admin.post("/api/v1/tokens", json={"name": "省平台对接"}).get_json()
    secret = made["secret"]
    bearer = {"Authorization": f"Bearer {secret}"}
    robot = app.test_client()
    assert robot.get("/api/v1/elevators", headers=bearer).status_code == 200
    assert robot.post("/api/v1/devices", json={"id": "dev-token-1"}, headers=bearer).status_code == 201
    assert (
        "secret" not in admin.get("/api/v1/tokens").get_json()[0]
        or admin.get("/api/v1/tokens").get_json()[0]["secret"] is None
    )
    assert admin.delete(f"/api/v1/tokens/{made['id']}").status_code == 204
    assert robot.get("/api/v1/elevators", headers=bearer).status_code == 401
    assert robot.get("/api/v1/elevators", headers={"Authorization": "Bearer lct_forged"}).status_code == 401


def test_elevator_register_code_is_checked(api: tuple[System, Flask]) -> None:
    system, app = api
    admin = Client(app, "admin")
    with system.sessions() as s:
        uu = s.scalar(select(Organisation.id).where(Organisation.kind == OrgKind.USE_UNIT))
        mu = s.scalar(select(Organisation.id).where(Organisation.kind == OrgKind.MAINTENANCE_UNIT))
    body = {
        "register_code": "31105117022015999001",
        "address": "通川区朝阳东路1号1栋1单元",
        "district_code": "511702",
        "lat": 31.21,
        "lon": 107.47,
        "use_unit_id": uu,
        "maintenance_unit_id": mu,
    }
    made = admin.post("/api/v1/elevators", json=body)
    assert made.status_code == 201 and len(made.get_json()["qr_code"]) == 10
    assert admin.post("/api/v1/elevators", json=body).status_code == 409
    bad = admin.post("/api/v1/elevators", json={**body, "register_code": "9999511702201599900X", "lat": 99})
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]) == {"register_code", "lat"}
    wrong_kind = admin.post(
        "/api/v1/elevators", json={**body, "register_code": "31105117022015999002", "use_unit_id": mu}
    )
    assert wrong_kind.status_code == 422 and "use_unit_id" in wrong_kind.get_json()["errors"]


def _import(admin: Client, data: bytes, name: str, dry_run: bool = False) -> dict:
    url = "/api/v1/elevators/import" + ("?dry_run=true" if dry_run else "")
    r = admin.post(url, data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def test_bulk_import_csv_and_xlsx_with_row_errors(api: tuple[System, Flask]) -> None:
    system, app = api
    admin = Client(app, "admin")
    uu, mu = _units(system)
    header = "设备注册代码,安装地址,区县代码,纬度,经度,层站数,安装日期,使用单位编码,维保单位编码,下次检验日期"
    rows = [
        f"31105117022016000101,通川区西外大道9号,511702,31.2,107.5,18,2016-05-01,{uu},{mu},2027-03-01",
        f"31105117022016000102,通川区西外大道11号,511702,31.2,107.5,abc,2016-05-01,{uu},{mu},2027-03-01",
        f"1234,通川区,599999,31.2,107.5,6,,{uu},NOPE,",
        f"31105117022016000101,通川区重复行,511702,31.2,107.5,6,,{uu},{mu},",
        "",
        f"33105117032017000103,达川区扶梯,511703,31.2,107.5,2,2017-01-01,{uu},{mu},2026-12-31",
    ]
    csv_bytes = ("\n".join([header, *rows]) + "\n").encode("utf-8-sig")
    dry = _import(admin, csv_bytes, "elevators.csv", dry_run=True)
    assert dry["created"] == 0 and dry["rows"] == 5 and dry["valid_rows"] == 2
    report = _import(admin, csv_bytes, "elevators.csv")
    assert report["created"] == 2 and report["updated"] == 0
    by_row = {e["row"]: e["errors"] for e in report["errors"]}
    assert set(by_row) == {3, 4, 5}
    assert set(by_row[3]) == {"floors"}
    assert {"register_code", "district_code", "maintenance_unit_code"} <= set(by_row[4])
    assert "repeats row 2" in by_row[5]["register_code"][0]
    with system.sessions() as s:
        escalator = s.scalar(select(Elevator).where(Elevator.register_code == "33105117032017000103"))
        assert escalator is not None and escalator.kind == "escalator"

    book = Workbook()
    sheet = book.active
    sheet.append(
        [
            "register_code",
            "address",
            "district_code",
            "lat",
            "lon",
            "floors",
            "installed_on",
            "use_unit_code",
            "maintenance_unit_code",
            "next_inspection_due",
        ]
    )
    sheet.append(["31105117022016000101", "通川区西外大道9号（更正）", "511702", 31.2, 107.5, 20, None, uu, mu, None])
    sheet.append(["31105117022016000199", "x", "511702", "north", 107.5, 6, None, uu, mu, None])
    buffer = io.BytesIO()
    book.save(buffer)
    xlsx = _import(admin, buffer.getvalue(), "elevators.xlsx")
    assert xlsx["updated"] == 1 and xlsx["created"] == 0 and xlsx["errors"][0]["row"] == 3
    assert "lat" in xlsx["errors"][0]["errors"]
    broken = admin.post(
        "/api/v1/elevators/import",
        data={"file": (io.BytesIO(b"a,b\n1,2\n"), "x.csv")},
        content_type="multipart/form-data",
    )
    assert broken.status_code == 422 and "missing columns" in broken.get_json()["message"]


def test_admin_creates_users_with_hashed_passwords(api: tuple[System, Flask]) -> None:
    system, app = api
    admin = Client(app, "admin")
    with system.sessions() as s:
        org = s.scalar(select(Organisation.id).where(Organisation.kind == OrgKind.MAINTENANCE_UNIT))
    body = {
        "username": "new_tech",
        "display_name": "新技术员",
        "roles": ["maintenance"],
        "organisation_id": org,
        "password": "a long enough password",
    }
    assert admin.post("/api/v1/users", json=body).status_code == 201
    assert admin.post("/api/v1/users", json=body).status_code == 409
    bad = admin.post("/api/v1/users", json={**body, "username": "x y", "roles": ["king"], "email": "nope"})
    assert bad.status_code == 422 and {"username", "roles", "email"} <= set(bad.get_json()["errors"])
    Client(app, "new_tech", "a long enough password")


def test_sign_in_trail_is_for_admins_and_auditors(api: tuple[System, Flask]) -> None:
    _, app = api
    Client(app, "maint")
    trail = Client(app, "auditor").get("/api/v1/sign-ins?username=maint").get_json()
    assert [e["kind"] for e in trail] == ["sign_in"]
    assert Client(app, "regulator").get("/api/v1/sign-ins").status_code == 403


def test_a_disabled_user_is_refused_at_once(api: tuple[System, Flask]) -> None:
    _, app = api
    maint = Client(app, "maint")
    assert maint.get("/api/v1/tasks").status_code == 200
    admin = Client(app, "admin")
    assert admin.patch(f"/api/v1/users/{maint.me['id']}", json={"active": False}).status_code == 200
    assert maint.get("/api/v1/tasks").status_code == 401
