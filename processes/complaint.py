"""投诉举报: a passenger's QR complaint, answered by the responsible unit within working days."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from infra.settings import CITY_TZ
from processes.case_type import CaseType, StartContext, elevator_facts


def is_working_day(day: date, holidays: Collection[date] = (), makeup_workdays: Collection[date] = ()) -> bool:
    if day in makeup_workdays:  # 调休: a Saturday or Sunday worked in exchange for a holiday
        return True
    return day.weekday() < 5 and day not in holidays


def working_days_deadline(
    reported_at: datetime,
    working_days: int,
    holidays: Collection[date] = (),
    makeup_workdays: Collection[date] = (),
) -> datetime:
    """The end of the n-th working day after the report's Beijing date, in UTC.

    The report day itself is not counted and a period ends at 24:00 of its last day
    (民法典 arts. 201, 203), so a Monday complaint with 5 working days is due by Monday next week, 24:00.
    """
    if reported_at.tzinfo is None:
        raise ValueError("reported_at must be timezone-aware")
    day = reported_at.astimezone(CITY_TZ).date()
    counted = 0
    while counted < working_days:
        day += timedelta(days=1)
        if is_working_day(day, holidays, makeup_workdays):
            counted += 1
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=CITY_TZ).astimezone(UTC)


def complaint_variables(ctx: StartContext) -> dict[str, Any]:
    sla = ctx.sla["complaint"]
    signal = ctx.signal
    answer_deadline = None
    ts = signal.get("ts") or signal.get("reported_at")
    if ts:
        when = ts if isinstance(ts, datetime) else datetime.fromisoformat(str(ts))
        if when.tzinfo is None:
            when = when.replace(tzinfo=CITY_TZ)
        answer_deadline = working_days_deadline(
            when,
            int(sla["answer_working_days"]),
            {date.fromisoformat(d) for d in sla.get("holidays", [])},
            {date.fromisoformat(d) for d in sla.get("makeup_workdays", [])},
        ).isoformat()
    return {
        **elevator_facts(ctx),
        "source": signal.get("source", "qr"),
        "category": str(signal.get("category") or "other"),
        "complaint_text": str(signal.get("text") or "")[:2000],
        "reporter_phone": signal.get("phone"),
        # None: the process falls back to reported_at + answer_fallback_within.
        "answer_deadline": answer_deadline,
        "answer_working_days": int(sla["answer_working_days"]),
        "answer_fallback_within": sla["answer_fallback_within"],
        "assign_within": sla["assign_within"],
        "reanswer_within": sla["reanswer_within"],
        "review_within": sla["review_within"],
    }


COMPLAINT = CaseType(
    key="complaint",
    process_key="complaint",
    prefix="TS",
    title="投诉举报",
    variables=complaint_variables,
    priority=lambda ctx: "P3",
    milestones={
        "assign_complaint": "assigned",
        "answer_by_maintenance": "answered",
        "answer_by_property": "answered",
        "review_answer": "reviewed",
    },
)
