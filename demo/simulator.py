"""A device simulator: realistic GB/T 24476 status streams for N cars, faults injected at configured
rates, and the ground truth of every injected fault (for tests and `bench/detect.py`).

Each car runs trips (a passenger boards, doors close, the car travels floor by floor, stops in the
leveling zone, doors open, the passenger leaves) and repeats its status at least every 5 s. After a
trip, with probability `fault_rate`, one fault scenario plays out; its ground-truth line says what the
platform should judge and between which times.
"""

from __future__ import annotations

import heapq
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from connectors.mqtt.topics import topic
from demo.fault_scenarios import FaultScenarios
from infra.settings import CITY_TZ

HEARTBEAT_S = 5.0
FAULTS = (
    "power_loss",
    "power_loss_passenger",
    "overrun_top",
    "overrun_bottom",
    "car_door_closing_anomaly",
    "door_open_close_fault",
    "door_lock_fault",
    "floor_position_lost",
    "door_held_open",
    "repeated_door_cycles",
    "abnormal_stop",
    "abnormal_start",
    "door_open_outside_zone",
    "trapped",
    "trapped_alarm",
)


@dataclass
class Truth:
    device_id: str
    warning_type: str
    case_type: str
    start: datetime
    end: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "warning_type": self.warning_type,
            "case_type": self.case_type,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }


@dataclass
class Car(FaultScenarios):
    device_id: str
    floors: int
    t: datetime
    rng: random.Random
    seq: int = 0
    cycles: int = 0  # door open/close cycles since the car last travelled
    out: list[tuple[datetime, str, dict[str, Any]]] = field(default_factory=list)
    truth: list[Truth] = field(default_factory=list)
    s: dict[str, Any] = field(
        default_factory=lambda: {
            "service_mode": 1,
            "car_status": 0,
            "car_direction": 0,
            "car_position": 1,
            "door_zone": 1,
            "door_status": 1,
            "passenger_status": 2,
            "power_status": 1,
            "speed": 0.0,
            "alarm_button": 0,
            "up_limit": 0,
            "down_limit": 0,
        }
    )

    # -- the stream -----------------------------------------------------------------------------
    def _emit(self) -> None:
        self.seq += 1
        body = {"device_id": self.device_id, "ts": self.t.astimezone(CITY_TZ).isoformat(timespec="milliseconds"),
                "seq": self.seq, **self.s}  # fmt: skip
        self.out.append((self.t, "status", body))

    def set(self, **changes: Any) -> None:
        if changes.get("door_status") == 1 and self.s["door_status"] != 1 and self.s["car_status"] == 0:
            self.cycles += 1
        if changes.get("car_status") == 1:
            self.cycles = 0
        self.s.update(changes)
        self._emit()

    def wait(self, seconds: float) -> None:
        """Time passes; the box repeats its status every 5 s meanwhile."""
        end = self.t + timedelta(seconds=seconds)
        while (end - self.t).total_seconds() > HEARTBEAT_S:
            self.t += timedelta(seconds=HEARTBEAT_S)
            self._emit()
        self.t = end

    def record(self, warning_type: str, start: datetime, case_type: str = "warning") -> None:
        self.truth.append(Truth(self.device_id, warning_type, case_type, start, self.t))

    # -- normal service -------------------------------------------------------------------------
    def open_doors(self) -> None:
        self.set(door_status=3)
        self.wait(1.5)
        self.set(door_status=0)
        self.wait(1.0)

    def close_doors(self) -> None:
        self.set(door_status=2)
        self.wait(2.0)
        self.set(door_status=1)
        self.wait(0.8)

    def destination(self, minimum: int = 1) -> int:
        here = self.s["car_position"]
        choices = [f for f in range(1, self.floors + 1) if abs(f - here) >= minimum]
        return self.rng.choice(choices)

    def travel(self, dest: int, *, stop_midway: str | None = None) -> None:
        here = self.s["car_position"]
        step = 1 if dest > here else -1
        self.set(car_status=1, car_direction=1 if step > 0 else 2, door_zone=2, speed=1.0)
        floors = list(range(here + step, dest + step, step))
        for i, floor in enumerate(floors):
            self.wait(2.0)
            if stop_midway and i == len(floors) // 2:
                getattr(self, f"_midway_{stop_midway}")()
            self.set(car_position=floor)
        self.wait(1.0)
        self.set(car_status=0, car_direction=0, door_zone=1, speed=0.0)
        self.wait(0.4)

    def trip(self, *, passenger: bool, dest: int | None = None, stop_midway: str | None = None) -> None:
        if passenger:
            self.open_doors()
            self.set(passenger_status=1)
            self.wait(self.rng.uniform(1.5, 4))
            self.close_doors()
        self.travel(dest or self.destination(), stop_midway=stop_midway)
        self.open_doors()
        if self.s["passenger_status"] == 1:
            self.set(passenger_status=2)
        self.near_misses()
        self.close_doors()
        self.wait(self.rng.uniform(3, 40))

    def near_misses(self) -> None:
        """Normal service that comes close to a rule without breaking it (precision is judged here)."""
        roll = self.rng.random()
        if roll < 0.15:  # a hand in the door: it turns back once or twice
            for _ in range(self.rng.randint(1, 2)):
                self.wait(self.rng.uniform(1, 3))
                self.set(door_status=2)
                self.wait(0.8)
                self.set(door_status=3)
                self.wait(1.0)
                self.set(door_status=0)
        elif roll < 0.20:  # loading furniture: doors held, but under a minute
            self.wait(self.rng.uniform(20, 50))
        elif roll < 0.25:  # a hall call at the same floor: one more cycle without travel
            self.wait(2)
            self.close_doors()
            self.wait(self.rng.uniform(3, 20))
            self.open_doors()
        self.wait(self.rng.uniform(2, 5))

    # -- faults ---------------------------------------------------------------------------------
    def fault(self, name: str) -> None:
        if self.cycles >= 2 and name != "repeated_door_cycles":
            # Reposition first, so the fault's own door cycles do not add up to "repeated cycles".
            self.travel(self.destination())
        getattr(self, f"_fault_{name}")()


def car_stream(
    device_id: str,
    floors: int,
    start: datetime,
    seconds: float,
    rng: random.Random,
    fault_rate: float = 0.05,
    faults: tuple[str, ...] = FAULTS,
) -> Car:
    car = Car(device_id, max(floors, 4), start, rng)
    car.s["car_position"] = rng.randint(1, car.floors)
    car.wait(rng.uniform(0, HEARTBEAT_S))
    car._emit()
    end = start + timedelta(seconds=seconds)
    while car.t < end:
        car.trip(passenger=rng.random() < 0.7)
        if faults and rng.random() < fault_rate:
            car.fault(rng.choice(faults))
    return car


@dataclass
class CityStream:
    messages: list[tuple[datetime, str, bytes]]  # time order
    truth: list[Truth]


def city_stream(
    devices: list[tuple[str, int]],
    start: datetime,
    seconds: float,
    *,
    seed: int = 1,
    fault_rate: float = 0.05,
    faults: tuple[str, ...] = FAULTS,
    cut: bool = False,
) -> CityStream:
    """Every car's stream merged in time order, as (ts, topic, payload). A car finishes the trip or
    fault it is in when the time is up; with `cut`, the stream stops sharp at `seconds` instead and
    the ground truth keeps only the faults that played out in full."""
    rng = random.Random(seed)
    cars = [car_stream(d, f, start, seconds, random.Random(rng.random()), fault_rate, faults) for d, f in devices]
    merged = heapq.merge(*[c.out for c in cars], key=lambda item: item[0])
    end = start + timedelta(seconds=seconds)
    messages = [
        (t, topic(body["device_id"], kind), json.dumps(body).encode())
        for t, kind, body in merged
        if not cut or t <= end
    ]
    return CityStream(messages, [t for c in cars for t in c.truth if not cut or t.end <= end])


def blackout(devices: list[str], at: datetime, passengers: set[str], total: int) -> Iterator[tuple[str, bytes]]:
    """A city-wide power cut: every box reports power_status 2, some with someone in the car; boxes
    repeat their status (heartbeat) until `total` messages are out."""
    n = 0
    repeat = 0
    while n < total:
        for i, device_id in enumerate(devices):
            if n >= total:
                return
            body = {
                "device_id": device_id,
                "ts": (at + timedelta(seconds=5 * repeat)).astimezone(CITY_TZ).isoformat(timespec="milliseconds"),
                "seq": 1000 + repeat,
                "service_mode": 1,
                "car_status": 0,
                "car_direction": 0,
                "car_position": 1 + i % 6,
                "door_zone": 1,
                "door_status": 1,
                "passenger_status": 1 if device_id in passengers else 2,
                "power_status": 2,
                "speed": 0.0,
                "alarm_button": 0,
                "up_limit": 0,
                "down_limit": 0,
            }
            yield topic(device_id, "status"), json.dumps(body).encode()
            n += 1
        repeat += 1
