"""Register sync and reconciliation (issue 14 part 4) on SQLite and PostgreSQL, through the real API:
the provincial export (CSV, JSON) read with per-field provenance; a field an admin edited is kept and
its disagreement listed as a conflict; a regulator's decision writes the value, the admin audit entry
and the outbound feed's outbox row; the same file again opens no second conflict; a district
regulator sees and decides only their district's conflicts; the job and the CLI compare the sources."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from openpyxl import Workbook
from redis import Redis
from rq import Queue, SimpleWorker
from rq.registry import FinishedJobRegistry
from sqlalchemy import func, select

from engine.models import FeedOutbox
from infra.clock import SimulatedClock
from infra.jobs import RqJobs, serve_jobs
from liftcase.bootstrap import JOBS, PERIODIC, use_jobs
from processes import admin_audit, register_sync
from processes.models import AdminAuditEntry
from processes.system import System
from registry.equipment.models import Equipment
from registry.models import Elevator, Organisation, OrgKind
from registry.sync.models import FieldProvenance, RegisterConflict, SourceValue
from tests.support.api_client import Client, app_for
from tests.support.services import REDIS_URL, need_service
from tests.support.system import make_system

URBAN = "511702"  # the district of the seeded `regulator`


@pytest.fixture
def api(db_url: str, clock: SimulatedClock) -> Iterator[tuple[System, Flask]]:
    system = make_system(db_url, clock, elevators=60)
    yield system, app_for(system)
    system.db.dispose()


def lifts(system: System) -> tuple[Elevator, Elevator]:
    """One elevator in the regulator's district and one outside it."""
    with system.sessions() as session:
        inside = session.scalars(select(Elevator).where(Elevator.district_code == URBAN).order_by(Elevator.id)).first()
        outside = session.scalars(select(Elevator).where(Elevator.district_code != URBAN).order_by(Elevator.id)).first()
        assert inside is not None and outside is not None
        session.expunge_all()
        return inside, outside


def upload(client: Client, name: str, data: bytes, source: str = "provincial") -> Any:
    return client.http.post(
        f"/api/v1/register-sync/import?source={source}",
        data={"file": (io.BytesIO(data), name)},
        headers={"X-CSRF-Token": client.csrf},
        content_type="multipart/form-data",
    )


def csv_of(rows: list[dict[str, Any]]) -> bytes:
    header = list(dict.fromkeys(k for r in rows for k in r))
    lines = [",".join(header)] + [",".join(str(r.get(h, "")) for h in header) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def open_conflicts(system: System) -> list[RegisterConflict]:
    with system.sessions() as session:
        return list(session.scalars(select(RegisterConflict).where(RegisterConflict.status == "open")))


def test_import_keeps_provenance_local_edits_and_decisions(api: tuple[System, Flask]) -> None:
    system, app = api
    admin = Client(app, "admin")
    inside, outside = lifts(system)
    with system.sessions() as session:
        boiler = session.scalars(select(Equipment).order_by(Equipment.id)).first()
        assert boiler is not None
        boiler_code, boiler_id = boiler.register_code, boiler.id

    # 1. The provincial export (Chinese header, as the platform's template): values and provenance.
    first = "设备注册代码,安装地址,型号,层站数\n" + "\n".join(
        [
            f"{inside.register_code},通川区朝阳东路1号省平台地址,TKJ1000/1.75,18",
            f"{outside.register_code},,,12",  # empty cells say nothing
            "31105117022099999999,某地,X,6",  # not in the register
            f"{outside.register_code},,,abc",  # a bad number: the row is refused, nothing of it kept
        ]
    )
    r = upload(admin, "provincial-2026-11.csv", first.encode())
    assert r.status_code == 200, r.get_json()
    report = r.get_json()
    assert (report["rows"], report["records"], report["updated"]) == (4, 2, 2), report
    assert report["unmatched"] == [{"row": 4, "register_code": "31105117022099999999"}]
    assert report["errors"] == [{"row": 5, "errors": {"floors": ["must be a whole number"]}}]
    with system.sessions() as session:
        lift = session.get(Elevator, inside.id)
        assert lift.address == "通川区朝阳东路1号省平台地址" and lift.model == "TKJ1000/1.75" and lift.floors == 18
        assert session.get(Elevator, outside.id).floors == 12
        held = {
            p.field: p
            for p in session.scalars(select(FieldProvenance).where(FieldProvenance.record_id == inside.id,
                                                                   FieldProvenance.record_type == "elevator"))
        }  # fmt: skip
        assert {f: p.source for f, p in held.items()} == {"address": "provincial", "model": "provincial",
                                                          "floors": "provincial"}  # fmt: skip
        assert held["address"].set_at == system.clock.now() and held["address"].set_by == "admin"
        synced = session.scalars(select(AdminAuditEntry).where(AdminAuditEntry.kind == "elevator.synced")).all()
        assert len(synced) == 2 and synced[0].payload["changes"]["source"] == "provincial"
    assert open_conflicts(system) == []
    shown = admin.get(f"/api/v1/register-sync/provenance/elevator/{inside.id}").get_json()
    address = next(f for f in shown if f["field"] == "address")
    assert address["source"] == "provincial" and address["sources"]["provincial"]["value"] == address["value"]

    # 2. An admin corrects the address: the register's own word now.
    r = admin.patch(f"/api/v1/elevators/{inside.id}", json={"address": "通川区朝阳东路1号(现场核实)"})
    assert r.status_code == 200, r.get_json()
    conflicts = open_conflicts(system)  # the province still says otherwise: listed at once
    assert [(c.record_id, c.field) for c in conflicts] == [(inside.id, "address")]
    assert set(conflicts[0].candidates) == {"local", "provincial"}

    # 3. The next export (JSON) names another address: the local edit is kept, the conflict updated, not doubled.
    second = json.dumps({"records": [
        {"register_code": inside.register_code, "address": "通川区朝阳东路1号省平台新地址", "model": "TKJ1000/1.75"},
        {"设备代码": boiler_code, "设备名称": "1号燃气锅炉(省平台)"},
    ]}, ensure_ascii=False).encode()  # fmt: skip
    for _ in range(2):  # the same file twice: nothing new the second time
        r = upload(admin, "provincial-2026-12.json", second)
        assert r.status_code == 200, r.get_json()
    assert r.get_json()["conflicts_opened"] == 0 and r.get_json()["updated"] == 0
    with system.sessions() as session:
        assert session.get(Elevator, inside.id).address == "通川区朝阳东路1号(现场核实)"
        assert session.get(Equipment, boiler_id).name == "1号燃气锅炉(省平台)"
        assert session.get(FieldProvenance, (boiler_id, "equipment", "name")).source == "provincial"
    conflicts = open_conflicts(system)
    assert len(conflicts) == 1 and conflicts[0].candidates["provincial"]["value"] == "通川区朝阳东路1号省平台新地址"
    assert register_sync.reconcile(system).opened == 0  # the job finds nothing more

    # 4. The district regulator decides: the province's address, with a reason.
    regulator = Client(app, "regulator")
    listed = regulator.get("/api/v1/register-sync/conflicts").get_json()
    assert [c["register_code"] for c in listed] == [inside.register_code] and listed[0]["field"] == "address"
    r = regulator.post(
        f"/api/v1/register-sync/conflicts/{listed[0]['id']}/resolve", json={"source": "nowhere", "reason": "核实"}
    )
    assert r.status_code == 422 and "source" in r.get_json()["errors"]
    outbox_before = count(system, FeedOutbox)
    r = regulator.post(
        f"/api/v1/register-sync/conflicts/{listed[0]['id']}/resolve",
        json={"source": "provincial", "reason": "现场核实与省平台一致"},
    )
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "resolved" and r.get_json()["resolved_by"] == "regulator"
    with system.sessions() as session:
        assert session.get(Elevator, inside.id).address == "通川区朝阳东路1号省平台新地址"
        assert session.get(FieldProvenance, (inside.id, "elevator", "address")).source == "local"
        entry = session.scalars(select(AdminAuditEntry).where(AdminAuditEntry.kind == "elevator.reconciled")).one()
        assert entry.actor == "regulator" and entry.payload["changes"]["reason"] == "现场核实与省平台一致"
        assert entry.payload["changes"]["fields"]["address"][1] == "通川区朝阳东路1号省平台新地址"
        assert entry.payload["target"] == {"type": "elevator", "id": inside.id, "name": inside.register_code}
    assert count(system, FeedOutbox) == outbox_before + 1  # the decision goes out in the feed
    with system.sessions() as session:
        assert admin_audit.verify(session).intact
    again = regulator.post(
        f"/api/v1/register-sync/conflicts/{listed[0]['id']}/resolve", json={"source": "provincial", "reason": "再次"}
    )
    assert again.status_code == 409

    # 5. The same export once more, and the job: the decided disagreement is not listed again.
    assert upload(admin, "provincial-2026-12.json", second).get_json()["conflicts_opened"] == 0
    assert register_sync.reconcile(system).opened == 0 and open_conflicts(system) == []
    # A maintenance unit's system says otherwise later: a new disagreement, listed once.
    maint = csv_of([{"register_code": inside.register_code, "address": "维保系统地址"}])
    for _ in range(2):
        assert upload(admin, "mu.csv", maint, source="maintenance").status_code == 200
    assert [set(c.candidates) for c in open_conflicts(system)] == [{"local", "provincial", "maintenance"}]
    with system.sessions() as session:
        assert session.get(Elevator, inside.id).address == "通川区朝阳东路1号省平台新地址"


def count(system: System, model: Any) -> int:
    with system.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_conflicts_are_scoped_to_the_regulators_district(api: tuple[System, Flask]) -> None:
    system, app = api
    admin = Client(app, "admin")
    inside, outside = lifts(system)
    for lift in (inside, outside):
        assert admin.patch(f"/api/v1/elevators/{lift.id}", json={"floors": 9}).status_code == 200
    export = csv_of([{"register_code": inside.register_code, "floors": 11},
                     {"register_code": outside.register_code, "floors": 11}])  # fmt: skip
    assert upload(admin, "p.csv", export).get_json()["conflicts_opened"] == 2
    regulator, city = Client(app, "regulator"), Client(app, "city_regulator")
    mine = regulator.get("/api/v1/register-sync/conflicts").get_json()
    assert [c["record_id"] for c in mine] == [inside.id]
    assert {c["record_id"] for c in city.get("/api/v1/register-sync/conflicts").get_json()} == {inside.id, outside.id}
    theirs = next(c for c in city.get("/api/v1/register-sync/conflicts").get_json() if c["record_id"] == outside.id)
    r = regulator.post(
        f"/api/v1/register-sync/conflicts/{theirs['id']}/resolve", json={"source": "local", "reason": "不在本区"}
    )
    assert r.status_code == 404
    assert regulator.get(f"/api/v1/register-sync/provenance/elevator/{outside.id}").status_code == 404
    district = city.get("/api/v1/register-sync/conflicts", query_string={"district": outside.district_code})
    assert [c["record_id"] for c in district.get_json()] == [outside.id]
    assert Client(app, "maint").get("/api/v1/register-sync/conflicts").status_code == 403
    auditor = Client(app, "auditor")  # reads everything, decides nothing
    assert len(auditor.get("/api/v1/register-sync/conflicts").get_json()) == 2
    reason = {"source": "local", "reason": "审计"}
    assert auditor.post(f"/api/v1/register-sync/conflicts/{theirs['id']}/resolve", json=reason).status_code == 403
    assert upload(regulator, "p.csv", export).status_code == 403  # imports are the admins'


def test_reconcile_job_and_cli(api: tuple[System, Flask]) -> None:
    """A disagreement the import did not compare (a source's word written directly, as a connector
    would) is found by the job, and by `liftcase registry reconcile`; both are registered."""
    system, _ = api
    assert JOBS.job(register_sync.JOB).queue == "reports" and register_sync.NIGHTLY in PERIODIC
    inside, _outside = lifts(system)
    now = system.clock.now()
    with system.sessions() as session, session.begin():
        unit = session.scalars(
            select(Organisation.id).where(Organisation.kind == OrgKind.MAINTENANCE_UNIT,
                                          Organisation.id != inside.maintenance_unit_id)
        ).first()  # fmt: skip
        for source, value in (("provincial", inside.maintenance_unit_id), ("inspection", unit)):
            session.add(SourceValue(record_type="elevator", record_id=inside.id, field="maintenance_unit_id",
                                    source=source, value=value, reported_at=now, batch="direct"))  # fmt: skip
    assert JOBS[register_sync.JOB](system) == "compared=1 opened=1 updated=0 settled=0"
    from liftcase.cli import main
    from liftcase.cli.context import CliState

    state = CliState(built=system)
    result = CliRunner().invoke(main, ["registry", "reconcile"], obj=state)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "compared=1 opened=0 updated=0 settled=0"
    [conflict] = open_conflicts(system)
    assert conflict.field == "maintenance_unit_id"


def test_reconcile_runs_as_an_rq_job_on_real_redis(api: tuple[System, Flask]) -> None:
    system, _ = api
    need_service(6379, "Redis")
    connection = Redis.from_url(REDIS_URL)
    connection.flushdb()
    try:
        use_jobs(system, RqJobs(REDIS_URL, JOBS))
        register_sync.queue_reconcile(system)  # what the nightly periodic does
        queue = Queue(JOBS.job(register_sync.JOB).queue, connection=connection)
        assert queue.count == 1
        serve_jobs(JOBS, system)
        SimpleWorker([queue], connection=connection).work(burst=True)
        [job] = [queue.fetch_job(i) for i in FinishedJobRegistry(queue=queue).get_job_ids()]
        assert job.return_value() == "compared=0 opened=0 updated=0 settled=0"
    finally:
        connection.flushdb()


def test_cli_import_of_an_xlsx_export_and_an_equipment_edit(api: tuple[System, Flask], tmp_path: Path) -> None:
    """`liftcase registry import` reads the provincial XLSX; a later local edit of the equipment's name
    is kept against the next export and listed."""
    system, app = api
    with system.sessions() as session:
        boiler = session.scalars(select(Equipment).order_by(Equipment.id)).first()
        assert boiler is not None
        code, boiler_id = boiler.register_code, boiler.id
    book = Workbook()
    book.active.append(["设备代码", "设备名称", "使用登记证编号"])
    book.active.append([code, "2号燃气锅炉", "锅川A0001"])
    path = tmp_path / "provincial.xlsx"
    book.save(path)
    from liftcase.cli import main
    from liftcase.cli.context import CliState

    result = CliRunner().invoke(main, ["registry", "import", str(path)], obj=CliState(built=system))
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("rows=1 records=1 updated=1 unmatched=0 invalid=0 conflicts_opened=0")
    with system.sessions() as session:
        row = session.get(Equipment, boiler_id)
        assert (row.name, row.use_certificate_no) == ("2号燃气锅炉", "锅川A0001")
    admin = Client(app, "admin")
    assert admin.patch(f"/api/v1/equipment/{boiler_id}", json={"name": "2号燃气锅炉(已改造)"}).status_code == 200
    result = CliRunner().invoke(main, ["registry", "import", str(path)], obj=CliState(built=system))
    assert result.exit_code == 0, result.output
    with system.sessions() as session:
        assert session.get(Equipment, boiler_id).name == "2号燃气锅炉(已改造)"
    [conflict] = open_conflicts(system)
    assert (conflict.record_type, conflict.field) == ("equipment", "name")
    assert {s: c["value"] for s, c in conflict.candidates.items()} == {"local": "2号燃气锅炉(已改造)",
                                                                       "provincial": "2号燃气锅炉"}  # fmt: skip
