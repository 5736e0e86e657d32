"""Each telemetry rule: the condition that must raise it, the near miss that must not, and clearing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from detectors.rules.events import judge_event
from detectors.rules.findings import Change, Finding
from detectors.rules.machine import DeviceState, judge_status
from detectors.rules.messages import EventMessage, StatusMessage
from detectors.rules.thresholds import Thresholds, load_thresholds

T0 = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
IDLE = dict(service_mode=1, car_status=0, car_direction=0, car_position=3, door_zone=1, door_status=1,
            passenger_status=2, power_status=1, speed=0.0, alarm_button=0, up_limit=0, down_limit=0)  # fmt: skip


class Car:
    """Feeds status messages to one device's state machine; times in seconds from T0."""

    def __init__(self, thresholds: Thresholds | None = None, **start: Any) -> None:
        self.th = thresholds or Thresholds(top_floor=10)
        self.st = DeviceState("D1")
        self.fields = {**IDLE, **start}
        self.t = 0.0
        self.seq = 0
        self.findings: list[Finding] = []
        self.send(0)

    def send(self, after: float, **changes: Any) -> list[Finding]:
        """`after` seconds later, with these changes; heartbeats every 5 s in between."""
        while after > 5:
            self._message()
            after -= 5
            self.t += 5
        self.t += after
        self.fields.update(changes)
        return self._message()

    def _message(self) -> list[Finding]:
        self.seq += 1
        m = StatusMessage("D1", T0 + timedelta(seconds=self.t), self.seq, **self.fields)
        found = judge_status(self.st, m, self.th)
        self.findings.extend(found)
        return found

    def raised(self) -> list[tuple[str, str]]:
        return [(f.warning_type.value, f.case_type) for f in self.findings if f.change is Change.RAISED]

    def cleared(self) -> list[str]:
        return [f.warning_type.value for f in self.findings if f.change is Change.CLEARED]


def open_doors(car: Car) -> None:
    car.send(1, door_status=3)
    car.send(1.5, door_status=0)


def close_doors(car: Car) -> None:
    car.send(3, door_status=2)
    car.send(2, door_status=1)


def test_normal_trip_raises_nothing() -> None:
    car = Car()
    open_doors(car)
    car.send(1, passenger_status=1)
    close_doors(car)
    car.send(1, car_status=1, car_direction=1, door_zone=2, speed=1.0)
    for floor in (4, 5, 6):
        car.send(2, car_position=floor)
    car.send(1, car_status=0, car_direction=0, door_zone=1, speed=0.0)
    open_doors(car)
    car.send(1, passenger_status=2)
    close_doors(car)
    car.send(120)
    assert car.findings == []


def test_power_loss_empty_car_is_a_warning_and_clears() -> None:
    car = Car()
    car.send(5, power_status=2)
    car.send(30, power_status=1)
    assert car.raised() == [("power_loss", "warning")]
    assert car.cleared() == ["power_loss"]


def test_power_loss_with_a_passenger_is_a_rescue_and_not_also_trapped() -> None:
    car = Car(passenger_status=1)
    car.send(1, power_status=2)
    car.send(90)
    assert car.raised() == [("power_loss", "rescue")]


def test_power_loss_becomes_a_rescue_when_someone_is_found_inside() -> None:
    car = Car()
    car.send(1, power_status=2)
    car.send(10, passenger_status=1)
    assert car.raised() == [("power_loss", "warning"), ("power_loss", "rescue")]


def test_trapped_after_30_seconds_with_doors_closed_and_passenger() -> None:
    car = Car(car_status=1, door_zone=2, passenger_status=1, speed=1.0)
    car.send(2, car_status=0, speed=0.0)
    car.send(25)
    # 25 s out of the zone: the abnormal stop (15 s) is raised with someone inside too; not trapped yet
    assert car.raised() == [("abnormal_stop", "warning")]
    car.send(10)
    assert car.raised() == [("abnormal_stop", "warning"), ("trapped", "rescue")]
    car.send(5, car_status=1, speed=1.0)
    assert car.cleared() == ["trapped", "abnormal_stop"]


def test_alarm_button_is_trapped_at_once() -> None:
    car = Car(passenger_status=1)
    car.send(2, alarm_button=1)
    assert car.raised() == [("trapped", "rescue")]


def test_passenger_waiting_briefly_with_doors_closed_is_not_trapped() -> None:
    car = Car(passenger_status=1)
    car.send(20)
    open_doors(car)
    car.send(1, passenger_status=2)
    close_doors(car)
    car.send(60)
    assert car.raised() == []


OVERRUNS = [
    ({"up_limit": 1}, "overrun_top"),
    ({"car_position": 11}, "overrun_top"),
    ({"down_limit": 1}, "overrun_bottom"),
    ({"car_position": 0}, "overrun_bottom"),
]


@pytest.mark.parametrize(("change", "expected"), OVERRUNS)
def test_overrun_by_limit_switch_or_position(change: dict[str, int], expected: str) -> None:
    car = Car(car_position=10 if expected == "overrun_top" else 1)
    car.send(1, **change)
    assert (expected, "warning") in car.raised()
    car.send(3, up_limit=0, down_limit=0, car_position=10 if expected == "overrun_top" else 1)
    assert expected in car.cleared()


def test_top_and_bottom_floor_are_not_overrun() -> None:
    car = Car(car_position=10)
    car.send(5, car_position=10)
    car.send(5, car_status=1, car_direction=2, door_zone=2, speed=1.0)
    for floor in range(9, 0, -1):
        car.send(2, car_position=floor)
    car.send(1, car_status=0, door_zone=1, speed=0.0)
    assert car.raised() == []


def test_per_elevator_threshold_override(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "t.toml"
    path.write_text('[defaults]\ndoor_held_open_s = 60\n[elevators."E1"]\ndoor_held_open_s = 120\n', encoding="utf-8")
    book = load_thresholds(path)
    assert book.for_elevator("E1", 12).door_held_open_s == 120
    assert book.for_elevator("E2", 12).door_held_open_s == 60
    assert book.for_elevator("E2", 12).top_floor == 12
    car = Car(book.for_elevator("E1", 12))
    open_doors(car)
    car.send(90)
    assert car.raised() == []
    car.send(40)
    assert car.raised() == [("door_held_open", "warning")]


def test_unknown_threshold_name_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "t.toml"
    path.write_text("[defaults]\ndoor_held_opn_s = 60\n", encoding="utf-8")
    with pytest.raises(ValueError, match="door_held_opn_s"):
        load_thresholds(path)


def test_door_held_open_over_60_seconds() -> None:
    car = Car()
    open_doors(car)
    car.send(55)
    assert car.raised() == []
    car.send(10)
    assert car.raised() == [("door_held_open", "warning")]
    close_doors(car)
    assert car.cleared() == ["door_held_open"]


def test_door_held_open_is_not_judged_in_inspection_mode() -> None:
    car = Car(service_mode=2)
    open_doors(car)
    car.send(300)
    assert car.raised() == []


def test_repeated_door_cycles_without_travel() -> None:
    car = Car()
    for _ in range(4):
        open_doors(car)
        close_doors(car)
    assert car.raised() == []
    open_doors(car)
    close_doors(car)
    assert car.raised() == [("repeated_door_cycles", "warning")]
    car.send(2, car_status=1, door_zone=2, speed=1.0)
    assert car.cleared() == ["repeated_door_cycles"]


def test_door_cycles_with_travel_between_are_normal() -> None:
    car = Car()
    for floor in range(4, 10):
        open_doors(car)
        close_doors(car)
        car.send(1, car_status=1, door_zone=2, speed=1.0)
        car.send(2, car_position=floor)
        car.send(1, car_status=0, door_zone=1, speed=0.0)
    assert car.raised() == []


def test_abnormal_stop_out_of_zone_doors_closed_15_seconds() -> None:
    car = Car(car_status=1, door_zone=2, speed=1.0)
    car.send(1, car_status=0, speed=0.0)
    car.send(10)
    assert car.raised() == []
    car.send(10)
    assert car.raised() == [("abnormal_stop", "warning")]
    car.send(2, car_status=1, speed=1.0)
    assert car.cleared() == ["abnormal_stop"]


def test_short_stop_out_of_zone_is_not_abnormal() -> None:
    car = Car(car_status=1, door_zone=2, speed=1.0)
    car.send(1, car_status=0, speed=0.0)
    car.send(12, car_status=1, speed=1.0)
    car.send(5, car_status=0, speed=0.0)
    car.send(12, car_status=1, speed=1.0)
    assert car.raised() == []


def test_abnormal_start_moving_with_doors_not_locked() -> None:
    car = Car()
    open_doors(car)
    car.send(1, car_status=1, speed=0.2)
    assert car.raised() == [("abnormal_start", "warning")]
    car.send(1, car_status=0, speed=0.0)
    assert car.cleared() == ["abnormal_start"]


def test_starting_with_doors_locked_is_normal() -> None:
    car = Car()
    open_doors(car)
    close_doors(car)
    car.send(1, car_status=1, door_zone=2, speed=1.0)
    assert car.raised() == []


def test_door_open_outside_zone_over_2_seconds() -> None:
    car = Car(car_status=1, door_zone=2, speed=1.0)
    car.send(1, car_status=0, speed=0.0)
    car.send(1, door_status=3)
    car.send(1.5)
    assert car.raised() == []
    car.send(1, door_status=0)
    assert car.raised() == [("door_open_outside_zone", "warning")]
    car.send(3, door_status=2)
    assert car.cleared() == ["door_open_outside_zone"]


def test_door_open_in_zone_is_normal() -> None:
    car = Car()
    open_doors(car)
    car.send(20)
    assert car.raised() == []


def test_door_lock_fault_closing_never_locks() -> None:
    car = Car()
    open_doors(car)
    car.send(2, door_status=2)
    car.send(8)
    assert car.raised() == []
    car.send(5)
    assert car.raised() == [("door_lock_fault", "warning")]
    car.send(1, door_status=1)
    assert car.cleared() == ["door_lock_fault"]


def test_door_open_close_fault_opening_never_completes() -> None:
    car = Car()
    car.send(1, door_status=3)
    car.send(8)
    assert car.raised() == []
    car.send(5)
    assert car.raised() == [("door_open_close_fault", "warning")]


def test_car_door_closing_anomaly_reversals() -> None:
    car = Car()
    open_doors(car)
    for _ in range(2):
        car.send(1, door_status=2)
        car.send(1, door_status=3)
        car.send(1, door_status=0)
    assert car.raised() == []  # two reversals: a hand in the door
    car.send(1, door_status=2)
    car.send(1, door_status=3)
    assert car.raised() == [("car_door_closing_anomaly", "warning")]
    close_doors(car)
    assert car.cleared() == ["car_door_closing_anomaly"]


def test_floor_position_lost_when_position_moves_while_standing() -> None:
    car = Car()
    car.send(3, car_position=6)
    assert car.raised() == [("floor_position_lost", "warning")]
    car.send(1, car_status=1, door_zone=2, speed=1.0)
    car.send(2, car_position=7)
    car.send(1, car_status=0, door_zone=1, speed=0.0)
    open_doors(car)
    assert car.cleared() == ["floor_position_lost"]


def test_position_moving_one_floor_at_a_time_while_running_is_normal() -> None:
    car = Car(car_position=1)
    car.send(1, car_status=1, door_zone=2, speed=1.0)
    for floor in range(2, 11):
        car.send(2, car_position=floor)
    assert car.raised() == []


def test_a_fault_episode_has_one_key_and_a_replay_changes_nothing() -> None:
    car = Car()
    open_doors(car)
    car.send(65)
    saved = DeviceState.restore("D1", car.st.durable())
    keys = [f.idempotency_key for f in car.findings]
    assert len(keys) == 1
    car.send(5)  # still open: no second warning
    assert [f.idempotency_key for f in car.findings] == keys
    # After a restart the durable state carries the open fault: nothing is raised again.
    car.st = saved
    car.send(5)
    assert [f.idempotency_key for f in car.findings] == keys


def test_state_after_a_restart_keeps_a_running_timer() -> None:
    car = Car()
    open_doors(car)
    car.send(40)
    car.st = DeviceState.restore("D1", car.st.durable())  # the ingest restarted mid-way
    car.send(25)
    assert car.raised() == [("door_held_open", "warning")]


@pytest.mark.parametrize(("code", "wtype", "case_type"), [(41, "power_loss", "warning"), (90, "trapped", "rescue"),
                                                          (11, "trapped", "rescue"), (9, "overrun_top", "warning"),
                                                          (1, "safety_circuit", "warning")])  # fmt: skip
def test_box_event_codes(code: int, wtype: str, case_type: str) -> None:
    [finding] = judge_event(DeviceState("D1"), EventMessage("D1", T0, "e-1", code))
    assert (finding.warning_type.value, finding.case_type, finding.judged_by) == (wtype, case_type, "box")
    assert finding.idempotency_key == "D1:event:e-1"


def test_box_power_off_with_someone_in_the_car_is_a_rescue() -> None:
    car = Car(passenger_status=1)
    [finding] = judge_event(car.st, EventMessage("D1", T0, "e-2", 41))
    assert finding.case_type == "rescue"
