"""Issue 11 items 6-8 and issue 13's telemetry rules, from the contract: a timed fault is raised by the
message that ends it past its limit, and on a clock when the box goes silent; an abnormal stop with a
passenger is raised at 15 s and trapped at 30 s; reordering is not a lost floor count; overspeed at
more than rated x 1.15 while running; overload when the box reports it. Each with the near miss."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from detectors.rules.findings import Change, Finding
from detectors.rules.machine import DeviceState, judge_deadlines, judge_status, next_deadline
from detectors.rules.messages import Reason, Rejection, StatusMessage, parse_status
from detectors.rules.thresholds import Thresholds, load_thresholds
from tests.support.lift_traces import fleet
from tests.support.trace_scoring import judge, score

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
# A car standing level at floor 3, doors closed and locked, empty (DESIGN's field values).
LEVEL = dict(service_mode=1, car_status=0, car_direction=0, car_position=3, door_zone=1, door_status=1,
             passenger_status=2, power_status=1, speed=0.0, alarm_button=0, up_limit=0, down_limit=0)  # fmt: skip
BETWEEN_FLOORS = {"door_zone": 2}
OPEN, LOCKED, CLOSING, OPENING = 0, 1, 2, 3


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class Box:
    """One box's stream, judged in the order given; `seq` counts up unless a test says otherwise."""

    def __init__(self, th: Thresholds | None = None, **start: Any) -> None:
        self.th = th or Thresholds(top_floor=12)
        self.st = DeviceState("B1")
        self.status = {**LEVEL, **start}
        self.seq = 0
        self.findings: list[Finding] = []

    def message(self, t: float, seq: int | None = None, **changes: Any) -> StatusMessage:
        self.status.update(changes)
        if seq is None:
            self.seq += 1
            seq = self.seq
        return StatusMessage("B1", at(t), seq, **self.status)

    def send(self, t: float, seq: int | None = None, **changes: Any) -> list[Finding]:
        return self.judge(self.message(t, seq, **changes))

    def judge(self, m: StatusMessage) -> list[Finding]:
        found = judge_status(self.st, m, self.th)
        self.findings.extend(found)
        return found

    def beats(self, start: float, end: float, every: float = 4.5) -> None:
        """Heartbeats repeating the status from `start` up to before `end`."""
        t = start
        while t < end:
            self.send(t)
            t += every

    def clock(self, seconds: float) -> list[Finding]:
        found = judge_deadlines(self.st, at(seconds), self.th)
        self.findings.extend(found)
        return found

    def raised(self) -> list[tuple[str, str]]:
        return [(f.warning_type.value, f.case_type) for f in self.findings if f.change is Change.RAISED]

    def cleared(self) -> list[str]:
        return [f.warning_type.value for f in self.findings if f.change is Change.CLEARED]

    def keys(self, change: Change = Change.RAISED) -> list[str]:
        return [f.idempotency_key for f in self.findings if f.change is change]


# -- item 6: the message that ends a timed condition past its limit raises it ----------------------------
def test_doors_closing_after_61_s_open_raise_and_clear_door_held_open() -> None:
    box = Box()
    box.send(0, door_status=OPEN)
    box.beats(4.5, 59)  # the last heartbeat showing the doors open is at 58.5 s
    box.send(61, door_status=CLOSING)
    assert box.raised() == [("door_held_open", "warning")]
    assert box.cleared() == ["door_held_open"]
    assert box.keys() == [f"B1:door_held_open:{at(0).isoformat()}"]  # the onset is the episode's key


def test_doors_closing_after_59_5_s_open_raise_nothing() -> None:
    box = Box()
    box.send(0, door_status=OPEN)
    box.beats(4.5, 59)
    box.send(59.5, door_status=CLOSING)
    box.send(61.5, door_status=LOCKED)
    assert box.findings == []


def test_car_moving_on_after_16_s_stopped_out_of_zone_raises_abnormal_stop() -> None:
    box = Box(car_status=1, car_direction=1, door_zone=2, speed=1.0)
    box.send(0)
    box.send(1, car_status=0, car_direction=0, speed=0.0)  # stopped between floors, doors locked
    box.beats(5.5, 15)  # the last heartbeat is at 14.5 s: 13.5 s stopped
    box.send(17, car_status=1, car_direction=1, speed=0.5)
    assert box.raised() == [("abnormal_stop", "warning")]
    assert box.cleared() == ["abnormal_stop"]
    assert box.keys() == [f"B1:abnormal_stop:{at(1).isoformat()}"]


def test_car_moving_on_after_14_5_s_stopped_out_of_zone_raises_nothing() -> None:
    box = Box(car_status=1, car_direction=1, door_zone=2, speed=1.0)
    box.send(0)
    box.send(1, car_status=0, car_direction=0, speed=0.0)
    box.beats(5.5, 15)
    box.send(15.5, car_status=1, car_direction=1, speed=0.5)
    assert box.findings == []


@pytest.mark.parametrize(("open_s", "raised"), [(3.0, True), (2.2, True), (1.8, False)])
def test_doors_closing_after_open_outside_the_zone(open_s: float, raised: bool) -> None:
    box = Box(**BETWEEN_FLOORS)
    box.send(0)
    box.send(1, door_status=OPENING)
    box.send(1 + min(1.0, open_s / 2), door_status=OPEN)
    box.send(1 + open_s, door_status=CLOSING)
    box.send(3 + open_s, door_status=LOCKED)
    assert box.raised() == ([("door_open_outside_zone", "warning")] if raised else [])
    assert box.cleared() == (["door_open_outside_zone"] if raised else [])


def test_doors_opening_after_31_s_shut_in_with_a_passenger_raise_trapped() -> None:
    box = Box(passenger_status=1)
    box.send(0)
    box.beats(4.5, 30)  # the last heartbeat is at 27 s
    box.send(31, door_status=OPENING)
    assert box.raised() == [("trapped", "rescue")]


def test_doors_opening_after_29_5_s_shut_in_with_a_passenger_raise_nothing() -> None:
    box = Box(passenger_status=1)
    box.send(0)
    box.beats(4.5, 29)
    box.send(29.5, door_status=OPENING)
    assert box.findings == []


def test_an_ending_message_after_a_gap_in_seq_proves_nothing() -> None:
    """The missing message may be the one that ended the condition, before the limit."""
    box = Box()
    box.send(0, door_status=OPEN)
    box.beats(4.5, 59)
    box.send(61, seq=box.seq + 2, door_status=CLOSING)
    assert box.raised() == []


def test_the_missing_message_arriving_late_still_proves_the_limit() -> None:
    """Stopped out of the zone; the heartbeat at 16 s (past 15) arrives after the move-on message."""
    box = Box(car_status=1, car_direction=1, door_zone=2, speed=1.0)
    box.send(0)
    box.send(1, car_status=0, car_direction=0, speed=0.0)
    box.beats(5.5, 15)
    beat = box.message(17)  # 16 s stopped
    box.send(17.3, car_status=1, car_direction=1, speed=0.5)
    assert box.raised() == []  # the gap: the missing message may have ended the stop in time
    box.judge(beat)
    assert box.raised() == [("abnormal_stop", "warning")] and box.cleared() == ["abnormal_stop"]
    assert box.keys() == [f"B1:abnormal_stop:{at(1).isoformat()}"]


def test_the_missing_message_arriving_late_that_ended_it_in_time_proves_nothing() -> None:
    box = Box(car_status=1, car_direction=1, door_zone=2, speed=1.0)
    box.send(0)
    box.send(1, car_status=0, car_direction=0, speed=0.0)
    box.beats(5.5, 15)
    moved = box.message(15.5, car_status=1, car_direction=1, speed=0.5)  # 14.5 s stopped
    box.send(17, car_position=4)
    box.judge(moved)
    assert box.raised() == []


def test_an_overtaken_first_message_still_sets_the_onset() -> None:
    """Doors open out of the zone 2.5 s; the 'opening' message arrives after the 'open' one."""
    box = Box(**BETWEEN_FLOORS)
    box.send(0)
    opening = box.message(1, door_status=OPENING)
    box.send(2, door_status=OPEN)
    box.judge(opening)
    box.send(3.5, door_status=CLOSING)
    assert box.raised() == [("door_open_outside_zone", "warning")]
    assert box.keys() == [f"B1:door_open_outside_zone:{at(1).isoformat()}"]


# -- item 6: deadlines judged on a clock when the box is silent ----------------------------------------
def test_silent_box_with_a_passenger_stopped_between_floors() -> None:
    """Power cut: the box says nothing more. Abnormal stop at 15 s, trapped at 30 s, each once."""
    box = Box(car_status=1, car_direction=2, door_zone=2, speed=1.0, passenger_status=1)
    box.send(0)
    box.send(2, car_status=0, car_direction=0, speed=0.0)
    box.send(6.5)  # one heartbeat, then silence
    assert next_deadline(box.st, box.th) == at(17)
    assert box.clock(16.9) == []
    assert [(f.warning_type.value, f.case_type) for f in box.clock(17)] == [("abnormal_stop", "warning")]
    assert next_deadline(box.st, box.th) == at(32)
    assert box.clock(31.9) == []
    [trapped] = box.clock(32)
    assert (trapped.warning_type.value, trapped.case_type) == ("trapped", "rescue")
    assert trapped.idempotency_key == f"B1:trapped:{at(2).isoformat()}"
    assert trapped.ts == at(32).isoformat()  # when the limit was reached
    assert next_deadline(box.st, box.th) is None
    assert box.clock(300) == []  # idempotent
    # The ingest restarts: the durable state carries the open faults, the clock raises nothing again.
    box.st = DeviceState.restore("B1", box.st.durable(), box.st.last_seq, box.st.last_ts)
    assert box.clock(400) == [] and next_deadline(box.st, box.th) is None
    box.send(420)  # power is back, still stopped between floors: nothing new
    box.send(425, car_status=1, car_direction=1, speed=0.3)
    assert box.raised() == [("abnormal_stop", "warning"), ("trapped", "rescue")]
    assert sorted(box.cleared()) == ["abnormal_stop", "trapped"]
    cleared = box.keys(Change.CLEARED)
    assert sorted(cleared) == sorted(f"{k}:cleared" for k in box.keys())


def test_the_clock_and_a_message_raise_the_same_fault_with_the_same_key() -> None:
    by_clock, by_message = Box(door_status=OPEN), Box(door_status=OPEN)
    for box in (by_clock, by_message):
        box.send(0)
        box.send(4.5)
    [clocked] = by_clock.clock(61)
    by_message.beats(9, 64)
    [messaged] = [f for f in by_message.findings if f.change is Change.RAISED]
    assert clocked.idempotency_key == messaged.idempotency_key
    by_clock.send(63)  # the next message while the doors are still open: nothing twice
    assert by_clock.raised() == [("door_held_open", "warning")]


def test_silent_box_near_miss_and_nothing_timed() -> None:
    idle = Box()
    idle.send(0)
    assert next_deadline(idle.st, idle.th) is None
    assert idle.clock(3600) == []
    open_doors = Box()
    open_doors.send(0, door_status=OPEN)
    assert next_deadline(open_doors.st, open_doors.th) == at(60)
    assert open_doors.clock(59.9) == []
    open_doors.send(59.5, door_status=CLOSING)  # closed just in time
    assert next_deadline(open_doors.st, open_doors.th) == at(59.5 + 10)  # door lock timeout now runs
    assert open_doors.clock(61) == []


def test_a_running_timer_survives_an_ingest_restart() -> None:
    box = Box(passenger_status=1)
    box.send(0)
    box.send(4.5)
    box.st = DeviceState.restore("B1", box.st.durable(), box.st.last_seq, box.st.last_ts)
    assert next_deadline(box.st, box.th) == at(30)
    assert [f.warning_type.value for f in box.clock(30)] == ["trapped"]


# -- item 7: a stop out of the zone with a passenger --------------------------------------------------
def test_stop_out_of_zone_with_a_passenger_abnormal_stop_at_15_trapped_at_30() -> None:
    box = Box(car_status=1, car_direction=1, door_zone=2, speed=1.0, passenger_status=1)
    box.send(0)
    box.send(1, car_status=0, car_direction=0, speed=0.0)
    box.beats(5, 15.5)  # 5, 9.5, 14 s
    assert box.raised() == []
    box.send(16.2)  # 15.2 s stopped
    assert box.raised() == [("abnormal_stop", "warning")]
    box.beats(20.7, 30.6)  # ..., 29.7 s: 28.7 s stopped
    assert box.raised() == [("abnormal_stop", "warning")]
    box.send(31.2)  # 30.2 s stopped
    assert box.raised() == [("abnormal_stop", "warning"), ("trapped", "rescue")]


def test_stop_out_of_zone_with_a_passenger_for_14_5_s_raises_nothing() -> None:
    box = Box(car_status=1, car_direction=1, door_zone=2, speed=1.0, passenger_status=1)
    box.send(0)
    box.send(1, car_status=0, car_direction=0, speed=0.0)
    box.beats(5, 15.5)
    box.send(15.5, car_status=1, car_direction=1, speed=0.4)
    assert box.findings == []


# -- item 8: reordering is not a lost floor count ----------------------------------------------------
def trip(box: Box) -> list[StatusMessage]:
    """An honest trip from floor 3 to 7, one message per change."""
    box.send(0)
    out = [box.message(1, car_status=1, car_direction=1, door_zone=2, speed=1.0)]
    out += [box.message(1 + 2 * n, car_position=3 + n) for n in range(1, 5)]
    out.append(box.message(10, car_status=0, car_direction=0, door_zone=1, speed=0.0))
    out.append(box.message(11, door_status=OPENING))
    out.append(box.message(12, door_status=OPEN))
    return out


def test_a_message_arriving_after_its_successor_is_no_position_loss() -> None:
    box = Box()
    messages = trip(box)
    messages[2], messages[3] = messages[3], messages[2]  # floor 5 arrives after floor 6
    for m in messages:
        box.judge(m)
    assert box.findings == []
    assert box.st.position == 7  # the late message did not roll the state back


def test_a_message_lost_in_transport_is_no_position_loss() -> None:
    box = Box()
    messages = trip(box)
    del messages[2]
    for m in messages:
        box.judge(m)
    assert box.findings == []


def test_a_real_jump_is_still_a_position_loss_even_across_a_gap() -> None:
    contiguous = Box()
    contiguous.send(0, car_status=1, car_direction=1, door_zone=2, speed=1.0)
    contiguous.send(2, car_position=4)
    contiguous.send(4, car_position=6)  # two floors in one message
    assert contiguous.raised() == [("floor_position_lost", "warning")]
    gap = Box()
    gap.send(0, car_status=1, car_direction=1, door_zone=2, speed=1.0)
    gap.send(2, car_position=4)
    gap.send(4, seq=gap.seq + 2, car_position=7)  # one message missing: at most one floor is explained
    assert gap.raised() == [("floor_position_lost", "warning")]


def test_a_drift_at_a_stand_is_still_a_position_loss() -> None:
    box = Box()
    box.send(0)
    box.send(4, car_position=4)  # standing, the count slips
    assert box.raised() == [("floor_position_lost", "warning")]


def test_a_redelivered_or_late_message_changes_nothing() -> None:
    box = Box()
    first = box.message(0, door_status=OPEN)
    box.judge(first)
    box.send(5, door_status=CLOSING)
    box.send(7, door_status=LOCKED)
    box.judge(first)  # late: doors open again would restart door timers
    assert box.st.door == LOCKED and "door_held_open" not in box.st.since
    assert next_deadline(box.st, box.th) is None


def test_a_late_alarm_press_is_still_a_trapped_alarm() -> None:
    box = Box(passenger_status=1)
    box.send(0)
    press = box.message(2, alarm_button=1)
    box.send(3, alarm_button=0, door_status=OPENING)
    box.judge(press)
    assert box.raised() == [("trapped", "rescue")]
    box.judge(press)  # redelivered once more: the same episode, nothing new
    assert box.raised() == [("trapped", "rescue")]


# -- issue 13: overspeed and overload ---------------------------------------------------------------
RUNNING = dict(car_status=1, car_direction=1, door_zone=2)


@pytest.mark.parametrize(
    ("rated", "speed", "raised"),
    [(1.75, 2.0125, False), (1.75, 2.013, True), (1.0, 1.15, False), (1.0, 1.151, True), (2.5, 2.875, False),
     (2.5, 2.9, True), (1.5, 1.5, False)],
)  # fmt: skip
def test_overspeed_above_rated_times_1_15_while_running(rated: float, speed: float, raised: bool) -> None:
    box = Box(Thresholds(top_floor=12, rated_speed_mps=rated), **RUNNING, speed=rated)
    box.send(0)
    box.send(1, speed=speed)
    assert box.raised() == ([("overspeed", "warning")] if raised else [])
    box.send(2, speed=rated)
    assert box.cleared() == (["overspeed"] if raised else [])


def test_overspeed_needs_a_rated_speed_and_a_running_car() -> None:
    unknown = Box(Thresholds(top_floor=12), **RUNNING, speed=1.0)
    unknown.send(0, speed=5.0)
    standing = Box(Thresholds(top_floor=12, rated_speed_mps=1.0), speed=0.0)
    standing.send(0, speed=3.0)  # a stopped car's reading is not a run
    assert unknown.findings == [] and standing.findings == []


def test_rated_speed_comes_from_the_register_or_the_toml(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "t.toml"
    path.write_text('[elevators."E1"]\nrated_speed_mps = 2.0\noverspeed_factor = 1.2\n', encoding="utf-8")
    book = load_thresholds(path)
    assert book.for_elevator("E2", 12, rated_speed_mps=1.75).rated_speed_mps == 1.75
    assert book.for_elevator("E2", 12).rated_speed_mps is None
    assert book.for_elevator("E1", 12, rated_speed_mps=1.75).rated_speed_mps == 2.0
    assert load_thresholds().for_elevator(None, 12).overspeed_factor == 1.15


@pytest.mark.parametrize(
    ("load", "doors", "raised"),
    [({"load_percent": 100.0}, LOCKED, False), ({"load_percent": 100.5}, LOCKED, True),
     ({"load_percent": 130.0}, OPEN, False), ({"load_status": 2}, LOCKED, True), ({"load_status": 1}, LOCKED, False),
     ({"load_status": 2}, OPEN, False), ({}, LOCKED, False)],
)  # fmt: skip
def test_overload_with_the_doors_locked(load: dict[str, Any], doors: int, raised: bool) -> None:
    """Over the rated load with the doors locked: the overload device failed (with the doors held open
    at the landing it is working)."""
    box = Box(door_status=OPEN, passenger_status=1)
    box.send(0)
    box.judge(StatusMessage("B1", at(2), 2, **{**box.status, "door_status": doors}, **load))
    assert box.raised() == ([("overload", "warning")] if raised else [])


def test_overload_while_running_and_clearing() -> None:
    box = Box(**RUNNING, speed=1.0, passenger_status=1)
    box.judge(StatusMessage("B1", at(0), 1, **box.status, load_percent=80.0))
    box.judge(StatusMessage("B1", at(1), 2, **box.status, load_percent=112.0))
    box.judge(StatusMessage("B1", at(2), 3, **box.status, load_percent=95.0))
    assert box.raised() == [("overload", "warning")] and box.cleared() == ["overload"]


def payload(**extra: Any) -> bytes:
    return orjson.dumps({"device_id": "B1", "ts": T0.isoformat(), "seq": 1, **LEVEL, **extra})


def test_the_load_fields_are_optional_and_validated() -> None:
    plain = parse_status(payload(), "B1")
    assert isinstance(plain, StatusMessage) and plain.load_percent is None and plain.load_status is None
    full = parse_status(payload(load_percent=101, load_status=2), "B1")
    assert isinstance(full, StatusMessage) and (full.load_percent, full.load_status) == (101.0, 2)
    nulls = parse_status(payload(load_percent=None, load_status=None), "B1")
    assert isinstance(nulls, StatusMessage) and nulls.load_percent is None
    bad = [({"load_percent": "90"}, Reason.WRONG_TYPE), ({"load_percent": True}, Reason.WRONG_TYPE),
           ({"load_percent": -1}, Reason.OUT_OF_RANGE), ({"load_percent": 301}, Reason.OUT_OF_RANGE),
           ({"load_status": 3}, Reason.OUT_OF_RANGE), ({"load_status": 1.0}, Reason.WRONG_TYPE)]  # fmt: skip
    for extra, reason in bad:
        refused = parse_status(payload(**extra), "B1")
        assert isinstance(refused, Rejection) and refused.reason is reason, extra


# -- the whole: traces written from the contract ----------------------------------------------------
def test_every_rule_on_contract_traces_reaches_the_design_bar() -> None:
    """Faults just past their limits and near misses just under, ended by the next message or left by a
    silent box, with reordered and redelivered messages: precision and recall >= 0.99 per type."""
    f = fleet(16, 1.5, seed=20261130)
    scores = score(f.expected, judge(f))
    assert {s.warning_type for s in scores.values() if s.expected} >= {
        "trapped", "abnormal_stop", "door_held_open", "door_open_outside_zone", "door_lock_fault",
        "door_open_close_fault", "floor_position_lost", "overspeed", "overload", "power_loss",
    }  # fmt: skip
    low = {s.warning_type: (s.precision, s.recall) for s in scores.values() if min(s.precision, s.recall) < 0.99}
    assert low == {}
