"""Per-milestone SLA results of one case: when it was due, when it happened, met or missed.

The deadlines come from the case's own start variables (the SLA file's values frozen at start),
so a report shows the targets the case actually ran under, not today's configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

# case type -> [(BPMN task id, label, how the deadline is found)]. A deadline is either
# ("after", variable holding an ISO duration from the case's opening), ("at", variable holding an
# ISO instant, with an optional fallback duration variable), or None (no target).
SLA_STEPS: dict[str, list[tuple[str, str, tuple[str, ...] | None]]] = {
    "rescue": [
        ("verify_dispatch", "核实派单", ("after", "verify_within")),
        ("accept_order", "维保接单", ("after", "accept_within")),
        ("report_arrival", "到达现场", ("after", "arrival_within")),
        ("report_release", "解救完成", ("after", "unresolved_after")),
        ("report_cause", "原因上报", None),
        ("return_visit", "回访结案", None),
    ],
    "warning": [
        ("accept_order", "接单", ("after", "accept_within")),
        ("report_onsite", "到场", ("after", "onsite_within")),
        ("report_fix", "处置完成", ("after", "fix_within")),
        ("verify_fix", "确认", None),
    ],
    "rectification": [
        ("rectify", "提交整改证据", ("at", "deadline", "default_deadline")),
        ("review_evidence", "监管审核", None),
        ("reinspect", "复检", None),
    ],
    "expiry": [
        ("apply_inspection", "申请检验", None),
        ("record_inspection", "完成检验", ("at", "due_date")),
        ("record_maintenance", "完成维保", ("at_plus", "last_maintenance_at", "maintenance_due_after")),
    ],
    "complaint": [
        ("assign_complaint", "分派", ("after", "assign_within")),
        ("answer_by_maintenance", "维保单位答复", ("at", "answer_deadline", "answer_fallback_within")),
        ("answer_by_property", "使用单位答复", ("at", "answer_deadline", "answer_fallback_within")),
        ("review_answer", "审核", None),
    ],
}

STATUS_LABELS = {
    "met": "按时",
    "missed": "超时",
    "overdue": "已逾期",
    "pending": "进行中",
    "done": "已完成",
    "skipped": "未经过",
    "none": "—",
}


@dataclass(frozen=True)
class SlaResult:
    step: str
    label: str
    due_at: datetime | None
    done_at: datetime | None
    status: str  # met | missed | overdue | pending | done | skipped | none

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def minutes(self) -> float | None:
        """How far from the deadline: negative = early, positive = late."""
        end = self.done_at
        if self.due_at is None or end is None:
            return None
        return (end - self.due_at).total_seconds() / 60


def plus_duration(start: datetime, duration: str) -> datetime:
    parsed = TimerEventDefinition.parse_iso_duration(duration)
    return start + TimerEventDefinition.get_timedelta_from_start(parsed, start)


def _instant(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def deadline(rule: tuple[str, ...] | None, opened_at: datetime, variables: Mapping[str, Any]) -> datetime | None:
    if rule is None:
        return None
    try:
        match rule:
            case ("after", var):
                return plus_duration(opened_at, variables[var]) if variables.get(var) else None
            case ("at", var):
                return _instant(variables.get(var))
            case ("at", var, fallback):
                found = _instant(variables.get(var))
                if found is None and variables.get(fallback):
                    return plus_duration(opened_at, variables[fallback])
                return found
            case ("at_plus", var, duration):
                base = _instant(variables.get(var))
                return plus_duration(base, variables[duration]) if base and variables.get(duration) else None
    except (KeyError, ValueError, TypeError):
        return None  # a malformed variable must not stop a report; the row then shows no target
    return None


def sla_results(
    case_type: str,
    opened_at: datetime,
    variables: Mapping[str, Any],
    milestones: Mapping[str, str | datetime],
    now: datetime,
    closed_at: datetime | None = None,
) -> list[SlaResult]:
    """One row per milestone of the case type. A closed case that never reached a step (a false
    alarm never gets an arrival) shows it as skipped, not overdue."""
    rows = []
    for step, label, rule in SLA_STEPS.get(case_type, []):
        raw = milestones.get(step)
        done = raw if isinstance(raw, datetime) else _instant(raw)
        due = deadline(rule, opened_at, variables)
        if done is None and closed_at is not None:
            status = "skipped"
        elif due is None:
            status = "done" if done else "none"
        elif done is not None:
            status = "met" if done <= due else "missed"
        else:
            status = "overdue" if now > due else "pending"
        rows.append(SlaResult(step, label, due, done, status))
    return rows
