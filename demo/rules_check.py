"""Scoring the rules against the simulator's ground truth: precision and recall per warning type.

A raised finding matches a ground-truth fault of the same device and type whose time window
(onset .. end, plus a little slack for the 5 s heartbeat) contains the finding's time."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from connectors.mqtt.topics import split
from demo.simulator import CityStream, Truth
from detectors.rules.findings import Change, Finding
from detectors.rules.machine import DeviceState, judge_status
from detectors.rules.messages import Rejection, parse_status
from detectors.rules.thresholds import Thresholds

SLACK = timedelta(seconds=6)
EARLY = timedelta(milliseconds=1)  # stream times are sent at millisecond precision


@dataclass
class Score:
    warning_type: str
    truth: int
    found: int
    matched_truth: int
    matched_found: int

    @property
    def precision(self) -> float:
        return self.matched_found / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.matched_truth / self.truth if self.truth else 1.0


def run_rules(stream: CityStream, thresholds: dict[str, Thresholds]) -> list[Finding]:
    states: dict[str, DeviceState] = {}
    findings: list[Finding] = []
    for _, name, payload in stream.messages:
        device_id, _kind = split(name) or ("", "")
        m = parse_status(payload, device_id)
        if isinstance(m, Rejection):
            raise ValueError(f"the simulator produced a rejected message: {m}")
        st = states.get(device_id) or states.setdefault(device_id, DeviceState(device_id))
        findings.extend(judge_status(st, m, thresholds[device_id]))
    return findings


def score(truth: list[Truth], findings: list[Finding]) -> dict[str, Score]:
    raised = [f for f in findings if f.change is Change.RAISED]
    by_key: dict[tuple[str, str], list[Truth]] = defaultdict(list)
    for t in truth:
        by_key[(t.device_id, t.warning_type)].append(t)
    types = sorted({t.warning_type for t in truth} | {f.warning_type.value for f in raised})
    scores = {w: Score(w, 0, 0, 0, 0) for w in types}
    matched: set[int] = set()
    for f in raised:
        s = scores[f.warning_type.value]
        s.found += 1
        at = datetime.fromisoformat(f.ts)
        window = by_key[(f.device_id, f.warning_type.value)]
        hit = next(
            (t for t in window if t.start - EARLY <= at <= t.end + SLACK and t.case_type == f.case_type), None
        )
        if hit is not None:
            s.matched_found += 1
            matched.add(id(hit))
    for t in truth:
        s = scores[t.warning_type]
        s.truth += 1
        s.matched_truth += id(t) in matched
    return scores
