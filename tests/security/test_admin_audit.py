"""Admin safety and the admin audit log: an admin cannot disable or demote themselves, no one can
disable the last active admin; every admin change (users, roles, organisations, elevators, devices,
elevator imports, process versions) is one entry of one hash chain, append-only in the database,
readable by admins and auditors (GET /api/v1/admin-audit, /verify) and checked by
`liftcase verify-timeline`."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from infra.clock import SimulatedClock
from infra.errors import Conflict
from infra.settings import ROOT
from liftcase.cli import main
from processes import admin_audit, administration
from processes.models import AdminAuditEntry
from processes.system import System
from registry.models import Organisation, OrgKind, Role, User
from tests.support.api_client import Client, app_for
from tests.support.system import make_system

WARNING_XML = (ROOT / "bpmn" / "warning.bpmn").read_text(encoding="utf-8")


@pytest.fixture
def api(db_url: str, clock: SimulatedClock) -> Iterator[tuple[System, Flask]]:
    system = make_system(db_url, clock, elevators=30)
    yield system, app_for(system)
    system.db.dispose()


def entries(system: System) -> list[AdminAuditEntry]:
    with system.sessions() as session:
        return list(session.scalars(select(AdminAuditEntry).order_by(AdminAuditEntry.seq)))


def org_of_kind(system: System, kind: OrgKind) -> int:
    with system.sessions() as session:
        found = session.scalar(select(Organisation.id).where(Organisation.kind == kind).order_by(Organisation.id))
        assert found is not None
        return found


def test_an_admin_cannot_disable_or_demote_themselves(api: tuple[System, Flask]) -> None:
    system, app = api
    admin = Client(app, "admin")
    me = f"/api/v1/users/{admin.me['id']}"
    before = len(entries(system))
    disabled = admin.patch(me, json={"active": False})
    assert disabled.status_code == 409 and "disable yourself" in disabled.get_json()["message"]
    demoted = admin.patch(me, json={"roles": ["auditor"]})
    assert demoted.status_code == 409 and "your own admin role" in demoted.get_json()["message"]
    assert len(entries(system)) == before  # refused: nothing changed, nothing recorded
    with system.sessions() as session:
        me_row = session.get(User, admin.me["id"])
        assert me_row.active and Role.ADMIN in me_row.roles
    assert admin.patch(me, json={"roles": ["admin", "auditor"], "phone": "0818-2100000"}).status_code == 200


def test_the_last_active_admin_cannot_be_disabled(api: tuple[System, Flask], clock: SimulatedClock) -> None:
    system, app = api
    admin = Client(app, "admin")
    body = {"username": "admin2", "display_name": "第二管理员", "roles": ["admin"],
            "organisation_id": org_of_kind(system, OrgKind.PLATFORM), "password": "another long password"}  # fmt: skip
    assert admin.post("/api/v1/users", json=body).status_code == 201
    second = Client(app, "admin2", "another long password")
    # with two admins, one may disable the other; then the one left is the last
    assert second.patch(f"/api/v1/users/{admin.me['id']}", json={"active": False}).status_code == 200
    with system.sessions() as session, session.begin():
        last = session.scalar(select(User).where(User.username == "admin2"))
        with pytest.raises(Conflict, match="last active admin"):  # whoever asks (here: no user, a script)
            administration.update_user(
                session, last, {"active": False}, password=None, actor_id=0, actor="script", now=clock.now()
            )
        session.rollback()
    with system.sessions() as session, session.begin():
        last = session.scalar(select(User).where(User.username == "admin2"))
        with pytest.raises(Conflict, match="last active admin"):
            administration.update_user(
                session, last, {"roles": ["auditor"]}, password=None, actor_id=0, actor="script", now=clock.now()
            )
        session.rollback()


def test_every_admin_change_is_an_entry_of_one_chain(api: tuple[System, Flask]) -> None:
    system, app = api
    deployed_at_start = len(entries(system))
    assert {e.kind for e in entries(system)} == {"definition.deployed"}  # the BPMN folder, by "system"
    admin = Client(app, "admin")
    uu, mu = org_of_kind(system, OrgKind.USE_UNIT), org_of_kind(system, OrgKind.MAINTENANCE_UNIT)
    org = admin.post("/api/v1/organisations", json={"code": "MU-NEW", "name": "新维保公司", "kind": "maintenance_unit"})
    assert org.status_code == 201
    org_url = f"/api/v1/organisations/{org.get_json()['id']}"
    assert admin.patch(org_url, json={"phone": "0818-1234567"}).status_code == 200
    tech = {"username": "tech9", "display_name": "技术员", "roles": ["maintenance"], "organisation_id": mu}
    user = admin.post("/api/v1/users", json={**tech, "password": "a long enough password"})
    assert user.status_code == 201
    promoted = {"roles": ["maintenance", "maintenance_manager"], "password": "another long one"}
    assert admin.patch(f"/api/v1/users/{user.get_json()['id']}", json=promoted).status_code == 200
    lift = {"register_code": "31105117022015999001", "address": "通川区朝阳东路1号", "district_code": "511702",
            "lat": 31.21, "lon": 107.47, "use_unit_id": uu, "maintenance_unit_id": mu}  # fmt: skip
    made = admin.post("/api/v1/elevators", json=lift)
    assert made.status_code == 201
    assert admin.patch(f"/api/v1/elevators/{made.get_json()['id']}", json={"floors": 12}).status_code == 200
    device = admin.post("/api/v1/devices", json={"id": "DZ-IOT-900001", "elevator_id": made.get_json()["id"]})
    assert device.status_code == 201
    assert admin.post("/api/v1/elevators", json=lift).status_code == 409  # refused: no entry
    with system.sessions() as session:
        uu_code, mu_code = (session.get(Organisation, i).code for i in (uu, mu))
    csv = (
        "register_code,address,district_code,lat,lon,use_unit_code,maintenance_unit_code\n"
        f"31105117022016000101,通川区西外大道9号,511702,31.2,107.5,{uu_code},{mu_code}\n"
    ).encode()
    for dry_run in ("true", "false"):  # a dry run changes nothing: no entry
        url, files = f"/api/v1/elevators/import?dry_run={dry_run}", {"file": (io.BytesIO(csv), "lifts.csv")}
        imported = admin.post(url, data=files, content_type="multipart/form-data")
        assert imported.status_code == 200, imported.get_json()
    analyst = Client(app, "analyst")
    changed = WARNING_XML.replace('value="accept_within"', "value=\"'PT20M'\"", 1)
    assert analyst.post("/api/v1/process-definitions", json={"xml": changed}).status_code == 201

    made_now = entries(system)[deployed_at_start:]
    assert [e.kind for e in made_now] == [
        "organisation.created", "organisation.updated", "user.created", "user.updated",
        "elevator.created", "elevator.updated", "device.created", "elevators.imported", "definition.deployed",
    ]  # fmt: skip
    assert [e.actor for e in made_now] == ["admin"] * 8 + ["analyst"]
    assert made_now[7].payload["changes"] == {"rows": 1, "created": 1, "updated": 0, "invalid_rows": 0}
    user_change = made_now[3].payload
    assert user_change["target"] == {"type": "user", "id": user.get_json()["id"], "name": "tech9"}
    assert user_change["changes"]["roles"] == [["maintenance"], ["maintenance", "maintenance_manager"]]
    assert user_change["changes"]["password"] == "changed"
    assert "long" not in str([e.payload for e in made_now])  # neither passwords nor their hashes
    assert made_now[5].payload["changes"] == {"floors": [6, 12]}

    auditor = Client(app, "auditor")
    page = auditor.get("/api/v1/admin-audit?page_size=3")
    assert page.status_code == 200 and f'"total": {len(entries(system))}' in page.headers["X-Pagination"]
    assert [e["kind"] for e in page.get_json()] == ["definition.deployed", "elevators.imported", "device.created"]
    assert auditor.get("/api/v1/admin-audit?kind=user.updated").get_json()[0]["changes"]["password"] == "changed"
    chain = auditor.get("/api/v1/admin-audit/verify").get_json()
    assert chain == {"intact": True, "entries": len(entries(system)), "head": entries(system)[-1].hash,
                     "broken_seq": None, "reason": None}  # fmt: skip
    assert admin.get("/api/v1/admin-audit/verify").status_code == 200
    for outsider in ("regulator", "dispatcher", "maint"):
        assert Client(app, outsider).get("/api/v1/admin-audit").status_code == 403


def _bypass_append_only(session, dialect: str) -> None:  # type: ignore[no-untyped-def]
    """What an intruder with the database owner's rights could do: the chain must still tell."""
    if dialect == "postgresql":
        session.execute(text("ALTER TABLE admin_audit DISABLE TRIGGER USER"))
    else:
        session.execute(text("DROP TRIGGER admin_audit_no_update"))
        session.execute(text("DROP TRIGGER admin_audit_no_delete"))


def test_the_log_is_append_only_and_an_edit_is_found(
    api: tuple[System, Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    system, app = api
    second = entries(system)[1]
    for statement in ("UPDATE admin_audit SET actor = 'someone' WHERE seq = 2", "DELETE FROM admin_audit"):
        with pytest.raises(DBAPIError, match="append-only"), system.sessions() as session, session.begin():
            session.execute(text(statement))
    assert entries(system)[1].actor == second.actor

    with system.sessions() as session, session.begin():
        _bypass_append_only(session, system.db.dialect.name)
        forged = {**second.payload, "changes": {**second.payload["changes"], "filename": "forged.bpmn"}}
        session.execute(select(AdminAuditEntry).where(AdminAuditEntry.seq == 2)).scalar_one().payload = forged
    with system.sessions() as session:
        chain = admin_audit.verify(session)
    assert not chain.intact and chain.broken_seq == 2 and "edited" in (chain.reason or "")
    got = Client(app, "auditor").get("/api/v1/admin-audit/verify").get_json()
    assert got["intact"] is False and got["broken_seq"] == 2

    monkeypatch.setenv("LIFTCASE_DATABASE_URL", system.settings.database_url)
    result = CliRunner().invoke(main, ["verify-timeline"])
    assert result.exit_code == 1
    assert "BROKEN admin audit entry #2: content does not match its hash (edited)" in result.output


def test_a_deleted_tail_is_found(api: tuple[System, Flask]) -> None:
    system, _ = api
    with system.sessions() as session, session.begin():
        _bypass_append_only(session, system.db.dialect.name)
        last = session.scalar(select(AdminAuditEntry).order_by(AdminAuditEntry.seq.desc()).limit(1))
        session.delete(last)
    with system.sessions() as session:
        chain = admin_audit.verify(session)
    assert not chain.intact and "tail deleted" in (chain.reason or "")


def test_concurrent_admin_changes_make_one_unbroken_chain(api: tuple[System, Flask], clock: SimulatedClock) -> None:
    system, _ = api
    start = len(entries(system))
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(15):
                with system.sessions() as session, session.begin():
                    admin_audit.record(session, "test.change", actor=f"writer{n}", at=clock.now(),
                                       target={"type": "test", "id": i}, changes={"n": n})  # fmt: skip
        except BaseException as err:  # reported below, in the test's thread
            errors.append(err)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [e.seq for e in entries(system)] == list(range(1, start + 61))
    with system.sessions() as session:
        assert admin_audit.verify(session).intact

