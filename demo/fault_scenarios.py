"""The simulator's fault scenarios: each plays one fault out on a car and records its ground truth
(what the platform should judge, and between which times). Mixed into `simulator.Car`, whose stream
primitives (`set`, `wait`, `record`, `open_doors`, `travel`, `trip`, ...) they use."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any


class FaultScenarios:
    # Provided by simulator.Car:
    s: dict[str, Any]
    floors: int
    rng: random.Random
    t: datetime

    def set(self, **changes: Any) -> None: ...
    def wait(self, seconds: float) -> None: ...
    def record(self, warning_type: str, start: datetime, case_type: str = "warning") -> None: ...
    def open_doors(self) -> None: ...
    def close_doors(self) -> None: ...
    def destination(self, minimum: int = 1) -> int: ...
    def travel(self, dest: int, *, stop_midway: str | None = None) -> None: ...
    def trip(self, *, passenger: bool, dest: int | None = None, stop_midway: str | None = None) -> None: ...

    def _fault_power_loss(self, passenger: bool = False) -> None:
        if passenger:
            self.open_doors()
            self.set(passenger_status=1)
            self.wait(2)
            self.close_doors()
        start = self.t
        self.set(power_status=2)
        self.wait(self.rng.uniform(20, 60))
        self.set(power_status=1)
        self.record("power_loss", start, "rescue" if passenger else "warning")
        self.wait(0.5)
        self.open_doors()
        self.set(passenger_status=2)
        self.wait(2)
        self.close_doors()

    def _fault_power_loss_passenger(self) -> None:
        self._fault_power_loss(passenger=True)

    def _overrun(self, top: bool) -> None:
        end_floor = self.floors if top else 1
        if self.s["car_position"] == end_floor:
            self.trip(passenger=False, dest=self.destination(2))
        here = self.s["car_position"]
        step = 1 if top else -1
        self.set(car_status=1, car_direction=1 if top else 2, door_zone=2, speed=1.0)
        for floor in range(here + step, end_floor + step, step):
            self.wait(2.0)
            self.set(car_position=floor)
        self.wait(1.5)
        start = self.t
        beyond = {"up_limit": 1} if top else {"down_limit": 1}
        self.set(car_position=end_floor + step, car_status=0, car_direction=0, speed=0.0, **beyond)
        self.wait(self.rng.uniform(4, 10))
        self.set(service_mode=2)  # maintenance brings it back on inspection
        self.wait(4)
        self.set(car_status=1, car_direction=2 if top else 1, speed=0.3)
        self.wait(3)
        self.set(car_position=end_floor, up_limit=0, down_limit=0)
        self.record("overrun_top" if top else "overrun_bottom", start)
        self.wait(1)
        self.set(car_status=0, car_direction=0, door_zone=1, speed=0.0)
        self.wait(3)
        self.set(service_mode=1)
        self.wait(2)

    def _fault_overrun_top(self) -> None:
        self._overrun(True)

    def _fault_overrun_bottom(self) -> None:
        self._overrun(False)

    def _fault_car_door_closing_anomaly(self) -> None:
        start = self.t
        self.open_doors()
        for _ in range(self.rng.randint(3, 5)):
            self.set(door_status=2)
            self.wait(1)
            self.set(door_status=3)
            self.wait(1)
            self.set(door_status=0)
            self.wait(2)
        self.set(door_status=2)
        self.wait(2)
        self.set(door_status=1)
        self.record("car_door_closing_anomaly", start)
        self.wait(2)

    def _fault_door_open_close_fault(self) -> None:
        start = self.t
        self.set(door_status=3)
        self.wait(self.rng.uniform(14, 30))
        self.set(door_status=0)
        self.record("door_open_close_fault", start)
        self.wait(2)
        self.close_doors()

    def _fault_door_lock_fault(self) -> None:
        self.open_doors()
        start = self.t
        self.set(door_status=2)
        self.wait(self.rng.uniform(14, 30))
        self.set(door_status=1)
        self.record("door_lock_fault", start)
        self.wait(2)

    def _fault_floor_position_lost(self) -> None:
        start = self.t
        self.set(car_position=self.destination(2))
        self.wait(self.rng.uniform(3, 10))
        self.trip(passenger=False)  # re-levels at the next landing and opens normally
        self.record("floor_position_lost", start)

    def _fault_door_held_open(self) -> None:
        self.set(door_status=3)
        self.wait(1.5)
        start = self.t
        self.set(door_status=0)
        self.wait(self.rng.uniform(70, 180))
        self.set(door_status=2)
        self.record("door_held_open", start)
        self.wait(2)
        self.set(door_status=1)
        self.wait(1)

    def _fault_repeated_door_cycles(self) -> None:
        start = self.t
        for _ in range(self.rng.randint(6, 8)):
            self.open_doors()
            self.wait(1)
            self.close_doors()
        self.trip(passenger=False, dest=self.destination(1))
        self.record("repeated_door_cycles", start)

    def _midway_abnormal_stop(self) -> None:
        start = self.t
        self.set(car_status=0, speed=0.0)
        self.wait(self.rng.uniform(20, 45))
        self.set(car_status=1, speed=1.0)
        self.record("abnormal_stop", start)
        self.wait(2.0)

    def _fault_abnormal_stop(self) -> None:
        self.trip(passenger=False, dest=self.destination(2), stop_midway="abnormal_stop")

    def _fault_abnormal_start(self) -> None:
        self.open_doors()
        start = self.t
        self.set(car_status=1, car_direction=1, speed=0.2)
        self.wait(1)
        self.set(car_status=0, car_direction=0, speed=0.0)
        self.record("abnormal_start", start)
        self.wait(2)
        self.close_doors()

    def _midway_door_open_outside_zone(self) -> None:
        self.set(car_status=0, speed=0.0)
        self.wait(3)
        start = self.t
        self.set(door_status=3)
        self.wait(1)
        self.set(door_status=0)
        self.wait(self.rng.uniform(5, 12))
        self.set(door_status=2)
        self.record("door_open_outside_zone", start)
        self.wait(2)
        self.set(door_status=1)
        self.wait(1)
        self.set(car_status=1, speed=1.0)
        self.wait(2.0)

    def _fault_door_open_outside_zone(self) -> None:
        self.trip(passenger=False, dest=self.destination(2), stop_midway="door_open_outside_zone")

    def _midway_trapped(self) -> None:
        start = self.t
        self.set(car_status=0, speed=0.0)
        self.wait(self.rng.uniform(45, 150))
        self.set(car_status=1, speed=1.0)
        self.record("trapped", start, "rescue")
        self.record("abnormal_stop", start)  # out of the zone > 15 s: raised with a passenger too (issue 11)
        self.wait(2.0)

    def _midway_trapped_alarm(self) -> None:
        start = self.t
        self.set(car_status=0, speed=0.0)
        self.wait(self.rng.uniform(5, 12))
        self.set(alarm_button=1)
        self.wait(2)
        self.set(alarm_button=0)
        self.wait(self.rng.uniform(20, 60))
        self.set(car_status=1, speed=1.0)
        self.record("trapped", start, "rescue")
        self.record("abnormal_stop", start)
        self.wait(2.0)

    def _fault_trapped(self) -> None:
        self.trip(passenger=True, dest=self.destination(2), stop_midway="trapped")

    def _fault_trapped_alarm(self) -> None:
        self.trip(passenger=True, dest=self.destination(2), stop_midway="trapped_alarm")
