"""Physical lift traces written from the telemetry contract (DESIGN, issue 11 and 13), independent of
demo/simulator.py: a car and its box, and the findings the contract expects (scored by trace_scoring).

A `Box` is one car with its IoT box. It moves through time; every change of what it reports is one
status message (`set`), and it repeats its status at least every 5 s while nothing changes (`wait`). An
episode plays one situation (a normal trip, a fault just past its limit, a near miss just under it, a
box that goes silent mid-fault, a position loss, overspeed, overload) and records what the contract
says the platform must raise, and from when (`Expected.due`). `fleet` then applies transport to the
streams: latency, a share of messages delayed past their successors (reordering), QoS 1 redeliveries.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

T0 = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
HEARTBEAT_S = 5.0
FLOOR_M = 3.0
# The contract's values (DESIGN's telemetry contract).
OPEN, LOCKED, CLOSING, OPENING = 0, 1, 2, 3
IN_ZONE, OUT_OF_ZONE = 1, 2
INSIDE, EMPTY = 1, 2
POWER_ON, POWER_CUT = 1, 2
# The contract's limits (DESIGN's warning catalogue, issue 13), in seconds or factors.
LIMITS = {
    "trapped": 30.0,
    "abnormal_stop": 15.0,
    "door_held_open": 60.0,
    "door_open_outside_zone": 2.0,
    "door_open_close_fault": 10.0,
    "door_lock_fault": 10.0,
}
OVERSPEED_FACTOR = 1.15
RATED_LOAD_PERCENT = 100.0
RATED_SPEEDS = (1.0, 1.5, 1.75, 2.0, 2.5)


@dataclass(frozen=True)
class Expected:
    device_id: str
    warning_type: str
    case_type: str
    due: datetime


@dataclass(frozen=True)
class Sent:
    device_id: str
    seq: int
    sent: datetime
    arrival: datetime
    payload: bytes


@dataclass
class Box:
    """One car and its IoT box. Times are seconds after T0, kept at millisecond precision."""

    device_id: str
    floors: int
    rated_speed: float
    rng: random.Random
    load: str | None = None  # None (no sensor), "percent" or "status"
    t: float = 0.0
    seq: int = 0
    last_sent: float = 0.0
    status: dict[str, Any] = field(default_factory=dict)
    load_value: float = 0.0
    sent: list[tuple[int, float, dict[str, Any]]] = field(default_factory=list)
    expected: list[Expected] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.status = dict(service_mode=1, car_status=0, car_direction=0, car_position=1, door_zone=IN_ZONE,
                           door_status=LOCKED, passenger_status=EMPTY, power_status=POWER_ON, speed=0.0,
                           alarm_button=0, up_limit=0, down_limit=0)  # fmt: skip
        self.set()

    # -- the box --------------------------------------------------------------------------------
    def set(self, **changes: Any) -> None:
        """The reported status changes now: one message."""
        self.status.update(changes)
        self.seq += 1
        self.last_sent = self.t
        body = {"device_id": self.device_id, "ts": "", "seq": self.seq, **self.status}
        if self.load == "percent":
            body["load_percent"] = round(self.load_value, 1)
        elif self.load == "status":
            body["load_status"] = 2 if self.load_value > RATED_LOAD_PERCENT else 1 if self.load_value >= 90 else 0
        self.sent.append((self.seq, self.t, body))

    def wait(self, seconds: float, silent: bool = False) -> None:
        """Nothing changes for `seconds`; the box repeats its status every 4-5 s unless `silent`."""
        end = round(self.t + seconds, 3)
        while not silent:
            beat = round(self.last_sent + self.rng.uniform(4.0, HEARTBEAT_S), 3)
            if beat >= end:
                break
            self.t = beat
            self.set()
        self.t = end

    def expect(self, warning_type: str, due: float, case_type: str = "warning") -> None:
        self.expected.append(Expected(self.device_id, warning_type, case_type, T0 + timedelta(seconds=due)))

    # -- the car --------------------------------------------------------------------------------
    @property
    def floor(self) -> int:
        return int(self.status["car_position"])

    def open_doors(self, opening_s: float = 1.2) -> None:
        self.set(door_status=OPENING)
        self.wait(opening_s)
        self.set(door_status=OPEN)

    def close_doors(self, closing_s: float = 2.0) -> None:
        self.set(door_status=CLOSING)
        self.wait(closing_s)
        self.set(door_status=LOCKED)

    def board(self, load: float | None = None) -> None:
        self.load_value = load if load is not None else self.rng.uniform(8, 85)
        self.set(passenger_status=INSIDE)

    def alight(self) -> None:
        self.load_value = 0.0
        self.set(passenger_status=EMPTY)

    def floor_time(self) -> float:
        return round(FLOOR_M / self.rated_speed, 3)

    def start(self, direction: int) -> None:
        self.set(car_status=1, car_direction=direction, door_zone=OUT_OF_ZONE, speed=round(self.rated_speed * 0.6, 2))

    def travel(self, dest: int, on_floor: Callable[[Box, int], None] | None = None, settle: bool = True) -> None:
        """Floor by floor to `dest` (one message per floor), stopping level in the zone. `settle`: a
        moment passes before the car starts (not when an episode timed the stop itself)."""
        if dest == self.floor:
            return
        step = 1 if dest > self.floor else -1
        if settle:
            self.wait(self.rng.uniform(0.3, 1.0))
        self.start(1 if step > 0 else 2)
        while self.floor != dest:
            self.wait(self.floor_time())
            nxt = self.floor + step
            self.set(car_position=nxt, speed=self.rated_speed if nxt != dest else round(self.rated_speed * 0.4, 2))
            if on_floor is not None:
                on_floor(self, nxt)
        self.wait(0.8)
        self.set(car_status=0, car_direction=0, door_zone=IN_ZONE, speed=0.0)

    def trip_to_midway(self, dest: int) -> None:
        """The car starts towards `dest` and stops out of the zone after one floor, doors locked."""
        self.wait(self.rng.uniform(1.0, 5.0))
        step = 1 if dest > self.floor else -1
        self.start(1 if step > 0 else 2)
        self.wait(self.floor_time())
        self.set(car_position=self.floor + step)
        self.wait(self.rng.uniform(0.3, 1.0))
        self.set(car_status=0, car_direction=0, speed=0.0)  # still out of the zone

    def other_floor(self, at_least: int = 1) -> int:
        choices = [f for f in range(1, self.floors + 1) if abs(f - self.floor) >= at_least]
        return self.rng.choice(choices)

    def trip(self, dest: int | None = None, open_s: float | None = None, load: float | None = None) -> None:
        """A passenger calls the car, rides to `dest` and leaves; the doors stay open `open_s`."""
        self.open_doors()
        self.wait(self.rng.uniform(0.5, 2.0))
        self.board(load)
        self.wait(open_s if open_s is not None else self.rng.uniform(1.0, 8.0))
        self.close_doors()
        self.travel(dest if dest is not None else self.other_floor())
        self.open_doors()
        self.wait(self.rng.uniform(0.5, 2.0))
        self.alight()
        self.wait(self.rng.uniform(1.0, 6.0))
        self.close_doors()


# -- episodes: (box, hit) -> plays it; `hit` chooses the fault just past its limit or the near miss --------
def past(rng: random.Random, limit: float) -> float:
    """A duration just past a limit (mostly within one heartbeat, so the ending message must tell)."""
    return round(limit + rng.choice((rng.uniform(0.2, 4.8), rng.uniform(0.2, 20.0))), 3)


def under(rng: random.Random, limit: float) -> float:
    return round(limit - rng.uniform(0.3, min(3.0, limit / 3)), 3)


def ep_door_held_open(b: Box, hit: bool) -> None:
    held = past(b.rng, LIMITS["door_held_open"]) if hit else under(b.rng, LIMITS["door_held_open"])
    b.open_doors()
    onset = b.t
    b.wait(held)
    if hit:
        b.expect("door_held_open", onset + LIMITS["door_held_open"])
    b.close_doors()


def ep_door_open_outside_zone(b: Box, hit: bool) -> None:
    """The car stops between floors (briefly: no abnormal stop) and its doors open there."""
    limit = LIMITS["door_open_outside_zone"]
    dest = b.other_floor(2)
    b.trip_to_midway(dest)
    b.wait(b.rng.uniform(1.0, 6.0))
    b.set(door_status=OPENING)
    onset = b.t
    opened = past(b.rng, limit) if hit else under(b.rng, limit)
    b.wait(min(1.0, opened / 2))
    b.set(door_status=OPEN)
    b.wait(round(onset + opened - b.t, 3))
    if hit:
        b.expect("door_open_outside_zone", onset + limit)
    b.close_doors()
    b.travel(dest)


def ep_abnormal_stop(b: Box, hit: bool, passenger: bool = False) -> None:
    """Stopped between floors with the doors locked, empty or with a passenger, then moves on."""
    dest = b.other_floor(2)
    if passenger:
        b.open_doors()
        b.board()
        b.wait(2.0)
        b.close_doors()
    b.trip_to_midway(dest)
    onset = b.t
    if passenger:  # 15 s and 30 s: just past the one, under the other, or past both
        choices = (past(b.rng, 15.0), under(b.rng, 30.0), past(b.rng, 30.0))
        stopped = b.rng.choice(choices) if hit else under(b.rng, 15.0)
    else:
        stopped = past(b.rng, 15.0) if hit else under(b.rng, 15.0)
    b.wait(stopped)
    if stopped >= 15.0:
        b.expect("abnormal_stop", onset + 15.0)
    if passenger and stopped >= 30.0:
        b.expect("trapped", onset + 30.0, "rescue")
    b.travel(dest, settle=False)
    if passenger:
        b.open_doors()
        b.alight()
        b.wait(2.0)
        b.close_doors()


def ep_abnormal_stop_passenger(b: Box, hit: bool) -> None:
    ep_abnormal_stop(b, hit, passenger=True)


def ep_trapped_at_landing(b: Box, hit: bool) -> None:
    """Arrived level at a floor, the doors do not open, a passenger inside."""
    limit = LIMITS["trapped"]
    b.open_doors()
    b.board()
    b.wait(2.0)
    b.close_doors()
    b.travel(b.other_floor())
    onset = b.t
    b.wait(past(b.rng, limit) if hit else under(b.rng, limit))
    if hit:
        b.expect("trapped", onset + limit, "rescue")
    b.open_doors()
    b.alight()
    b.wait(2.0)
    b.close_doors()


def ep_trapped_alarm(b: Box, hit: bool) -> None:
    """A passenger presses the alarm button (hit), or rides normally (miss)."""
    if not hit:
        b.trip()
        return
    b.open_doors()
    b.board()
    b.wait(2.0)
    b.close_doors()
    b.travel(b.other_floor())
    b.wait(b.rng.uniform(1.0, 4.0))
    b.set(alarm_button=1)
    b.expect("trapped", b.t, "rescue")
    b.wait(b.rng.uniform(1.0, 3.0))
    b.set(alarm_button=0)
    b.open_doors()
    b.alight()
    b.wait(2.0)
    b.close_doors()


def _door_timeout(b: Box, hit: bool, moving: int, wtype: str) -> None:
    limit = LIMITS[wtype]
    if moving == CLOSING:
        b.open_doors()
        b.wait(2.0)
    b.set(door_status=moving)
    onset = b.t
    b.wait(past(b.rng, limit) if hit else under(b.rng, limit))
    if hit:
        b.expect(wtype, onset + limit)
    b.set(door_status=LOCKED if moving == CLOSING else OPEN)
    if moving == OPENING:
        b.wait(2.0)
        b.close_doors()


def ep_door_lock_fault(b: Box, hit: bool) -> None:
    _door_timeout(b, hit, CLOSING, "door_lock_fault")


def ep_door_open_close_fault(b: Box, hit: bool) -> None:
    _door_timeout(b, hit, OPENING, "door_open_close_fault")


def ep_silent(b: Box, hit: bool) -> None:
    """The box loses power mid-trip with a passenger, the car stopped between floors: it says nothing
    more until power returns (60-300 s). Its last state holds: abnormal stop at 15 s, trapped at 30 s.
    The near miss: the box goes silent with the car idle at a landing, empty, doors locked."""
    if not hit:
        b.wait(b.rng.uniform(60, 300), silent=True)
        b.set()
        return
    dest = b.other_floor(2)
    b.open_doors()
    b.board()
    b.wait(2.0)
    b.close_doors()
    b.trip_to_midway(dest)
    onset = b.t
    b.expect("abnormal_stop", onset + 15.0)
    b.expect("trapped", onset + 30.0, "rescue")
    b.wait(b.rng.uniform(0.5, 12.0))  # a heartbeat or two, or none
    b.wait(b.rng.uniform(60, 300), silent=True)
    b.set()  # power is back: still stopped between floors
    b.wait(3.0)
    b.travel(dest)
    b.open_doors()
    b.alight()
    b.wait(2.0)
    b.close_doors()


def ep_position_drift(b: Box, hit: bool) -> None:
    """Standing at a landing, the box's floor count slips by one (hit), then re-syncs; the car later
    travels and opens at a landing. The miss: an honest trip (reordering may still touch it)."""
    if not hit:
        b.trip()
        return
    b.wait(b.rng.uniform(2.0, 6.0))
    slip = 1 if b.floor < b.floors else -1
    b.set(car_position=b.floor + slip)
    b.expect("floor_position_lost", b.t)
    b.wait(b.rng.uniform(3.0, 9.0))
    b.set(car_position=b.floor - slip)
    b.trip()


def ep_position_jump(b: Box, hit: bool) -> None:
    """Running, the box's floor count skips floors (two or three at once)."""
    if not hit or b.floors < 6:
        b.trip()
        return
    dest = b.floors if b.floor <= b.floors // 2 else 1
    jumped = {"done": False}

    def skip(box: Box, floor: int) -> None:
        if jumped["done"] or abs(dest - floor) < 4:
            return
        jumped["done"] = True
        step = 1 if dest > floor else -1
        box.wait(box.floor_time())
        box.set(car_position=floor + step * box.rng.choice((2, 3)))
        box.expect("floor_position_lost", box.t)

    b.open_doors()
    b.board()
    b.wait(2.0)
    b.close_doors()
    b.travel(dest, skip)
    b.open_doors()
    b.alight()
    b.wait(2.0)
    b.close_doors()


def ep_overspeed(b: Box, hit: bool) -> None:
    """Running, the speed climbs over rated x 1.15 (hit) or to exactly 1.15x or a little under (miss)."""
    dest = b.floors if b.floor <= b.floors // 2 else 1
    if abs(dest - b.floor) < 2:
        b.trip()
        return
    limit = b.rated_speed * OVERSPEED_FACTOR
    done = {"done": False}

    def speed_up(box: Box, floor: int) -> None:
        if done["done"]:
            return
        done["done"] = True
        box.wait(0.5)
        if hit:
            speed = round(limit * box.rng.uniform(1.005, 1.2), 4)
            box.expect("overspeed", box.t)
        else:
            speed = round(limit, 4) if box.rng.random() < 0.5 else round(limit * box.rng.uniform(0.95, 0.995), 4)
        box.set(speed=speed)
        box.wait(0.8)
        box.set(speed=box.rated_speed)

    b.open_doors()
    b.board()
    b.wait(2.0)
    b.close_doors()
    b.travel(dest, speed_up)
    b.open_doors()
    b.alight()
    b.wait(2.0)
    b.close_doors()


def ep_overload(b: Box, hit: bool) -> None:
    """Too many people board. The working protection keeps the doors open and buzzes until someone
    leaves (no fault); the failed one lets the doors lock and the car run (hit). The near miss also
    rides at exactly the rated load."""
    if b.load is None:
        b.trip()
        return
    b.open_doors()
    b.wait(1.0)
    over = b.rng.uniform(101, 130) if b.load == "percent" else b.rng.uniform(110, 130)
    b.board(over)
    b.wait(b.rng.uniform(3.0, 10.0))
    if hit:
        b.close_doors()
        b.expect("overload", b.t)
    else:
        b.load_value = RATED_LOAD_PERCENT if b.load == "percent" else b.rng.uniform(80, 99)
        b.set()  # someone stepped out
        b.wait(1.0)
        b.close_doors()
    b.travel(b.other_floor())
    b.open_doors()
    b.alight()
    b.wait(2.0)
    b.close_doors()


def ep_power_loss(b: Box, hit: bool) -> None:
    """The box reports mains power cut (on its battery), empty at a landing or with a passenger."""
    if not hit:
        b.trip()
        return
    passenger = b.rng.random() < 0.5
    if passenger:
        b.open_doors()
        b.board()
        b.wait(2.0)
        b.close_doors()
    b.set(power_status=POWER_CUT)
    b.expect("power_loss", b.t, "rescue" if passenger else "warning")
    b.wait(b.rng.uniform(20, 120))
    b.set(power_status=POWER_ON)
    if passenger:
        b.open_doors()
        b.alight()
        b.wait(2.0)
        b.close_doors()


EPISODES: dict[str, Callable[[Box, bool], None]] = {
    "door_held_open": ep_door_held_open,
    "door_open_outside_zone": ep_door_open_outside_zone,
    "abnormal_stop": ep_abnormal_stop,
    "abnormal_stop_passenger": ep_abnormal_stop_passenger,
    "trapped_at_landing": ep_trapped_at_landing,
    "trapped_alarm": ep_trapped_alarm,
    "door_lock_fault": ep_door_lock_fault,
    "door_open_close_fault": ep_door_open_close_fault,
    "silent_box": ep_silent,
    "position_drift": ep_position_drift,
    "position_jump": ep_position_jump,
    "overspeed": ep_overspeed,
    "overload": ep_overload,
    "power_loss": ep_power_loss,
}


@dataclass
class Fleet:
    boxes: list[Box]
    messages: list[Sent]  # in arrival order
    expected: list[Expected]


def fleet(
    cars: int, hours: float, seed: int = 11, fault_rate: float = 0.5, reorder: float = 0.03, redeliver: float = 0.01
) -> Fleet:
    """`cars` boxes for `hours`: normal trips, and after each trip with probability `fault_rate` an
    episode (fault or near miss, half each). Then transport: latency 20-300 ms, a `reorder` share of
    messages delayed 0.3-1.5 s (arriving after their successors), a `redeliver` share sent twice."""
    rng = random.Random(seed)
    boxes = []
    for n in range(cars):
        load = rng.choice((None, "percent", "status"))
        b = Box(f"TR-{n:04d}", rng.randint(6, 30), rng.choice(RATED_SPEEDS), random.Random(rng.random()), load)
        while b.t < hours * 3600:
            b.wait(b.rng.uniform(5, 60))
            b.trip()
            if b.rng.random() < fault_rate:
                EPISODES[b.rng.choice(sorted(EPISODES))](b, b.rng.random() < 0.5)
        boxes.append(b)
    messages = list(_transport(boxes, rng, reorder, redeliver))
    messages.sort(key=lambda s: s.arrival)
    return Fleet(boxes, messages, [e for b in boxes for e in b.expected])


def _transport(boxes: list[Box], rng: random.Random, reorder: float, redeliver: float) -> Iterator[Sent]:
    for b in boxes:
        for seq, t, body in b.sent:
            sent = T0 + timedelta(seconds=t)
            payload = orjson.dumps({**body, "ts": sent.isoformat(timespec="milliseconds")})
            delay = rng.uniform(0.02, 0.3) + (rng.uniform(0.3, 1.5) if rng.random() < reorder else 0.0)
            yield Sent(b.device_id, seq, sent, sent + timedelta(seconds=delay), payload)
            if rng.random() < redeliver:
                yield Sent(b.device_id, seq, sent, sent + timedelta(seconds=delay + rng.uniform(0.5, 5)), payload)
