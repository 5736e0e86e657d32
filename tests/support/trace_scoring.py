"""Scoring the rules on contract traces (tests/support/lift_traces.py), the ingest played.

`judge` plays the ingest: the gate (connectors/mqtt/gate.check_status) drops duplicates (and, unless
told otherwise, late messages), the rules judge the rest, and, when the rules offer it, a clock judges
deadlines for boxes that said nothing since (`next_deadline`/`judge_deadlines`, after a grace for
messages in transit). `score` matches each raised finding to an expected one of the same device, type
and case type that was due no later than the finding was made and at most `SLACK_S` before it (boxes
repeat every 5 s; transport adds a little): a finding raised too late (e.g. when a silent box comes
back) is a miss and a false alarm.
"""

from __future__ import annotations

import heapq
import inspect
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from connectors.mqtt.gate import DeviceView, check_status
from detectors.rules import machine
from detectors.rules.findings import Change, Finding
from detectors.rules.machine import DeviceState, judge_status
from detectors.rules.messages import Reason, Rejection, parse_status
from detectors.rules.thresholds import IngestLimits, Thresholds, load_thresholds
from tests.support.lift_traces import Box, Expected, Fleet

SLACK_S = 6.5  # the 5 s heartbeat, transport latency and the deadline clock's grace
DEADLINE_GRACE_S = 2.0  # the judge waits this long past a deadline for a message in transit


@dataclass(frozen=True)
class Made:
    finding: Finding
    at: datetime  # when the platform made it (a message's arrival, or the clock's tick)


def thresholds_for(b: Box) -> Thresholds:
    book = load_thresholds()
    if "rated_speed_mps" in inspect.signature(book.for_elevator).parameters:
        return book.for_elevator(None, b.floors, rated_speed_mps=b.rated_speed)
    return book.for_elevator(None, b.floors)


def judge(f: Fleet, deadlines: bool = True, late_to_rules: bool = True) -> list[Made]:
    """Play the ingest over the fleet's messages in arrival order. `late_to_rules`: a message the gate
    refuses as old (reordered) still goes to the rules, which judge what it alone proves (the hook
    proposed to the ingest); otherwise it is dropped, as the gate does today."""
    next_deadline = getattr(machine, "next_deadline", None)
    judge_deadlines = getattr(machine, "judge_deadlines", None)
    clocked = deadlines and next_deadline is not None and judge_deadlines is not None
    views = {b.device_id: DeviceView(b.device_id, None, thresholds_for(b), DeviceState(b.device_id)) for b in f.boxes}
    limits = IngestLimits()
    made: list[Made] = []
    timers: list[tuple[datetime, str]] = []

    def tick(until: datetime) -> None:
        while timers and timers[0][0] <= until:
            when, device_id = heapq.heappop(timers)
            view = views[device_id]
            due = next_deadline(view.state, view.thresholds)  # type: ignore[misc]
            if due is not None and due + timedelta(seconds=DEADLINE_GRACE_S) <= when:
                made.extend(Made(x, when) for x in judge_deadlines(view.state, when, view.thresholds))  # type: ignore[misc]
                arm(device_id)

    def arm(device_id: str) -> None:
        view = views[device_id]
        due = next_deadline(view.state, view.thresholds)  # type: ignore[misc]
        if due is not None:
            heapq.heappush(timers, (due + timedelta(seconds=DEADLINE_GRACE_S), device_id))

    for s in f.messages:
        if clocked:
            tick(s.arrival)
        m = parse_status(s.payload, s.device_id)
        if isinstance(m, Rejection):
            raise ValueError(f"the generator wrote a message the contract refuses: {m}")
        view = views[s.device_id]
        refused = check_status(view, m, s.arrival, limits)
        if refused is not None and not (late_to_rules and refused.reason is Reason.OLD_SEQ):
            continue  # a duplicate, or a late message the rules are not given
        made.extend(Made(x, s.arrival) for x in judge_status(view.state, m, view.thresholds))
        if clocked:
            arm(s.device_id)
    if clocked:
        tick(max(s.arrival for s in f.messages) + timedelta(hours=1))
    return made


@dataclass
class Score:
    warning_type: str
    expected: int = 0
    raised: int = 0
    hits: int = 0

    @property
    def precision(self) -> float:
        return self.hits / self.raised if self.raised else 1.0

    @property
    def recall(self) -> float:
        return self.hits / self.expected if self.expected else 1.0


def score(expected: list[Expected], made: list[Made]) -> dict[str, Score]:
    """Each raised finding matches at most one expected fault (same device, type and case type) that
    was due by the time it was made, no more than SLACK_S before."""
    open_: dict[tuple[str, str, str], list[Expected]] = defaultdict(list)
    for e in expected:
        open_[(e.device_id, e.warning_type, e.case_type)].append(e)
    scores: dict[str, Score] = {}
    for e in expected:
        scores.setdefault(e.warning_type, Score(e.warning_type)).expected += 1
    slack = timedelta(seconds=SLACK_S)
    for m in made:
        if m.finding.change is not Change.RAISED:
            continue
        f = m.finding
        s = scores.setdefault(f.warning_type.value, Score(f.warning_type.value))
        s.raised += 1
        candidates = open_[(f.device_id, f.warning_type.value, f.case_type)]
        hit = next((e for e in candidates if e.due - timedelta(milliseconds=2) <= m.at <= e.due + slack), None)
        if hit is not None:
            candidates.remove(hit)
            s.hits += 1
    return dict(sorted(scores.items()))
