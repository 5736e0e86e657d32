"""Device offline (设备离线/损坏) end to end on SQLite and PostgreSQL with the simulated clock: a box
silent past the heartbeat timeout opens one case for its use unit when the connector's minutely
heartbeat check runs; the district regulator hears of it at 24 h and not a minute before; deliberate
damage is reported to the configured public-security contact; a box heard again closes its case;
every path ends as the BPMN says."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from demo.scenarios import box_heard, heartbeat_check, public_security_contact
from engine.definitions import parse_process
from engine.models import Case, CaseTask, CaseTimer, EventKind, Notification, TimelineEvent
from infra.clock import SimulatedClock
from infra.settings import ROOT
from processes.catalogue import CASE_TYPES
from processes.device_offline_flows import reconcile
from processes.roles import KNOWN_ROLES
from processes.system import System
from registry.models import Device, Elevator, Organisation
from tests.support.system import make_system

MINUTE = timedelta(minutes=1)


@pytest.fixture
def psb_system(db_url: str, clock: SimulatedClock, tmp_path: Path) -> Iterator[System]:
    """The small city with its public-security liaison configured under a code of the test's own."""
    sla = (ROOT / "processes" / "sla.toml").read_text(encoding="utf-8")
    sla = sla.replace('public_security_organisation = "PSB-CITY"', 'public_security_organisation = "PSB-TEST"')
    (tmp_path / "sla.toml").write_text(sla, encoding="utf-8")
    system = make_system(db_url, clock, sla_file=tmp_path / "sla.toml")
    public_security_contact(system, "PSB-TEST")
    yield system
    system.db.dispose()


def _box(system: System, n: int = 0) -> tuple[str, int]:
    with system.sessions() as session:
        rows = session.execute(
            select(Device.id, Device.elevator_id).where(Device.elevator_id.is_not(None)).order_by(Device.id)
        ).all()
    device_id, elevator_id = rows[n]
    return device_id, elevator_id


def _cases(system: System, elevator_id: int) -> list[Case]:
    with system.sessions() as session:
        stmt = select(Case).where(Case.case_type == "device_offline", Case.elevator_id == elevator_id)
        return list(session.scalars(stmt.order_by(Case.id)))


def _complete(system: System, case_id: int, bpmn_id: str, data: dict[str, Any]) -> CaseTask:
    with system.sessions() as session:
        task = session.scalars(
            select(CaseTask).where(CaseTask.case_id == case_id, CaseTask.bpmn_id == bpmn_id, CaseTask.status == "open")
        ).one()
    system.engine.complete_task(task.id, data, actor="tester")
    return task


def _open_tasks(system: System, case_id: int) -> list[str]:
    with system.sessions() as session:
        stmt = select(CaseTask.bpmn_id).where(CaseTask.case_id == case_id, CaseTask.status == "open")
        return list(session.scalars(stmt))


def _events(system: System, case_id: int, kind: EventKind) -> list[dict[str, Any]]:
    with system.sessions() as session:
        stmt = select(TimelineEvent).where(TimelineEvent.case_id == case_id, TimelineEvent.kind == kind)
        return [e.payload for e in session.scalars(stmt.order_by(TimelineEvent.seq))]


def _notified(system: System, case_id: int) -> dict[str, set[int | None]]:
    """role -> organisations its notices went to."""
    out: dict[str, set[int | None]] = {}
    with system.sessions() as session:
        for role, org in session.execute(
            select(Notification.role, Notification.organisation_id).where(Notification.case_id == case_id)
        ):
            out.setdefault(role, set()).add(org)
    return out


def _goes_silent(system: System, clock: SimulatedClock, device_id: str) -> None:
    """Heard now, then nothing: the minutely checks run until just past the 10-minute timeout."""
    box_heard(system, device_id)
    for _ in range(10):
        clock.advance(MINUTE)
        heartbeat_check(system)
    clock.advance(MINUTE + timedelta(seconds=1))
    heartbeat_check(system)


def test_a_silent_box_opens_one_case_escalates_at_24_hours_and_closes_when_heard_again(
    psb_system: System, clock: SimulatedClock
) -> None:
    system = psb_system
    device_id, elevator_id = _box(system)
    box_heard(system, device_id)
    for _ in range(10):  # within the heartbeat timeout: nothing opens
        clock.advance(MINUTE)
        heartbeat_check(system)
    assert _cases(system, elevator_id) == []
    clock.advance(MINUTE + timedelta(seconds=1))
    heartbeat_check(system)
    [case] = _cases(system, elevator_id)
    assert case.number.startswith("LX-") and case.priority == "P3" and case.status == "open"
    assert case.variables["device_id"] == device_id
    with system.sessions() as session:
        use_unit = session.get(Elevator, elevator_id).use_unit_id
        check = session.scalars(select(CaseTask).where(CaseTask.case_id == case.id)).one()
        timers = {t.bpmn_id: t.fire_at for t in session.scalars(select(CaseTimer).where(CaseTimer.case_id == case.id))}
    assert (check.bpmn_id, check.role, check.organisation_id) == ("check_device", "property", use_unit)
    assert _notified(system, case.id) == {"property": {use_unit}}

    # The next checks (and a second process running them) open nothing more.
    heartbeat_check(system)
    assert reconcile(system).opened == 0 and len(_cases(system, elevator_id)) == 1

    # 24 h unresolved: the district regulator, at that minute and not before.
    assert timers == {"t_unresolved": case.opened_at + timedelta(hours=24)}
    clock.set(case.opened_at + timedelta(hours=24) - MINUTE)
    system.engine.fire_timers(case.id)
    assert _events(system, case.id, EventKind.ESCALATED) == []
    clock.set(case.opened_at + timedelta(hours=24))
    system.engine.fire_timers(case.id)
    [escalated] = _events(system, case.id, EventKind.ESCALATED)
    assert (escalated["level"], escalated["roles"]) == (2, ["district_regulator", "property"])

    # The box is heard again: its case closes by itself.
    box_heard(system, device_id)
    heartbeat_check(system)
    [closed] = _cases(system, elevator_id)
    assert (closed.status, closed.close_reason) == ("closed", "back_online")
    assert _open_tasks(system, case.id) == []

    # A later outage is a new case.
    _goes_silent(system, clock, device_id)
    first, second = _cases(system, elevator_id)
    assert first.id == case.id and second.status == "open"


def test_deliberate_damage_is_reported_to_the_public_security_contact(
    psb_system: System, clock: SimulatedClock
) -> None:
    system = psb_system
    device_id, elevator_id = _box(system, 1)
    _goes_silent(system, clock, device_id)
    [case] = _cases(system, elevator_id)
    _complete(system, case.id, "check_device", {"finding": "damaged_deliberate", "note": "外壳被撬"})
    with system.sessions() as session:
        psb = session.scalar(select(Organisation.id).where(Organisation.code == "PSB-TEST"))
        psb_notices = session.scalars(
            select(Notification).where(Notification.case_id == case.id, Notification.role == "public_security")
        ).all()
    assert {n.organisation_id for n in psb_notices} == {psb} and all(n.user_id for n in psb_notices)
    assert "district_regulator" in _notified(system, case.id)
    assert _open_tasks(system, case.id) == ["report_police"]
    _complete(system, case.id, "report_police", {"police_station": "西城派出所", "receipt_no": "JJ-1"})
    repair = _complete(system, case.id, "repair_device", {"action": "replaced"})
    with system.sessions() as session:
        assert repair.organisation_id == session.get(Elevator, elevator_id).maintenance_unit_id
        done = session.get(Case, case.id)
    assert (done.status, done.close_reason) == ("closed", "damaged_reported")
    assert set(done.milestones) == {"check_device", "report_police", "repair_device"}


def test_the_use_unit_restores_power_and_the_case_closes(psb_system: System, clock: SimulatedClock) -> None:
    system = psb_system
    device_id, elevator_id = _box(system, 2)
    _goes_silent(system, clock, device_id)
    [case] = _cases(system, elevator_id)
    _complete(system, case.id, "check_device", {"finding": "power_restored"})
    [done] = _cases(system, elevator_id)
    assert (done.status, done.close_reason) == ("closed", "restored")
    assert "public_security" not in _notified(system, case.id)


def test_a_device_fault_goes_to_the_maintenance_unit(psb_system: System, clock: SimulatedClock) -> None:
    system = psb_system
    device_id, elevator_id = _box(system, 3)
    _goes_silent(system, clock, device_id)
    [case] = _cases(system, elevator_id)
    _complete(system, case.id, "check_device", {"finding": "device_fault"})
    assert _open_tasks(system, case.id) == ["repair_device"]
    _complete(system, case.id, "repair_device", {"action": "repaired"})
    assert _cases(system, elevator_id)[0].close_reason == "repaired"


def test_without_a_configured_contact_the_police_notice_fails_visibly(system: System, clock: SimulatedClock) -> None:
    """processes/sla.toml names PSB-CITY, which the seeded city lacks: the notice reaches nobody and
    says so (the operator's failures list), instead of vanishing."""
    device_id, elevator_id = _box(system, 4)
    _goes_silent(system, clock, device_id)
    [case] = _cases(system, elevator_id)
    _complete(system, case.id, "check_device", {"finding": "damaged_deliberate"})
    with system.sessions() as session:
        notice = session.scalars(
            select(Notification).where(Notification.case_id == case.id, Notification.role == "public_security")
        ).one()
    assert notice.organisation_id is None and notice.status == "failed"


def test_the_definition_follows_the_conventions() -> None:
    parsed = parse_process((ROOT / "bpmn" / "device_offline.bpmn").read_bytes(), "device_offline.bpmn")
    assert parsed.key == "device_offline" == CASE_TYPES["device_offline"].process_key
    assert {k: (t.role, t.form) for k, t in parsed.human_tasks.items()} == {
        "check_device": ("property", "device_offline_check.json"),
        "report_police": ("property", "device_offline_police.json"),
        "repair_device": ("maintenance", "device_offline_repair.json"),
    }
    for task in parsed.human_tasks.values():
        assert task.role in KNOWN_ROLES and task.due_in
        schema = json.loads((ROOT / "forms" / str(task.form)).read_text(encoding="utf-8"))
        assert schema["additionalProperties"] is False
    assert set(CASE_TYPES["device_offline"].milestones) <= set(parsed.human_tasks)
