"""Every path of the rescue process, each escalation step at its time, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from demo.scenarios import an_elevator, complete, wait
from engine.models import CaseTimer
from engine.scheduler import fire_due_timers
from forms.validation import FormInvalid
from infra.clock import SimulatedClock
from processes.intake import open_or_join
from processes.system import System
from tests.support.helpers import case, escalations, kinds, notified_roles, open_tasks, tasks

SECOND = timedelta(seconds=1)
LEVEL2 = (2, ["backup_maintenance", "maintenance_manager"])
LEVEL3 = (3, ["district_regulator", "rescue_centre"])
OVERDUE = (3, ["district_regulator"])
CITY = (4, ["city_regulator", "district_regulator"])


def start(system: System, urban: bool = True, **signal: object) -> int:
    return open_or_join(
        system.engine,
        system.settings.sla_file,
        "rescue",
        elevator_id=an_elevator(system, urban),
        signal={"source": "qr", **signal},
    ).case_id


def until(system: System, clock: SimulatedClock, when: datetime) -> None:
    """Let time pass up to `when`, firing timers as the scheduler would."""
    wait(system, clock, when - clock.now())


def case_timers(system: System, case_id: int) -> dict[str, datetime]:
    with system.sessions() as session:
        rows = session.execute(select(CaseTimer.bpmn_id, CaseTimer.fire_at).where(CaseTimer.case_id == case_id))
        return {row.bpmn_id: row.fire_at for row in rows}


def test_ladder_fires_each_level_at_its_time(system: System, clock: SimulatedClock) -> None:
    case_id = start(system)
    assert notified_roles(system, case_id) == {"maintenance", "property", "rescue_centre"}
    complete(system, case_id, "verify_dispatch", {"outcome": "dispatch"}, "dispatcher")
    wait(system, clock, timedelta(minutes=4))
    assert escalations(system, case_id) == []
    wait(system, clock, timedelta(minutes=1))
    assert escalations(system, case_id) == [(2, ["backup_maintenance", "maintenance_manager"])]
    assert {"backup_maintenance", "maintenance_manager"} <= notified_roles(system, case_id)
    wait(system, clock, timedelta(minutes=5))
    assert escalations(system, case_id)[-1] == (3, ["district_regulator", "rescue_centre"])
    complete(system, case_id, "accept_order", {"eta_minutes": 15}, "maint")
    wait(system, clock, timedelta(minutes=19))
    assert len(escalations(system, case_id)) == 2  # arrival deadline (30 min from report) not yet passed
    wait(system, clock, timedelta(minutes=1))
    assert escalations(system, case_id)[-1] == (3, ["district_regulator"])
    assert case(system, case_id).escalation_level == 3
    complete(system, case_id, "report_arrival", {"on_site": True}, "maint")
    complete(system, case_id, "report_release", {"released_count": 1, "method": "manual_release"}, "maint")
    wait(system, clock, timedelta(hours=1))
    assert len(escalations(system, case_id)) == 3  # released before 60 min: no city regulator
    complete(system, case_id, "report_cause", {"cause_category": "power_loss", "description": "市电中断"}, "maint")
    complete(system, case_id, "return_visit", {"satisfied": True}, "dispatcher")
    closed = case(system, case_id)
    assert closed.status == "closed" and closed.open_key is None
    assert set(closed.milestones) >= {"verify_dispatch", "accept_order", "report_arrival", "return_visit"}


def test_accepted_in_time_means_no_escalation(system: System, clock: SimulatedClock) -> None:
    case_id = start(system)
    complete(system, case_id, "verify_dispatch", {"outcome": "dispatch"}, "dispatcher")
    wait(system, clock, timedelta(minutes=3))
    complete(system, case_id, "accept_order", {"eta_minutes": 10}, "maint")
    wait(system, clock, timedelta(minutes=10))
    complete(system, case_id, "report_arrival", {"on_site": True}, "maint")
    wait(system, clock, timedelta(minutes=30))
    assert escalations(system, case_id) == []
    assert [p["element"] for p in kinds(system, case_id, "task_cancelled")] == []


def test_unresolved_at_60_minutes_reaches_city_regulator(system: System, clock: SimulatedClock) -> None:
    case_id = start(system)
    complete(system, case_id, "verify_dispatch", {"outcome": "dispatch"}, "dispatcher")
    complete(system, case_id, "accept_order", {"eta_minutes": 10}, "maint")
    complete(system, case_id, "report_arrival", {"on_site": True}, "maint")
    wait(system, clock, timedelta(minutes=59))
    assert escalations(system, case_id) == []
    wait(system, clock, timedelta(minutes=1))
    assert escalations(system, case_id) == [(4, ["city_regulator", "district_regulator"])]
    assert "report_release" in open_tasks(system, case_id)  # non-interrupting: the work goes on


def test_rural_district_gets_60_minutes_to_arrive(system: System, clock: SimulatedClock) -> None:
    case_id = start(system, urban=False)
    complete(system, case_id, "verify_dispatch", {"outcome": "dispatch"}, "dispatcher")
    complete(system, case_id, "accept_order", {"eta_minutes": 50}, "maint")
    wait(system, clock, timedelta(minutes=45))
    assert escalations(system, case_id) == []
    wait(system, clock, timedelta(minutes=15))
    assert (3, ["district_regulator"]) in escalations(system, case_id)


def test_injury_goes_straight_to_level_three(system: System) -> None:
    case_id = start(system)
    complete(system, case_id, "verify_dispatch", {"outcome": "dispatch", "injured": True}, "dispatcher")
    assert escalations(system, case_id) == [(3, ["district_regulator", "rescue_centre"])]
    assert open_tasks(system, case_id) == ["accept_order"]


@pytest.mark.parametrize("outcome", ["false_alarm", "self_escaped"])
def test_false_alarm_closes_the_case(system: System, outcome: str) -> None:
    case_id = start(system)
    complete(system, case_id, "verify_dispatch", {"outcome": outcome}, "dispatcher")
    closed = case(system, case_id)
    assert (closed.status, closed.close_reason) == ("closed", outcome)


def test_self_escaped_message_interrupts_the_rescue(system: System, clock: SimulatedClock) -> None:
    case_id = start(system)
    complete(system, case_id, "verify_dispatch", {"outcome": "dispatch"}, "dispatcher")
    key = case(system, case_id).correlation_key
    system.engine.correlate_message(key, "self_escaped", {"source": "iot"})
    assert open_tasks(system, case_id) == ["return_visit"]
    assert [p["element"] for p in kinds(system, case_id, "task_cancelled")] == ["accept_order"]
    assert kinds(system, case_id, "message_received")[0]["caught"] is True
    wait(system, clock, timedelta(minutes=90))
    assert escalations(system, case_id) == []  # the ladder's timers went with the interrupted work
    complete(system, case_id, "return_visit", {"satisfied": True}, "dispatcher")
    assert case(system, case_id).close_reason == "self_escaped"


def test_second_signal_joins_the_open_case(system: System) -> None:
    first = start(system)
    again = open_or_join(
        system.engine,
        system.settings.sla_file,
        "rescue",
        elevator_id=an_elevator(system),
        signal={"source": "iot", "kind": "trapped"},
    )
    assert again.joined and again.case_id == first
    assert kinds(system, first, "signal_joined")[0]["source"] == "iot"


def test_form_with_wrong_fields_is_refused_and_nothing_moves(system: System) -> None:
    case_id = start(system)
    with pytest.raises(FormInvalid) as err:
        complete(system, case_id, "verify_dispatch", {"outcome": "maybe", "trapped_count": -1, "x": 1}, "dispatcher")
    assert set(err.value.errors) == {"outcome", "trapped_count", "_form"}
    assert open_tasks(system, case_id) == ["verify_dispatch"]
    assert kinds(system, case_id, "task_completed") == []


def test_cancel_as_false_alarm(system: System, clock: SimulatedClock) -> None:
    case_id = start(system)
    system.engine.cancel_case(case_id, "误报：乘客误按警铃", actor="dispatcher")
    assert case(system, case_id).status == "cancelled"
    assert open_tasks(system, case_id) == []
    clock.advance(timedelta(hours=2))
    assert fire_due_timers(system.engine) == 0


# The rescue clock starts at the report: an unverified call climbs the same ladder.


@pytest.mark.parametrize(("urban", "arrival"), [(True, 30), (False, 60)])
def test_unverified_call_climbs_the_ladder_from_the_report(
    system: System, clock: SimulatedClock, urban: bool, arrival: int
) -> None:
    reported = clock.now()
    case_id = start(system, urban=urban)
    minutes = {"t_level2": 5, "t_level3": 10, "t_arrival": arrival, "t_unresolved": 60}
    assert case_timers(system, case_id) == {k: reported + timedelta(minutes=m) for k, m in minutes.items()}
    rungs = [(5, LEVEL2), (10, LEVEL3), (arrival, OVERDUE), (60, CITY)]
    for due in sorted({m for m, _ in rungs}):
        until(system, clock, reported + timedelta(minutes=due) - SECOND)
        assert sorted(escalations(system, case_id)) == sorted(r for m, r in rungs if m < due)
        until(system, clock, reported + timedelta(minutes=due))
        assert sorted(escalations(system, case_id)) == sorted(r for m, r in rungs if m <= due)
    assert open_tasks(system, case_id) == ["verify_dispatch"]  # the ladder does not take the call away
    assert case_timers(system, case_id) == {}
    wait(system, clock, timedelta(hours=2))
    assert len(escalations(system, case_id)) == 4


def test_verified_at_3_and_accepted_at_4_minutes_means_no_level_2(system: System, clock: SimulatedClock) -> None:
    reported = clock.now()
    case_id = start(system)
    until(system, clock, reported + timedelta(minutes=3))
    complete(system, case_id, "verify_dispatch", {"outcome": "dispatch"}, "dispatcher")
    until(system, clock, reported + timedelta(minutes=4))
    complete(system, case_id, "accept_order", {"eta_minutes": 10}, "maint")
    assert set(case_timers(system, case_id)) == {"t_arrival", "t_unresolved"}  # accepted: levels 2 and 3 gone
    until(system, clock, reported + timedelta(minutes=29))
    assert escalations(system, case_id) == []


def test_late_dispatch_does_not_repeat_level_2(system: System, clock: SimulatedClock) -> None:
    reported = clock.now()
    case_id = start(system)
    until(system, clock, reported + timedelta(minutes=5))
    assert escalations(system, case_id) == [LEVEL2]  # fired while the call was still unverified
    until(system, clock, reported + timedelta(minutes=7))
    complete(system, case_id, "verify_dispatch", {"outcome": "dispatch"}, "dispatcher")
    accept = next(t for t in tasks(system, case_id) if t.bpmn_id == "accept_order")
    assert accept.due_at == reported + timedelta(minutes=5)  # due from the report: overdue as it opens
    until(system, clock, reported + timedelta(minutes=10) - SECOND)
    assert escalations(system, case_id) == [LEVEL2]
    until(system, clock, reported + timedelta(minutes=10))
    assert escalations(system, case_id) == [LEVEL2, LEVEL3]
    complete(system, case_id, "accept_order", {"eta_minutes": 10}, "maint")
    complete(system, case_id, "report_arrival", {"on_site": True}, "maint")
    until(system, clock, reported + timedelta(minutes=59))
    assert escalations(system, case_id) == [LEVEL2, LEVEL3]  # on site before 30 min: no overdue notice


@pytest.mark.parametrize("outcome", ["false_alarm", "self_escaped"])
def test_no_rescue_needed_at_2_minutes_ends_the_ladder(system: System, clock: SimulatedClock, outcome: str) -> None:
    reported = clock.now()
    case_id = start(system)
    until(system, clock, reported + timedelta(minutes=2))
    complete(system, case_id, "verify_dispatch", {"outcome": outcome}, "dispatcher")
    closed = case(system, case_id)
    assert (closed.status, closed.close_reason) == ("closed", outcome)
    assert case_timers(system, case_id) == {} and open_tasks(system, case_id) == []
    wait(system, clock, timedelta(minutes=90))
    assert escalations(system, case_id) == [] and kinds(system, case_id, "timer_fired") == []


def test_self_escaped_message_before_verification_ends_the_ladder(system: System, clock: SimulatedClock) -> None:
    reported = clock.now()
    case_id = start(system)
    until(system, clock, reported + timedelta(minutes=2))
    system.engine.correlate_message(case(system, case_id).correlation_key, "self_escaped", {"source": "iot"})
    assert open_tasks(system, case_id) == ["return_visit"]
    assert case_timers(system, case_id) == {}
    wait(system, clock, timedelta(minutes=90))
    assert escalations(system, case_id) == []
