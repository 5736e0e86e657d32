"""Every path of the warning, rectification, expiry and complaint processes on a simulated clock.

Each test drives real cases through the engine (SQLite, in-process jobs) and asserts on what the
engine persisted: tasks and their lanes and due times, timers firing at their due time and not a
minute before, escalations and notifications role by role, the stop-use flag, and the case's end.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from demo.seed import seed_city
from engine.definitions import load_forms, parse_process
from engine.models import Case, CaseTask, CaseTimer, EventKind, Notification, TimelineEvent
from forms.validation import FormInvalid, validate_form
from infra.clock import SimulatedClock
from infra.errors import Conflict
from infra.settings import CITY_TZ, ROOT, Settings
from liftcase.bootstrap import build_system, create_schema
from processes.catalogue import CASE_TYPES
from processes.complaint import working_days_deadline
from processes.expiry import utc_iso
from processes.intake import open_or_join
from processes.roles import KNOWN_ROLES
from processes.system import System
from registry.models import Elevator, Organisation, OrgKind

START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Beijing
MINUTE = timedelta(minutes=1)
PROCESSES = ("warning", "rectification", "expiry", "complaint")


@dataclass
class Harness:
    system: System
    clock: SimulatedClock

    # -- acting ---------------------------------------------------------------------------------
    def open(self, case_type: str, elevator_id: int | None = 1, **signal: Any) -> int:
        result = open_or_join(
            self.system.engine, self.system.settings.sla_file, case_type, elevator_id=elevator_id, signal=signal
        )
        assert not result.joined
        return result.case_id

    def complete(self, case_id: int, bpmn_id: str, data: dict[str, Any]) -> None:
        self.system.engine.complete_task(self.task(case_id, bpmn_id).id, data, actor="tester")

    def at(self, case_id: int, when: datetime) -> None:
        """Move the clock to `when` and let the scheduler fire whatever is due."""
        assert when >= self.clock.now(), "the clock only moves forward"
        self.clock.set(when)
        self.system.engine.fire_timers(case_id)

    def later(self, case_id: int, delta: timedelta) -> None:
        self.at(case_id, self.clock.now() + delta)

    # -- reading --------------------------------------------------------------------------------
    def case(self, case_id: int) -> Case:
        with self.system.sessions() as session:
            return session.get(Case, case_id)

    def stop_use(self, elevator_id: int) -> bool:
        with self.system.sessions() as session:
            return session.get(Elevator, elevator_id).stop_use

    def elevator(self, elevator_id: int) -> Elevator:
        with self.system.sessions() as session:
            return session.get(Elevator, elevator_id)

    def events(self, case_id: int, kind: EventKind | None = None) -> list[dict[str, Any]]:
        with self.system.sessions() as session:
            stmt = select(TimelineEvent).where(TimelineEvent.case_id == case_id).order_by(TimelineEvent.seq)
            rows = session.scalars(stmt).all()
        return [{"kind": e.kind, "at": e.at, **e.payload} for e in rows if kind is None or e.kind == kind]

    def fired(self, case_id: int) -> list[str]:
        return [e["element"] for e in self.events(case_id, EventKind.TIMER_FIRED)]

    def notices(self, case_id: int) -> dict[str, list[str]]:
        """Element of every notify/escalate step that ran -> roles of the notification rows it queued
        (in order; an element that ran twice lists its roles twice)."""
        out: dict[str, list[str]] = {}
        with self.system.sessions() as session:
            for event in self.events(case_id, EventKind.NOTIFICATION_QUEUED):
                ids = event["notifications"]
                rows = session.scalars(select(Notification).where(Notification.id.in_(ids))).all()
                assert {r.role for r in rows} == set(event["roles"])  # every role reached somebody
                out.setdefault(event["element"], []).extend(sorted({r.role for r in rows}))
        return out

    def escalations(self, case_id: int) -> list[tuple[str, int, list[str]]]:
        return [(e["element"], e["level"], e["roles"]) for e in self.events(case_id, EventKind.ESCALATED)]

    def flags(self, case_id: int) -> list[tuple[str, bool]]:
        return [(e["element"], e["value"]) for e in self.events(case_id, EventKind.FLAG_SET)]

    def recipient_orgs(self, case_id: int, role: str) -> set[int | None]:
        with self.system.sessions() as session:
            stmt = select(Notification.organisation_id).where(
                Notification.case_id == case_id, Notification.role == role
            )
            return set(session.scalars(stmt))

    def district_regulator_of(self, elevator_id: int) -> int:
        with self.system.sessions() as session:
            district = session.get(Elevator, elevator_id).district_code
            stmt = select(Organisation.id).where(
                Organisation.kind == OrgKind.DISTRICT_REGULATOR, Organisation.district_code == district
            )
            return session.scalars(stmt).one()

    def tasks(self, case_id: int) -> list[CaseTask]:
        with self.system.sessions() as session:
            return list(session.scalars(select(CaseTask).where(CaseTask.case_id == case_id).order_by(CaseTask.id)))

    def open_tasks(self, case_id: int) -> list[str]:
        return [t.bpmn_id for t in self.tasks(case_id) if t.status == "open"]

    def task(self, case_id: int, bpmn_id: str) -> CaseTask:
        found = [t for t in self.tasks(case_id) if t.bpmn_id == bpmn_id and t.status == "open"]
        assert len(found) == 1, f"{bpmn_id} is not open: {self.open_tasks(case_id)}"
        return found[0]

    def timers(self, case_id: int) -> dict[str, datetime]:
        with self.system.sessions() as session:
            rows = session.scalars(select(CaseTimer).where(CaseTimer.case_id == case_id)).all()
        return {t.bpmn_id: t.fire_at for t in rows}

    def expect_timer(self, case_id: int, element: str, due: datetime) -> None:
        """The timer is scheduled for `due`; a minute before it the scheduler fires nothing of it,
        at `due` it fires exactly once."""
        assert self.timers(case_id).get(element) == due
        before = self.fired(case_id).count(element)
        self.at(case_id, due - MINUTE)
        assert self.fired(case_id).count(element) == before, f"{element} fired early"
        self.at(case_id, due)
        assert self.fired(case_id).count(element) == before + 1, f"{element} did not fire at {due}"
        assert element not in self.timers(case_id)


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    clock = SimulatedClock(START)
    system = build_system(Settings(database_url=f"sqlite:///{tmp_path / 'cases.sqlite3'}"), clock=clock)
    create_schema(system)
    with system.sessions() as session, session.begin():
        seed_city(session, elevators=200, devices=20, clock_now=clock.now())
    deployed = {d.definition.key for d in system.deploy_processes()}
    assert set(PROCESSES) <= deployed
    yield Harness(system, clock)
    system.db.dispose()


def _iso(value: datetime) -> str:
    return value.isoformat()


# =============================================================================================
# Definitions: lanes, forms, due times, case types
# =============================================================================================


@pytest.mark.parametrize("key", PROCESSES)
def test_definition_follows_the_conventions(key: str) -> None:
    parsed = parse_process((ROOT / "bpmn" / f"{key}.bpmn").read_bytes(), f"{key}.bpmn")
    assert parsed.key == key
    assert parsed.human_tasks
    for task in parsed.human_tasks.values():
        assert task.role in KNOWN_ROLES, task
        assert task.due_in, task
        assert task.form and task.form.startswith(f"{key}_"), task
        schema = json.loads((ROOT / "forms" / task.form).read_text(encoding="utf-8"))
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["additionalProperties"] is False
        titles = [schema["title"], *(p.get("title", "") for p in schema["properties"].values())]
        assert all(any("\u4e00" <= ch <= "\u9fff" for ch in t) for t in titles), (task.form, titles)
    case_type = CASE_TYPES[key]
    assert case_type.process_key == key
    assert set(case_type.milestones) <= set(parsed.human_tasks)
    assert {k: CASE_TYPES[k].prefix for k in PROCESSES} == {
        "warning": "YJ",
        "rectification": "ZG",
        "expiry": "DQ",
        "complaint": "TS",
    }


# =============================================================================================
# warning 故障预警
# =============================================================================================


def test_warning_p2_full_ladder_with_rejected_fix(h: Harness) -> None:
    cid = h.open("warning", 1, source="iot", warning_type="door_lock_fault", recent_count=1)
    case = h.case(cid)
    assert case.number.startswith("YJ-20261123-") and case.priority == "P2"
    # At once: stop-use advice to the property, the work order to maintenance; no repeat notice.
    assert h.notices(cid) == {"notify_stop_use_advice": ["property"], "notify_maintenance": ["maintenance"]}
    accept = h.task(cid, "accept_order")
    assert accept.role == "maintenance" and accept.due_at == START + timedelta(minutes=15)
    assert accept.organisation_id == h.elevator(1).maintenance_unit_id
    assert h.stop_use(1) is False  # advice only: the property decides

    h.expect_timer(cid, "t_accept", START + timedelta(minutes=15))
    assert h.notices(cid)["notify_accept_late"] == ["maintenance_manager"]
    assert h.open_tasks(cid) == ["accept_order"]  # non-interrupting: the order still waits
    h.complete(cid, "accept_order", {"eta_minutes": 40, "technician": "王师傅", "phone": "13800000000"})
    assert h.task(cid, "report_onsite").due_at == START + timedelta(hours=2)

    h.expect_timer(cid, "t_onsite", START + timedelta(hours=2))
    assert h.notices(cid)["notify_onsite_late"] == ["maintenance_manager"]
    h.complete(cid, "report_onsite", {"on_site": True, "stopped_for_repair": True})
    h.complete(cid, "report_fix", {"cause_category": "door_system", "description": "更换厅门门锁触点"})
    verify = h.task(cid, "verify_fix")
    assert verify.role == "property" and verify.organisation_id == h.elevator(1).use_unit_id

    # Rejected: back to the maintenance unit's fix report (a loop), with a notice.
    h.complete(cid, "verify_fix", {"confirmed": False, "note": "门仍无法关闭"})
    assert h.open_tasks(cid) == ["report_fix"]
    assert h.notices(cid)["notify_fix_rejected"] == ["maintenance"]
    assert [t.bpmn_id for t in h.tasks(cid)].count("report_fix") == 2
    assert h.escalations(cid) == []

    # Not fixed 24 h after the report: district regulator (level 2), once.
    h.expect_timer(cid, "t_fix_overdue", START + timedelta(hours=24))
    assert h.escalations(cid) == [("escalate_fix_overdue", 2, ["district_regulator", "maintenance_manager"])]
    assert h.case(cid).escalation_level == 2
    assert h.recipient_orgs(cid, "district_regulator") == {h.district_regulator_of(1)}
    h.complete(cid, "report_fix", {"cause_category": "door_system", "description": "更换门锁总成", "photos": ["a1"]})
    h.complete(cid, "verify_fix", {"confirmed": True})

    case = h.case(cid)
    assert case.status == "closed" and case.close_reason == "fixed" and case.open_key is None
    assert set(case.milestones) == {"accept_order", "report_onsite", "report_fix", "verify_fix"}
    assert h.timers(cid) == {}
    assert h.fired(cid) == ["t_accept", "t_onsite", "t_fix_overdue"]
    assert h.escalations(cid) == [("escalate_fix_overdue", 2, ["district_regulator", "maintenance_manager"])]


@pytest.mark.parametrize(("recent_count", "repeat_noticed"), [(2, False), (3, True), (5, True)])
def test_warning_p3_ladder_and_repeat_threshold(h: Harness, recent_count: int, repeat_noticed: bool) -> None:
    cid = h.open("warning", 2, source="iot", warning_type="door_held_open", recent_count=recent_count)
    assert h.case(cid).priority == "P3"
    notices = h.notices(cid)
    assert "notify_stop_use_advice" not in notices
    assert notices["notify_maintenance"] == ["maintenance"]
    assert ("notify_repeat" in notices) is repeat_noticed
    if repeat_noticed:
        assert notices["notify_repeat"] == ["district_regulator"]

    assert h.timers(cid) == {
        "t_accept": START + timedelta(minutes=30),
        "t_fix_overdue": START + timedelta(hours=48),
    }
    h.expect_timer(cid, "t_accept", START + timedelta(minutes=30))
    h.complete(cid, "accept_order", {"eta_minutes": 120})
    assert h.task(cid, "report_onsite").due_at == START + timedelta(hours=48)
    h.complete(cid, "report_onsite", {"on_site": True})
    h.at(cid, START + timedelta(hours=24))  # where a P2 would already be escalated
    assert h.escalations(cid) == []
    h.expect_timer(cid, "t_fix_overdue", START + timedelta(hours=48))
    assert h.escalations(cid) == [("escalate_fix_overdue", 2, ["district_regulator", "maintenance_manager"])]
    h.complete(cid, "report_fix", {"cause_category": "sensor_false_alarm", "description": "门区传感器误报，已校准"})
    h.complete(cid, "verify_fix", {"confirmed": True})
    assert h.case(cid).status == "closed"


def test_warning_fixed_in_time_fires_nothing(h: Harness) -> None:
    cid = h.open("warning", 3, source="iot", warning_type="power_loss", recent_count=1)
    h.later(cid, 10 * MINUTE)
    h.complete(cid, "accept_order", {"eta_minutes": 20})
    h.later(cid, 20 * MINUTE)
    h.complete(cid, "report_onsite", {"on_site": True})
    h.later(cid, 3 * timedelta(hours=1))
    h.complete(cid, "report_fix", {"cause_category": "power_supply", "description": "市电恢复，检查无异常"})
    h.complete(cid, "verify_fix", {"confirmed": True})
    assert h.case(cid).status == "closed" and h.case(cid).close_reason == "fixed"
    assert h.fired(cid) == [] and h.escalations(cid) == [] and h.timers(cid) == {}
    assert "notify_accept_late" not in h.notices(cid)
    with pytest.raises(Conflict):  # a closed case takes no more steps
        h.at(cid, START + timedelta(days=3))


def test_warning_fault_recovered_is_recorded_but_does_not_close(h: Harness) -> None:
    cid = h.open("warning", 4, source="iot", warning_type="overrun_top", recent_count=1)
    h.complete(cid, "accept_order", {"eta_minutes": 30})
    elevator_id = 4
    h.later(cid, 5 * MINUTE)
    case = h.system.engine.correlate_message(f"warning:{elevator_id}", "fault_recovered", {"recovered": True})
    assert case is not None and case.id == cid
    received = h.events(cid, EventKind.MESSAGE_RECEIVED)
    assert [(e["message"], e["caught"]) for e in received] == [("fault_recovered", True)]
    assert h.notices(cid)["notify_recovered"] == ["maintenance"]
    # Still open, the same work waiting, the fix deadline still armed.
    assert h.case(cid).status == "open"
    assert h.open_tasks(cid) == ["report_onsite"]
    assert "t_fix_overdue" in h.timers(cid) and "t_onsite" in h.timers(cid)
    # A second recovery report finds nothing waiting for it and changes nothing.
    h.system.engine.correlate_message(f"warning:{elevator_id}", "fault_recovered", {"recovered": True})
    assert [e["caught"] for e in h.events(cid, EventKind.MESSAGE_RECEIVED)] == [True, False]
    assert h.notices(cid)["notify_recovered"] == ["maintenance"]

    h.complete(cid, "report_onsite", {"on_site": True})
    h.complete(cid, "report_fix", {"cause_category": "control_system", "description": "复位后检查限位开关正常"})
    h.complete(cid, "verify_fix", {"confirmed": True})
    case = h.case(cid)
    assert case.status == "closed" and case.close_reason == "self_recovered"
    # After the case closed, a recovery message has no case to go to.
    assert h.system.engine.correlate_message(f"warning:{elevator_id}", "fault_recovered", {}) is None


def test_warning_second_signal_joins_the_open_case(h: Harness) -> None:
    cid = h.open("warning", 5, source="iot", warning_type="door_lock_fault", recent_count=1)
    again = open_or_join(
        h.system.engine,
        h.system.settings.sla_file,
        "warning",
        elevator_id=5,
        signal={"source": "iot", "warning_type": "door_lock_fault", "recent_count": 2},
    )
    assert again.joined and again.case_id == cid
    assert len(h.events(cid, EventKind.SIGNAL_JOINED)) == 1
    assert h.open_tasks(cid) == ["accept_order"]


# =============================================================================================
# rectification 检验整改
# =============================================================================================

FINDINGS = ["轿厢应急照明不亮", "机房未设置警示标志"]


def test_rectification_default_deadline_reminders_overdue_and_rejection(h: Harness) -> None:
    cid = h.open("rectification", 10, source="inspection", report_no="DZJY-2026-0001", findings=FINDINGS)
    deadline = START + timedelta(days=30)  # no deadline in the notice: report time + 30 days
    assert h.case(cid).number.startswith("ZG-") and h.case(cid).priority is None
    assert h.notices(cid) == {"notify_issued": ["maintenance", "property"]}
    # The use unit rectifies with its maintenance unit: the unit does the work first.
    work = h.task(cid, "rectify_work")
    assert work.role == "maintenance" and work.due_at == deadline
    assert work.organisation_id == h.elevator(10).maintenance_unit_id

    h.expect_timer(cid, "t_remind_first", deadline - timedelta(days=7))
    assert h.notices(cid)["notify_remind_first"] == ["property"]
    h.expect_timer(cid, "t_remind_last", deadline - timedelta(days=1))
    assert h.notices(cid)["notify_remind_last"] == ["property"]
    assert h.escalations(cid) == []
    h.expect_timer(cid, "t_overdue", deadline)
    assert h.escalations(cid) == [("escalate_overdue", 2, ["district_regulator", "property"])]
    assert h.open_tasks(cid) == ["rectify_work"]  # overdue does not take the work away

    h.complete(cid, "rectify_work", {"description": "更换应急照明电池"})
    rectify = h.task(cid, "rectify")
    assert rectify.role == "property" and rectify.due_at == deadline
    assert rectify.organisation_id == h.elevator(10).use_unit_id
    h.complete(cid, "rectify", {"description": "已修复应急照明", "photos": ["att-101"]})
    review = h.task(cid, "review_evidence")
    assert review.role == "district_regulator" and review.due_at == h.clock.now() + timedelta(days=3)
    # Rejected: back to the property (a loop inside the deadline), with a notice.
    h.complete(cid, "review_evidence", {"approved": False, "comment": "缺少警示标志照片"})
    assert h.open_tasks(cid) == ["rectify_work"] and h.task(cid, "rectify_work").due_at == deadline
    assert h.notices(cid)["notify_rejected"] == ["property"]
    h.complete(cid, "rectify_work", {"description": "补设警示标志"})
    h.complete(cid, "rectify", {"description": "已补设警示标志", "photos": ["att-101", "att-102"]})
    h.complete(cid, "review_evidence", {"approved": True})
    reinspect = h.task(cid, "reinspect")
    assert reinspect.role == "inspection_agency" and reinspect.due_at == h.clock.now() + timedelta(days=15)
    assert h.timers(cid) == {}  # the deadline timers went with the rectification

    h.complete(cid, "reinspect", {"result": "passed", "report_no": "FJ-2026-0001"})
    case = h.case(cid)
    assert case.status == "closed" and case.close_reason == "passed"
    assert h.flags(cid) == [] and h.stop_use(10) is False
    assert set(case.milestones) == {"rectify_work", "rectify", "review_evidence", "reinspect"}
    assert h.fired(cid) == ["t_remind_first", "t_remind_last", "t_overdue"]


def test_rectification_failed_reinspection_stops_use_and_sets_a_new_deadline(h: Harness) -> None:
    deadline = datetime(2026, 12, 10, 18, 0, tzinfo=UTC)
    cid = h.open("rectification", 11, findings=FINDINGS, deadline="2026-12-11T02:00:00+08:00")
    assert h.task(cid, "rectify_work").due_at == deadline
    assert h.timers(cid) == {
        "t_remind_first": deadline - timedelta(days=7),
        "t_remind_last": deadline - timedelta(days=1),
        "t_overdue": deadline,
    }
    h.later(cid, timedelta(days=2))
    h.complete(cid, "rectify_work", {"description": "已整改"})
    h.complete(cid, "rectify", {"description": "已整改", "photos": ["att-1"], "completed_at": "2026-11-25"})
    h.complete(cid, "review_evidence", {"approved": True})
    assert h.fired(cid) == []

    # Failed without a new deadline from the agency: stop use, regulator told, 15 more days.
    h.later(cid, timedelta(days=1))
    failed_at = h.clock.now()
    h.complete(cid, "reinspect", {"result": "failed", "report_no": "FJ-1", "findings": ["应急照明仍不亮"]})
    assert h.stop_use(11) is True
    assert h.flags(cid) == [("stop_use_failed", True)]
    assert h.notices(cid)["notify_failed"] == ["district_regulator", "property"]
    second = failed_at + timedelta(days=15)
    assert h.open_tasks(cid) == ["rectify_work"] and h.task(cid, "rectify_work").due_at == second
    assert h.case(cid).status == "open"
    # The reminders follow the new deadline, not the old one.
    assert h.timers(cid) == {
        "t_remind_first": second - timedelta(days=7),
        "t_remind_last": second - timedelta(days=1),
        "t_overdue": second,
    }
    h.expect_timer(cid, "t_remind_first", second - timedelta(days=7))
    h.complete(cid, "rectify_work", {"description": "更换应急照明电源"})
    h.complete(cid, "rectify", {"description": "更换应急照明电源", "photos": ["att-2"]})
    h.complete(cid, "review_evidence", {"approved": True})

    # Failed again, this time the agency sets the new deadline itself.
    third = "2027-01-31T18:00:00+08:00"
    h.complete(
        cid,
        "reinspect",
        {"result": "failed", "report_no": "FJ-2", "findings": ["照度不足"], "new_deadline": third},
    )
    assert h.task(cid, "rectify_work").due_at == datetime.fromisoformat(third)
    assert h.timers(cid)["t_overdue"] == datetime.fromisoformat(third)
    h.complete(cid, "rectify_work", {"description": "加装灯具"})
    h.complete(cid, "rectify", {"description": "加装灯具", "photos": ["att-3"]})
    h.complete(cid, "review_evidence", {"approved": True})

    # Passed at last: the stop-use flag this case set is lifted.
    h.complete(cid, "reinspect", {"result": "passed", "report_no": "FJ-3"})
    assert h.stop_use(11) is False
    assert h.flags(cid) == [("stop_use_failed", True), ("stop_use_failed", True), ("lift_stop_use", False)]
    case = h.case(cid)
    assert case.status == "closed" and case.close_reason == "passed"
    assert [t.bpmn_id for t in h.tasks(cid)].count("reinspect") == 3
    assert h.escalations(cid) == [] and h.fired(cid) == ["t_remind_first"]


# =============================================================================================
# expiry 检验到期
# =============================================================================================


def test_expiry_inspection_full_ladder_then_inspected(h: Harness) -> None:
    due = START + timedelta(days=90)
    cid = h.open("expiry", 20, kind="inspection", due_date=_iso(due), source="scan")
    assert h.case(cid).number.startswith("DQ-")
    assert h.fired(cid) == [] and h.notices(cid) == {}  # 90 days ahead: nothing yet
    apply = h.task(cid, "apply_inspection")
    assert apply.role == "property" and apply.due_at == due - timedelta(days=30)

    h.expect_timer(cid, "t_warn_first", due - timedelta(days=60))
    assert h.notices(cid) == {"notify_warn_first": ["property"]}
    h.expect_timer(cid, "t_warn_second", due - timedelta(days=30))
    h.expect_timer(cid, "t_warn_last", due - timedelta(days=7))
    assert h.notices(cid)["notify_warn_last"] == ["property"]
    assert h.stop_use(20) is False and h.escalations(cid) == []

    # Expired: stop-use flag and the district regulator.
    h.expect_timer(cid, "t_expired", due)
    assert h.stop_use(20) is True
    assert h.flags(cid) == [("stop_use_expired", True)]
    assert h.escalations(cid) == [("escalate_expired", 2, ["district_regulator", "property"])]
    # Thirty days later still not inspected: the city regulator.
    h.expect_timer(cid, "t_city", due + timedelta(days=30))
    assert h.escalations(cid)[-1] == ("escalate_city", 3, ["city_regulator", "district_regulator"])
    assert h.case(cid).escalation_level == 3 and h.timers(cid) == {}

    h.complete(cid, "apply_inspection", {"application_no": "BJ-001", "planned_date": "2027-03-01"})
    record = h.task(cid, "record_inspection")
    assert record.role == "property" and record.due_at == due
    h.complete(cid, "record_inspection", {"result": "passed", "report_no": "DJ-001", "next_due_date": "2028-02-20"})
    # Passed: the flag the expiry set is lifted, the case closes.
    assert h.stop_use(20) is False
    assert h.flags(cid) == [("stop_use_expired", True), ("lift_stop_use", False)]
    case = h.case(cid)
    assert case.status == "closed" and case.close_reason == "inspected"
    assert set(case.milestones) == {"apply_inspection", "record_inspection"}


def test_expiry_inspection_in_time_past_warning_fires_once_at_start(h: Harness) -> None:
    due = START + timedelta(days=45)  # the 60-day warning time is already past
    cid = h.open("expiry", 21, kind="inspection", due_date=_iso(due))
    assert h.fired(cid) == ["t_warn_first"]
    assert h.notices(cid) == {"notify_warn_first": ["property"]}
    assert set(h.timers(cid)) == {"t_warn_second", "t_warn_last", "t_expired", "t_city"}
    h.later(cid, timedelta(days=1))
    assert h.fired(cid) == ["t_warn_first"]  # once, not on every step
    h.complete(cid, "apply_inspection", {"application_no": "BJ-002", "planned_date": "2026-12-20"})
    h.at(cid, due - timedelta(days=30))
    assert h.fired(cid) == ["t_warn_first", "t_warn_second"]
    h.complete(cid, "record_inspection", {"result": "passed", "report_no": "DJ-002"})
    case = h.case(cid)
    assert case.status == "closed" and case.close_reason == "inspected"
    assert h.timers(cid) == {} and h.flags(cid) == [] and h.stop_use(21) is False


def test_expiry_inspection_failed_stops_use(h: Harness) -> None:
    cid = h.open("expiry", 22, kind="inspection", due_date="2027-02-28")
    # A bare date is valid through that day in Beijing: due at the next local midnight.
    assert h.task(cid, "apply_inspection").due_at == datetime(2027, 1, 29, 16, 0, tzinfo=UTC)  # - 30 days
    assert h.timers(cid)["t_expired"] == datetime(2027, 2, 28, 16, 0, tzinfo=UTC)
    h.complete(cid, "apply_inspection", {"application_no": "BJ-003", "planned_date": "2026-12-01"})
    h.complete(cid, "record_inspection", {"result": "failed", "report_no": "DJ-003", "note": "制动器不合格"})
    assert h.stop_use(22) is True
    assert h.flags(cid) == [("stop_use_failed", True)]
    assert h.notices(cid)["notify_failed"] == ["district_regulator", "property"]
    case = h.case(cid)
    assert case.status == "closed" and case.close_reason == "inspection_failed"
    assert h.escalations(cid) == []


def test_expiry_maintenance_warns_the_unit_then_escalates(h: Harness) -> None:
    last = START - timedelta(days=10)
    cid = h.open("expiry", 23, kind="maintenance", last_maintenance_at=_iso(last))
    record = h.task(cid, "record_maintenance")
    assert record.role == "maintenance" and record.due_at == last + timedelta(days=15)
    assert record.organisation_id == h.elevator(23).maintenance_unit_id
    # An inspection expiry of the same elevator is a separate case, not a join.
    other = h.open("expiry", 23, kind="inspection", due_date=_iso(START + timedelta(days=100)))
    assert other != cid

    h.expect_timer(cid, "t_maintenance_warn", last + timedelta(days=13))
    assert h.notices(cid) == {"notify_maintenance_warn": ["maintenance"]}
    assert h.escalations(cid) == []
    h.expect_timer(cid, "t_maintenance_overdue", last + timedelta(days=16))
    assert h.escalations(cid) == [("escalate_maintenance_overdue", 2, ["property", "district_regulator"])]
    h.complete(cid, "record_maintenance", {"record_no": "WB-001", "maintained_on": "2026-11-30", "items": ["曳引机"]})
    case = h.case(cid)
    assert case.status == "closed" and case.close_reason == "maintained" and h.timers(cid) == {}
    assert h.case(other).status == "open"


def test_expiry_maintenance_defaults_to_the_registers_last_visit(h: Harness) -> None:
    last = h.elevator(24).last_maintenance_at
    cid = h.open("expiry", 24, kind="maintenance")
    assert h.task(cid, "record_maintenance").due_at == last + timedelta(days=15)
    h.complete(cid, "record_maintenance", {"record_no": "WB-002", "maintained_on": "2026-11-23"})
    assert h.case(cid).close_reason == "maintained"


def test_expiry_inspection_defaults_to_the_registers_due_date(h: Harness) -> None:
    due_day = h.elevator(26).next_inspection_due
    cid = h.open("expiry", 26, kind="inspection")
    # The register's date is valid through that Beijing day.
    assert h.timers(cid)["t_expired"] == datetime.fromisoformat(utc_iso(due_day))
    assert h.timers(cid)["t_expired"].astimezone(CITY_TZ).date() == due_day + timedelta(days=1)


def test_expiry_refuses_an_unknown_kind(h: Harness) -> None:
    with pytest.raises(ValueError, match="kind"):
        h.open("expiry", 25, kind="elevator_age")


def test_utc_iso_reads_dates_as_beijing_days() -> None:
    assert utc_iso("2027-01-20") == "2027-01-20T16:00:00+00:00"
    assert utc_iso(date(2027, 1, 20)) == "2027-01-20T16:00:00+00:00"
    assert utc_iso("2027-01-20T09:30:00") == "2027-01-20T01:30:00+00:00"  # naive: Beijing
    assert utc_iso("2027-01-20T09:30:00+00:00") == "2027-01-20T09:30:00+00:00"
    assert utc_iso(None) is None and utc_iso("") is None


# =============================================================================================
# complaint 投诉举报
# =============================================================================================


def test_complaint_answered_by_maintenance_in_time(h: Harness) -> None:
    cid = h.open("complaint", 30, source="qr", category="noise", text="运行噪音很大", ts=_iso(START))
    case = h.case(cid)
    assert case.number.startswith("TS-") and case.priority == "P3"
    assert h.notices(cid) == {"notify_filed": ["rescue_centre"]}
    assign = h.task(cid, "assign_complaint")
    assert assign.role == "rescue_centre" and assign.due_at == START + timedelta(days=1)
    h.complete(cid, "assign_complaint", {"responder": "maintenance", "note": "噪音问题由维保答复"})
    answer = h.task(cid, "answer_by_maintenance")
    # Monday 10:00 Beijing + 5 working days: by the end of next Monday, Beijing time.
    deadline = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert answer.role == "maintenance" and answer.due_at == deadline
    assert answer.organisation_id == h.elevator(30).maintenance_unit_id
    assert h.notices(cid)["notify_assigned"] == ["maintenance"]
    assert h.timers(cid) == {"t_answer_overdue": deadline}

    h.at(cid, deadline - MINUTE)
    h.complete(cid, "answer_by_maintenance", {"answer": "已调整导靴并润滑", "contacted_complainant": True})
    review = h.task(cid, "review_answer")
    assert review.role == "district_regulator" and review.due_at == h.clock.now() + timedelta(days=3)
    assert h.timers(cid) == {}
    h.complete(cid, "review_answer", {"satisfied": True})
    case = h.case(cid)
    assert case.status == "closed" and case.close_reason == "answered"
    assert h.fired(cid) == [] and h.escalations(cid) == []
    assert set(case.milestones) == {"assign_complaint", "answer_by_maintenance", "review_answer"}


def test_complaint_property_overdue_rejected_and_answered_again(h: Harness) -> None:
    cid = h.open("complaint", 31, category="hygiene", text="轿厢卫生差", phone="13900000000", ts=_iso(START))
    h.complete(cid, "assign_complaint", {"responder": "property"})
    answer = h.task(cid, "answer_by_property")
    assert answer.role == "property" and answer.organisation_id == h.elevator(31).use_unit_id
    assert h.notices(cid)["notify_assigned"] == ["property"]
    deadline = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)

    h.expect_timer(cid, "t_answer_overdue", deadline)
    assert h.escalations(cid) == [("escalate_answer_overdue", 2, ["district_regulator", "property"])]
    assert h.open_tasks(cid) == ["answer_by_property"]
    h.later(cid, timedelta(hours=10))
    h.complete(cid, "answer_by_property", {"answer": "已安排保洁"})
    # Not satisfied: back to the same party, with a fresh window, not an instant re-escalation.
    h.complete(cid, "review_answer", {"satisfied": False, "comment": "未说明长效措施"})
    rejected_at = h.clock.now()
    assert h.open_tasks(cid) == ["answer_by_property"]
    assert h.notices(cid)["notify_answer_rejected"] == ["property"]
    assert h.task(cid, "answer_by_property").due_at == rejected_at + timedelta(days=3)
    assert len(h.escalations(cid)) == 1
    h.expect_timer(cid, "t_answer_overdue", rejected_at + timedelta(days=3))
    assert len(h.escalations(cid)) == 2
    h.complete(cid, "answer_by_property", {"answer": "已安排每日两次保洁并张贴文明乘梯提示"})
    h.complete(cid, "review_answer", {"satisfied": True})
    case = h.case(cid)
    assert case.status == "closed" and case.close_reason == "answered"
    assert [t.bpmn_id for t in h.tasks(cid)].count("answer_by_property") == 2


def test_complaint_rejected_before_the_deadline_keeps_it(h: Harness) -> None:
    cid = h.open("complaint", 32, category="other", text="按钮失灵", ts=_iso(START))
    deadline = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    h.complete(cid, "assign_complaint", {"responder": "maintenance"})
    h.complete(cid, "answer_by_maintenance", {"answer": "已更换按钮"})
    h.complete(cid, "review_answer", {"satisfied": False})
    assert h.task(cid, "answer_by_maintenance").due_at == deadline  # more than 3 days were left
    h.expect_timer(cid, "t_answer_overdue", deadline)
    assert h.escalations(cid) == [("escalate_answer_overdue", 2, ["district_regulator", "maintenance"])]


def test_complaint_without_report_time_falls_back_to_calendar_days(h: Harness) -> None:
    cid = h.open("complaint", 33, category="other", text="无时间戳的投诉")
    h.complete(cid, "assign_complaint", {"responder": "property"})
    assert h.task(cid, "answer_by_property").due_at == START + timedelta(days=7)


@pytest.mark.parametrize(
    ("reported", "expected"),
    [
        (datetime(2026, 11, 23, 2, 0, tzinfo=UTC), datetime(2026, 11, 30, 16, 0, tzinfo=UTC)),  # Mon -> Mon
        (datetime(2026, 11, 27, 2, 0, tzinfo=UTC), datetime(2026, 12, 4, 16, 0, tzinfo=UTC)),  # Fri -> Fri
        (datetime(2026, 11, 28, 2, 0, tzinfo=UTC), datetime(2026, 12, 4, 16, 0, tzinfo=UTC)),  # Sat -> Fri
        (datetime(2026, 11, 29, 2, 0, tzinfo=UTC), datetime(2026, 12, 4, 16, 0, tzinfo=UTC)),  # Sun -> Fri
        # Friday 23:30 UTC is already Saturday in Beijing.
        (datetime(2026, 11, 27, 17, 30, tzinfo=UTC), datetime(2026, 12, 4, 16, 0, tzinfo=UTC)),
        (datetime(2026, 11, 27, 15, 30, tzinfo=UTC), datetime(2026, 12, 4, 16, 0, tzinfo=UTC)),
    ],
)
def test_working_days_deadline_skips_weekends(reported: datetime, expected: datetime) -> None:
    assert working_days_deadline(reported, 5) == expected


def test_working_days_deadline_honours_holidays_and_makeup_days() -> None:
    reported = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    # Tuesday and Wednesday off, Saturday worked instead: Thu, Fri, Sat, Mon, Tue.
    holidays = {date(2026, 11, 24), date(2026, 11, 25)}
    makeup = {date(2026, 11, 28)}
    assert working_days_deadline(reported, 5, holidays, makeup) == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        working_days_deadline(reported.replace(tzinfo=None), 5)


# =============================================================================================
# forms refuse bad data
# =============================================================================================


def test_engine_refuses_an_invalid_form_and_leaves_the_task_open(h: Harness) -> None:
    cid = h.open("warning", 40, warning_type="door_lock_fault", recent_count=1)
    before = len(h.events(cid))
    with pytest.raises(FormInvalid) as err:
        h.complete(cid, "accept_order", {"eta_minutes": 0, "extra": 1})
    assert "eta_minutes" in err.value.errors and "_form" in err.value.errors
    assert h.open_tasks(cid) == ["accept_order"] and len(h.events(cid)) == before

    rid = h.open("rectification", 41, findings=FINDINGS)
    h.complete(rid, "rectify_work", {"description": "已整改"})
    with pytest.raises(FormInvalid) as err:
        h.complete(rid, "rectify", {"description": "已整改", "photos": []})
    assert "photos" in err.value.errors
    h.complete(rid, "rectify", {"description": "已整改", "photos": ["att-1"]})
    h.complete(rid, "review_evidence", {"approved": True})
    with pytest.raises(FormInvalid) as err:  # failed needs the findings that are still open
        h.complete(rid, "reinspect", {"result": "failed", "report_no": "FJ-9"})
    assert "findings" in err.value.errors
    assert h.stop_use(41) is False and h.open_tasks(rid) == ["reinspect"]

    cid = h.open("complaint", 42, category="other", text="x", ts=_iso(START))
    with pytest.raises(FormInvalid) as err:
        h.complete(cid, "assign_complaint", {"responder": "city_regulator"})
    assert "responder" in err.value.errors
    assert h.open_tasks(cid) == ["assign_complaint"]


@pytest.mark.parametrize(
    ("form", "data", "field"),
    [
        ("warning_accept.json", {}, "eta_minutes"),
        ("warning_onsite.json", {"on_site": False}, "on_site"),
        ("warning_fix.json", {"cause_category": "bad_luck", "description": "更换部件"}, "cause_category"),
        ("warning_fix.json", {"cause_category": "other", "description": "短"}, "description"),
        ("warning_verify.json", {"confirmed": "yes"}, "confirmed"),
        ("rectification_evidence.json", {"description": "已完成整改", "photos": [""]}, "photos.0"),
        ("rectification_evidence.json", {"photos": ["a"]}, "description"),
        ("rectification_review.json", {"approved": True, "score": 5}, "_form"),
        ("rectification_reinspection.json", {"result": "ok", "report_no": "1"}, "result"),
        (
            "rectification_reinspection.json",
            {"result": "failed", "report_no": "1", "findings": ["x"], "new_deadline": "2027-01-01 10:00"},
            "new_deadline",
        ),
        ("expiry_apply.json", {"application_no": "A", "planned_date": "20270101"}, "planned_date"),
        ("expiry_result.json", {"result": "passed"}, "report_no"),
        ("expiry_maintenance.json", {"record_no": "", "maintained_on": "2026-11-23"}, "record_no"),
        ("complaint_assign.json", {}, "responder"),
        ("complaint_answer.json", {"answer": "好"}, "answer"),
        ("complaint_review.json", {"satisfied": None}, "satisfied"),
    ],
)
def test_forms_refuse_bad_data(form: str, data: dict[str, Any], field: str) -> None:
    key = form.split("_")[0]
    # The forms exactly as deploy() freezes them with a definition version.
    forms, problems = load_forms(parse_process((ROOT / "bpmn" / f"{key}.bpmn").read_bytes()), ROOT / "forms")
    assert problems == []
    with pytest.raises(FormInvalid) as err:
        validate_form(forms[form], data)
    assert field in err.value.errors, err.value.errors
