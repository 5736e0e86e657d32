"""检验到期: a periodic inspection falls due, or maintenance is overdue (15-day cycle)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from infra.settings import CITY_TZ
from processes.case_type import CaseType, StartContext, elevator_facts, subject_key

# Dates people write (a due date, a deadline) mean Beijing time.
KINDS = ("inspection", "maintenance")


def utc_iso(value: str | date | datetime | None) -> str | None:
    """An instant as an ISO string in UTC. A bare date means the end of that local day (the
    date is still valid, per 民法典 art. 203); a naive date-time means Beijing time."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        value = datetime.combine(value + timedelta(days=1), time(0), tzinfo=CITY_TZ)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=CITY_TZ)
    return value.astimezone(UTC).isoformat()


def expiry_variables(ctx: StartContext) -> dict[str, Any]:
    sla = ctx.sla["expiry"]
    kind = ctx.signal.get("kind", "inspection")
    if kind not in KINDS:
        raise ValueError(f"expiry signal kind must be one of {KINDS}, not {kind!r}")
    # Other special equipment has inspections only (its maintenance is not on the register); it is
    # read through the same fields as an elevator's.
    e: Any = ctx.elevator or ctx.equipment
    if ctx.elevator is None and ctx.equipment is not None and kind != "inspection":
        raise ValueError(f"a {ctx.equipment.equipment_class} has inspection expiries only, not {kind!r}")
    due = ctx.signal.get("due_date") or (e.next_inspection_due if e is not None else None)
    last = ctx.signal.get("last_maintenance_at") or (ctx.elevator.last_maintenance_at if ctx.elevator else None)
    variables: dict[str, Any] = {
        **elevator_facts(ctx),
        "kind": kind,
        "source": ctx.signal.get("source", "scan"),
        # Set by the process when the daily scan finds the register renewed without the case.
        "register_renewed": False,
        # Set by an inspection report's message: the report's dates are written by the case.
        "renewed_by_report": False,
        "ordered_by": ctx.signal.get("supervision_case"),  # the supervision warning that ordered it
        # The register's dates when the case opened: only a change from these is a renewal (a
        # regulator may open a case for an earlier date than the register's).
        "register_due_date": e.next_inspection_due.isoformat() if e is not None and e.next_inspection_due else None,
        "register_last_maintenance_at": ctx.elevator.last_maintenance_at.isoformat()
        if ctx.elevator is not None and ctx.elevator.last_maintenance_at
        else None,
    }
    if kind == "inspection":
        if due is None:
            raise ValueError("an inspection expiry needs due_date")
        first, second, last_warning = sla["warn_before"]
        return {
            **variables,
            "due_date": utc_iso(due),
            "warn_first_before": first,
            "warn_second_before": second,
            "warn_last_before": last_warning,
            "apply_before": sla["apply_before"],
            "city_after_expiry": sla["city_after_expiry"],
            # The inspection's report may give the next due date; without it, one cycle on.
            "next_due_date": None,
            "inspected_on": None,
            # The elevator's yearly cycle (sla.toml), or the equipment record's own (its class's, TSG).
            "inspection_cycle_months": int(
                ctx.equipment.inspection_cycle_months if ctx.equipment is not None else sla["inspection_cycle_months"]
            ),
        }
    if last is None:
        raise ValueError("a maintenance expiry needs last_maintenance_at")
    return {
        **variables,
        "last_maintenance_at": utc_iso(last),
        "maintenance_due_after": f"P{int(sla['maintenance_cycle_days'])}D",
        "maintenance_warn_after": f"P{int(sla['maintenance_warn_unit_day'])}D",
        "maintenance_escalate_after": f"P{int(sla['maintenance_escalate_day'])}D",
    }


@dataclass(frozen=True)
class ExpiryCaseType(CaseType):
    def correlation_key(
        self, elevator_id: int | None, signal: dict[str, Any], equipment_id: int | None = None
    ) -> str | None:
        """An inspection expiry and a maintenance expiry of one elevator are separate cases."""
        subject = subject_key(elevator_id, equipment_id)
        return f"{self.key}:{signal.get('kind', 'inspection')}:{subject}" if subject else None


EXPIRY = ExpiryCaseType(
    key="expiry",
    process_key="expiry",
    prefix="DQ",
    title="检验到期",
    variables=expiry_variables,
    milestones={
        "apply_inspection": "applied",
        "record_inspection": "inspected",
        "record_maintenance": "maintained",
    },
)
