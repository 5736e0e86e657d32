"""The register's renewed dates: the next inspection one cycle on (month ends kept in range), a
maintenance visit counted from its Beijing day's start, and the service task's parameter checks."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from processes.register_dates import add_months, maintenance_visit, next_inspection_due
from processes.service_tasks import RenewRegister


def test_one_cycle_after_the_inspection() -> None:
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2028, 2, 29), 12) == date(2029, 2, 28)
    assert add_months(date(2026, 12, 2), 12) == date(2027, 12, 2)
    today = date(2026, 11, 23)
    assert next_inspection_due("2027-12-05", None, today, 12) == date(2027, 12, 5)  # the report's date wins
    assert next_inspection_due(None, "2026-11-20", today, 12) == date(2027, 11, 20)
    assert next_inspection_due(None, None, today, 24) == date(2028, 11, 23)


def test_a_visit_counts_from_its_beijing_day() -> None:
    assert maintenance_visit("2026-11-23") == datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
    at = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    assert maintenance_visit(at) == at
    with pytest.raises(ValueError):
        maintenance_visit(None)


def test_the_service_task_refuses_bad_parameters() -> None:
    task = RenewRegister()
    assert task.check({"what": "inspection", "cycle_months": 12, "next_due_date": None}) == {"renewed": "inspection"}
    for bad in (
        {"what": "elevator"},
        {"what": "inspection", "cycle_months": 0},
        {"what": "inspection", "cycle_months": 12, "next_due_date": "2027-13-01"},
        {"what": "maintenance", "maintained_on": "yesterday"},
    ):
        with pytest.raises(ValueError):
            task.check(bad)
    # Renewed elsewhere: the register already holds the date, nothing to check.
    assert task.check({"what": "maintenance", "renewed_elsewhere": True, "maintained_on": None})
