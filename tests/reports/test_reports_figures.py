"""The pure figures: period bounds on Beijing dates, percentiles, buckets, the ranking order."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from reports.figures import CaseFacts, Distribution, percentile, rescue_figures

STEPS = {"response": "verify_dispatch", "arrival": "report_arrival", "rescue": "report_release"}


def rescue(i: int, opened: datetime, arrival: float | None, unit: int, level: int = 1, district: str = "511702"):  # type: ignore[no-untyped-def]
    milestones = {"verify_dispatch": opened + timedelta(minutes=1)}
    if arrival is not None:
        milestones["report_arrival"] = opened + timedelta(minutes=arrival)
        milestones["report_release"] = opened + timedelta(minutes=arrival + 10)
    return CaseFacts(i, f"JY-{i}", "rescue", "closed", district, unit, opened, None, None, level, milestones)


def test_period_is_beijing_dates_and_figures_add_up() -> None:
    first = datetime(2026, 9, 30, 16, 0, tzinfo=UTC)  # 2026-10-01 00:00 Beijing: inside
    before = datetime(2026, 9, 30, 15, 59, tzinfo=UTC)  # 23:59 on 30 September: outside
    last = datetime(2026, 10, 31, 15, 59, tzinfo=UTC)  # 23:59 on 31 October: inside
    after = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)  # 1 November: outside
    cases = [
        rescue(1, first, 12.0, unit=1),
        rescue(2, before, 5.0, unit=1),
        rescue(3, last, 45.0, unit=2, level=3),
        rescue(4, after, 5.0, unit=2),
        rescue(5, first + timedelta(days=3), 30.0, unit=2, level=2),
        rescue(6, first + timedelta(days=4), None, unit=1),  # false alarm: no arrival
        CaseFacts(7, "YJ-7", "warning", "open", "511703", 2, first, None, None, 1, {}),
    ]
    f = rescue_figures(
        cases,
        start=date(2026, 10, 1),
        end=date(2026, 11, 1),
        steps=STEPS,
        titles={"rescue": "困人救援", "warning": "故障预警"},
        unit_names={1: "甲", 2: "乙"},
        unit_elevators={1: 50, 2: 200},
    )
    assert f.total == 5 and f.rescues == 4
    assert f.by_type == [("rescue", "困人救援", 4, 0), ("warning", "故障预警", 1, 1)]
    assert f.times["arrival"].n == 3 and f.times["arrival"].p50 == 30.0
    assert f.times["arrival"].p90 == 30.0 + 0.8 * 15.0  # between 30 and 45 at 80 % of the way
    assert (f.arrived_within_target, f.arrived) == (2, 3)  # exactly 30 minutes counts as in time
    assert f.escalation_levels == {1: 2, 2: 1, 3: 1}
    assert [d for d, n in f.daily if n] == [date(2026, 10, 1), date(2026, 10, 4), date(2026, 10, 5), date(2026, 10, 31)]
    assert len(f.daily) == 31
    # 甲: one arrival at 12 min (100 %); 乙: 45 and 30 (50 %): 甲 ranks first.
    assert [(r.name, r.rescues, r.within_target, r.arrived) for r in f.ranking] == [("甲", 2, 1, 1), ("乙", 2, 1, 2)]
    assert f.ranking[0].rescues_per_100 == 4.0 and f.ranking[1].warnings == 1
    assert [(r.key, r.rescues, r.warnings) for r in f.districts] == [("511702", 4, 0), ("511703", 0, 1)]


def test_percentile_and_buckets() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([1, 2, 3, 4], 0.5) == 2.5
    assert percentile([10, 0, 20, 30, 40], 0.9) == 36.0
    d = Distribution.of([0, 4.99, 5, 29.9, 30, 95])
    assert dict(d.buckets) == {
        "0-5": 2, "5-10": 1, "10-15": 0, "15-20": 0, "20-30": 1, "30-45": 1, "45-60": 0, "60-90": 0, "≥90": 1,
    }  # fmt: skip
    assert d.max == 95 and d.n == 6
