"""When to judge a box that has gone quiet mid-fault: a deadline per box, judged on a clock.

A timed rule (trapped at 30 s, doors held open at 60 s, ...) normally raises on the message that
shows the condition past its limit. A box that falls silent (a power cut with a passenger) sends no
such message, so each box's next deadline (`detectors.rules.machine.next_deadline`, from the onset
times its state keeps, also after a restart) waits in a heap, and each round the boxes whose
deadline has passed are judged (`judge_deadlines`).

"Passed" is measured on the clock of the box's lane (its partition; one lane when embedded): the
newest message time read in the lane, running on with the wall clock while nothing newer arrives,
never ahead of the wall clock, held still while this process's link to the broker is down or its
writes fail (the messages that would end the condition may be queued on the way). A backlog being read (after an outage,
a burst) therefore never makes a box look silent: only the lane's own time decides, and `grace_s`
leaves room for messages still in transit. A box past its deadline is judged only once it has stayed
past it for `settle_s` of wall time with no message changing its deadline: several relays append to a
partition in batches, so its next message may still be on its way while other boxes' newer ones are
read (in a replayed burst, 50 ms of wall time can be many seconds of the boxes' time).
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from detectors.rules.machine import DeviceState, next_deadline
from detectors.rules.thresholds import Thresholds


@dataclass
class _Lane:
    newest: datetime | None = None  # the newest message time read in the lane
    anchored: float = field(default_factory=time.monotonic)  # when `newest` last moved (or was held)
    heap: list[tuple[datetime, str]] = field(default_factory=list)

    def now(self, wall: datetime, mono: float) -> datetime | None:
        if self.newest is None:
            return None
        return min(wall, self.newest + timedelta(seconds=mono - self.anchored))


class DeadlineBook:
    def __init__(self, grace_s: float = 2.0, lane_of: Callable[[str], int] = lambda _d: 0,
                 settle_s: float = 1.0) -> None:  # fmt: skip
        self.grace = timedelta(seconds=grace_s)
        self.settle_s = settle_s
        self.noticed: dict[str, float] = {}  # device -> when it was first seen past its deadline
        self.lane_of = lane_of
        self.lanes: dict[int, _Lane] = {}
        self.due: dict[str, datetime] = {}  # device -> its current deadline (heap entries may be stale)

    def _lane(self, device_id: str) -> _Lane:
        n = self.lane_of(device_id)
        lane = self.lanes.get(n)
        if lane is None:
            lane = self.lanes[n] = _Lane()
        return lane

    def observe(self, device_id: str, ts: datetime) -> None:
        """A message of this box was read: its lane's clock is at least its time."""
        lane = self._lane(device_id)
        if lane.newest is None or ts > lane.newest:
            lane.newest = ts
            lane.anchored = time.monotonic()

    def schedule(self, device_id: str, state: DeviceState, thresholds: Thresholds) -> None:
        due = next_deadline(state, thresholds)
        if due == self.due.get(device_id):
            return
        self.noticed.pop(device_id, None)
        if due is None:
            self.due.pop(device_id, None)
            return
        self.due[device_id] = due
        heapq.heappush(self._lane(device_id).heap, (due, device_id))

    def restored(self, device_id: str, state: DeviceState, thresholds: Thresholds) -> None:
        """A box whose state was read from the database: its deadline, and its lane's clock at least at
        the last time known of it (its last message or the onsets it is timing)."""
        self.due.pop(device_id, None)
        self.noticed.pop(device_id, None)
        known = [t for t in (state.last_ts, *map(datetime.fromisoformat, state.since.values())) if t is not None]
        if known:
            self.observe(device_id, max(known))
        self.schedule(device_id, state, thresholds)

    def hold(self) -> None:
        """The link to the broker is down: no lane's time runs on."""
        mono = time.monotonic()
        for lane in self.lanes.values():
            lane.anchored = mono

    def passed(self, lanes: set[int] | None = None, skip: set[str] | frozenset[str] = frozenset()) -> Iterator[
        tuple[str, datetime]
    ]:  # fmt: skip
        """(device, judge time) for every box whose deadline has passed on its lane's clock."""
        wall, mono = datetime.now(UTC), time.monotonic()
        for n, lane in self.lanes.items():
            if lanes is not None and n not in lanes:
                continue
            now = lane.now(wall, mono)
            if now is None:
                continue
            judge_at = now - self.grace
            waiting = []
            while lane.heap and lane.heap[0][0] <= judge_at:
                due, device_id = heapq.heappop(lane.heap)
                if self.due.get(device_id) != due:
                    continue  # superseded by a newer deadline
                first = self.noticed.setdefault(device_id, mono)
                if device_id in skip or mono - first < self.settle_s:  # its next message may be close
                    waiting.append((due, device_id))
                    continue
                del self.due[device_id]
                self.noticed.pop(device_id, None)
                yield device_id, judge_at
            for item in waiting:
                heapq.heappush(lane.heap, item)

    def forget_lane(self, n: int) -> None:
        lane = self.lanes.pop(n, None)
        if lane is not None:
            for _, device_id in lane.heap:
                self.due.pop(device_id, None)
                self.noticed.pop(device_id, None)
