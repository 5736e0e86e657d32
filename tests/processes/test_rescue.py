"""Every path of the rescue process, each escalation step at its time, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from demo.scenarios import an_elevator, complete, wait
from engine.scheduler import fire_due_timers
from forms.validation import FormInvalid
from infra.clock import SimulatedClock
from processes.intake import open_or_join
from processes.system import System
from tests.support.helpers import case, escalations, kinds, notified_roles, open_tasks


def start(system: System, urban: bool = True, **signal: object) -> int:
    return open_or_join(
        system.engine,
        system.settings.sla_file,
        "rescue",
        elevator_id=an_elevator(system, urban),
        signal={"source": "qr", **signal},
    ).case_id


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
