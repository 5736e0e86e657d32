"""The TSG T5002 checklist (tsg_t5002.json, both languages): the items of each period and which
periods fall due on a visit."""

from __future__ import annotations

import json
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from processes.register_dates import add_months

DATA = Path(__file__).with_name("tsg_t5002.json")
# What a technician may record against an item.
RESULTS = ("ok", "adjusted", "replaced", "fault", "na")


@cache
def checklist() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    return data


def periods() -> list[dict[str, Any]]:
    return list(checklist()["periods"])


@cache
def item_codes() -> dict[str, str]:
    """item code -> its period key."""
    return {item["code"]: p["key"] for p in periods() for item in p["items"]}


def due_periods(last_done: dict[str, str], day: date, cycle_days: int) -> list[str]:
    """The periods whose items a visit on `day` must cover: the half-monthly ones always, a longer
    period's when it was never recorded or its interval ends before the next visit would be due."""
    due = []
    for period in periods():
        months = int(period["every_months"])
        last = last_done.get(period["key"])
        if months == 0 or last is None:
            due.append(period["key"])
        elif add_months(date.fromisoformat(last), months) <= day + timedelta(days=cycle_days):
            due.append(period["key"])
    return due


def check_results(results: dict[str, Any], due: list[str]) -> dict[str, list[str]]:
    """Field errors of a visit's results: every item of the due periods answered, known codes,
    known results; items of other periods may be recorded too (done early)."""
    errors: dict[str, list[str]] = {}
    codes = item_codes()
    for code, result in results.items():
        if code not in codes:
            errors.setdefault("results", []).append(f"{code}: not an item of the TSG T5002 checklist")
        elif result not in RESULTS:
            errors.setdefault("results", []).append(f"{code}: one of {', '.join(RESULTS)}")
    missing = [code for code, period in codes.items() if period in due and code not in results]
    if missing:
        errors.setdefault("results", []).append(f"items due and not answered: {', '.join(missing)}")
    return errors
