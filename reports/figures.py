"""The figures of the periodic rescue report, computed from plain records (no database, no rendering).

Durations are minutes from the case's opening to the first time a milestone task was completed:
response = the work order accepted, arrival = on site, rescue = people released. Percentiles use
linear interpolation between the closest ranks (numpy's default), so p50 is the median.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import pairwise

from infra.settings import CITY_TZ

METRICS = ("response", "arrival", "rescue")
# Histogram buckets in minutes (the last is open-ended).
BUCKETS = (0, 5, 10, 15, 20, 30, 45, 60, 90)


@dataclass(frozen=True)
class CaseFacts:
    """What the figures need of one case."""

    id: int
    number: str
    case_type: str
    status: str
    district_code: str | None
    maintenance_unit_id: int | None
    opened_at: datetime
    closed_at: datetime | None
    close_reason: str | None
    escalation_level: int
    milestones: Mapping[str, datetime]  # BPMN task id -> first completion


def percentile(values: Sequence[float], p: float) -> float | None:
    """Linear interpolation between closest ranks; None for no values."""
    if not values:
        return None
    xs = sorted(values)
    h = (len(xs) - 1) * p
    lo = math.floor(h)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (h - lo) * (xs[hi] - xs[lo])


@dataclass(frozen=True)
class Distribution:
    n: int
    p50: float | None
    p90: float | None
    mean: float | None
    max: float | None
    buckets: list[tuple[str, int]]

    @classmethod
    def of(cls, minutes: Sequence[float]) -> Distribution:
        counts = [0] * len(BUCKETS)
        for m in minutes:
            i = max(i for i, lower in enumerate(BUCKETS) if m >= lower) if m >= 0 else 0
            counts[i] += 1
        labels = [f"{lo}-{hi}" for lo, hi in pairwise(BUCKETS)] + [f"≥{BUCKETS[-1]}"]
        return cls(
            n=len(minutes),
            p50=percentile(minutes, 0.5),
            p90=percentile(minutes, 0.9),
            mean=sum(minutes) / len(minutes) if minutes else None,
            max=max(minutes) if minutes else None,
            buckets=list(zip(labels, counts, strict=True)),
        )


@dataclass(frozen=True)
class GroupRow:
    """One line of the district table or the maintenance-unit ranking."""

    key: str | int | None
    name: str
    rescues: int
    arrival_p50: float | None
    arrival_p90: float | None
    arrived: int
    within_target: int
    escalated: int
    warnings: int
    elevators: int = 0

    @property
    def arrival_rate(self) -> float | None:
        return self.within_target / self.arrived if self.arrived else None

    @property
    def rescues_per_100(self) -> float | None:
        return 100 * self.rescues / self.elevators if self.elevators else None


@dataclass(frozen=True)
class RescueFigures:
    start: date  # local dates, end exclusive
    end: date
    total: int
    by_type: list[tuple[str, str, int, int]]  # (type, title, opened, still open)
    rescues: int
    times: dict[str, Distribution]
    arrival_target_minutes: int
    arrived: int
    arrived_within_target: int
    escalation_levels: dict[int, int]  # rescue cases by the highest level reached
    escalated_by_type: list[tuple[str, str, int]]
    districts: list[GroupRow]
    ranking: list[GroupRow]
    daily: list[tuple[date, int]]  # rescues opened per local day
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def arrival_rate(self) -> float | None:
        return self.arrived_within_target / self.arrived if self.arrived else None


def minutes_between(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else (end - start).total_seconds() / 60


def local_day(at: datetime) -> date:
    return at.astimezone(CITY_TZ).date()


def _group_rows(
    rescues: Iterable[CaseFacts],
    warnings: Iterable[CaseFacts],
    key: str,
    names: Mapping[object, str],
    arrival_step: str,
    target: float,
    elevators: Mapping[object, int] | None = None,
) -> list[GroupRow]:
    arrivals: dict[object, list[float]] = defaultdict(list)
    count: Counter[object] = Counter()
    escalated: Counter[object] = Counter()
    for c in rescues:
        k = getattr(c, key)
        count[k] += 1
        escalated[k] += c.escalation_level > 1
        m = minutes_between(c.opened_at, c.milestones.get(arrival_step))
        if m is not None:
            arrivals[k].append(m)
    warned: Counter[object] = Counter(getattr(c, key) for c in warnings)
    keys = set(count) | set(warned)
    return [
        GroupRow(
            key=k,  # type: ignore[arg-type]
            name=names.get(k, str(k) if k is not None else "—"),
            rescues=count[k],
            arrival_p50=percentile(arrivals[k], 0.5),
            arrival_p90=percentile(arrivals[k], 0.9),
            arrived=len(arrivals[k]),
            within_target=sum(m <= target for m in arrivals[k]),
            escalated=escalated[k],
            warnings=warned[k],
            elevators=(elevators or {}).get(k, 0),
        )
        for k in keys
    ]


def rank_units(rows: list[GroupRow]) -> list[GroupRow]:
    """Best first: highest on-time arrival rate, then fastest median arrival, then fewest escalations.
    Units without a rescue that had an arrival rank after those with one, by fewest warnings."""

    def order(r: GroupRow) -> tuple[object, ...]:
        rate = r.arrival_rate
        return (
            rate is None,
            -(rate or 0.0),
            r.arrival_p50 if r.arrival_p50 is not None else math.inf,
            r.escalated,
            r.warnings,
            r.name,
        )

    return sorted(rows, key=order)


def _opened_in(cases: Sequence[CaseFacts], start: date, end: date) -> list[CaseFacts]:
    """The cases opened in [start, end), local dates."""
    lo = datetime.combine(start, datetime.min.time(), tzinfo=CITY_TZ)
    hi = datetime.combine(end, datetime.min.time(), tzinfo=CITY_TZ)
    return [c for c in cases if lo <= c.opened_at < hi]


def _minutes_to(rescues: Iterable[CaseFacts], step: str) -> list[float]:
    """Minutes from opening to the step's first completion, for the cases that reached it."""
    return [m for c in rescues if (m := minutes_between(c.opened_at, c.milestones.get(step))) is not None]


def _daily(rescues: Iterable[CaseFacts], start: date, end: date) -> list[tuple[date, int]]:
    """Rescues opened on each local day of [start, end), days without one included."""
    per_day = Counter(local_day(c.opened_at) for c in rescues)
    return [(d, per_day[d]) for d in (start + timedelta(days=i) for i in range((end - start).days))]


def rescue_figures(
    cases: Sequence[CaseFacts],
    *,
    start: date,
    end: date,
    steps: Mapping[str, str],
    titles: Mapping[str, str],
    district_names: Mapping[str, str] | None = None,
    unit_names: Mapping[int, str] | None = None,
    unit_elevators: Mapping[int, int] | None = None,
    arrival_target_minutes: int = 30,
) -> RescueFigures:
    """Figures over the cases opened in [start, end) (local dates). `steps` maps each metric
    (response, arrival, rescue) to the BPMN task id whose completion marks it."""
    period = _opened_in(cases, start, end)
    opened = Counter(c.case_type for c in period)
    still_open = Counter(c.case_type for c in period if c.status == "open")
    escalated = Counter(c.case_type for c in period if c.escalation_level > 1)
    types = list(titles) + sorted(set(opened) - set(titles))
    rescues = [c for c in period if c.case_type == "rescue"]
    warnings = [c for c in period if c.case_type == "warning"]
    arrivals = _minutes_to(rescues, steps["arrival"])
    target, arrival_step = arrival_target_minutes, steps["arrival"]
    districts = _group_rows(rescues, warnings, "district_code", district_names or {}, arrival_step, target)
    units = _group_rows(
        rescues, warnings, "maintenance_unit_id", unit_names or {}, arrival_step, target, unit_elevators
    )
    return RescueFigures(
        start=start,
        end=end,
        total=len(period),
        by_type=[(t, titles.get(t, t), opened[t], still_open[t]) for t in types],
        rescues=len(rescues),
        times={metric: Distribution.of(_minutes_to(rescues, steps[metric])) for metric in METRICS},
        arrival_target_minutes=arrival_target_minutes,
        arrived=len(arrivals),
        arrived_within_target=sum(m <= arrival_target_minutes for m in arrivals),
        escalation_levels=dict(sorted(Counter(c.escalation_level for c in rescues).items())),
        escalated_by_type=[(t, titles.get(t, t), escalated[t]) for t in types],
        districts=sorted(districts, key=lambda r: str(r.key)),
        ranking=rank_units(units),
        daily=_daily(rescues, start, end),
    )
