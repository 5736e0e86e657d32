"""ISO 8601 durations as BPMN timers, `dueIn` and the scripts' date helpers read them, bounded.

The arithmetic is SpiffWorkflow's (TimerEventDefinition): a month is the length of the month it
covers, counted from the start (or back from the end). SpiffWorkflow counts those months one by
one, so `P99999999999M` from a script or a timer held a worker for hours; here a duration longer
than MAX_MONTHS months (or its days and weeks likewise) is refused before anything is counted.
This module imports nothing of SpiffWorkflow, so the sandbox's child processes start quickly.
"""

from __future__ import annotations

from calendar import monthrange
from datetime import datetime, timedelta

MAX_MONTHS = 1200  # a hundred years: no deadline of this system is further away
_MAX_DAYS = MAX_MONTHS * 31
_DESIGNATORS = ("years", "months", "weeks", "days", "t", "hours", "minutes", "seconds")
_DATE_PARTS, _TIME_PARTS = ("years", "months", "days"), ("hours", "minutes", "seconds")
_DAYS_PER = {"years": 366, "months": 31, "weeks": 7, "days": 1, "hours": 1 / 24, "minutes": 1 / 1440}


class DurationError(ValueError):
    """Not an ISO 8601 duration this system accepts."""


def parse_duration(expression: str) -> dict[str, float]:
    """`P1Y2M3DT4H5M6S` -> {"years": 1, ...}; the parts SpiffWorkflow's parser accepts."""
    if len(expression) > 64:
        raise DurationError(f"duration {expression[:20]!r}... is too long")
    parsed: dict[str, float] = {}
    expr_t, current = False, expression.lower().strip("p").replace(",", ".")
    for designator in _DESIGNATORS:
        value = current.split(designator[0], 1)
        if len(value) == 2:
            amount, remainder = value
            if amount.isdigit():
                parsed[designator] = int(amount)
            elif amount.replace(".", "").isdigit() and not remainder:
                parsed[designator] = float(amount)
            if designator in parsed or designator == "t":
                current = remainder
            if designator == "t":
                expr_t = True
    has_time = any(d in _TIME_PARTS for d in parsed)
    if current or has_time != expr_t or ("weeks" in parsed and any(d in _DATE_PARTS for d in parsed)):
        raise DurationError(f"{expression!r} is not an ISO 8601 duration")
    span = sum(parsed.get(d, 0) * per for d, per in _DAYS_PER.items()) + parsed.get("seconds", 0) / 86400
    months = parsed.get("months", 0) + parsed.get("years", 0) * 12
    if months > MAX_MONTHS or span > _DAYS_PER["months"] * MAX_MONTHS:
        raise DurationError(f"duration {expression!r} is longer than {MAX_MONTHS // 12} years")
    return parsed


def _month_days(parsed: dict[str, float]) -> tuple[float, float, dict[str, float]]:
    rest = dict(parsed)
    months = rest.pop("months", 0) + rest.pop("years", 0) * 12
    days = rest.pop("days", 0)
    if months > MAX_MONTHS or days > _MAX_DAYS:  # parse_duration refused these already; a dict may come from elsewhere
        raise DurationError(f"duration longer than {MAX_MONTHS // 12} years")
    return months, days, rest


def after(start: datetime, parsed: dict[str, float]) -> timedelta:
    """The length of `parsed` counted forward from `start`."""
    months, days, rest = _month_days(parsed)
    for idx in range(int(months)):
        days += monthrange(start.year + (start.month + idx - 1) // 12, (start.month + idx) % 12 or 12)[1]
    year = start.year + (start.month + int(months) - 1) // 12
    days += (months - int(months)) * monthrange(year, (start.month + int(months)) % 12 or 12)[1]
    return timedelta(days=days, **rest)


def before(end: datetime, parsed: dict[str, float]) -> timedelta:
    """The length of `parsed` counted back from `end`."""
    months, days, rest = _month_days(parsed)
    for idx in range(1, int(months) + 1):
        days += monthrange(end.year - (1 + (idx - end.month) // 12), (end.month - idx) % 12 or 12)[1]
    year = end.year - (1 + (int(months) - end.month) // 12)
    days += (months - int(months)) * monthrange(year, (end.month - int(months)) % 12 or 12)[1]
    return timedelta(days=days, **rest)
