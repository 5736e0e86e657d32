"""监督预警: a sliding-window rule over cases found a pattern a regulator should look at (complaints
clustering on one elevator or estate, repeated rescues, a maintenance unit arriving late, repeated
inspection nonconformities). The district regulator reviews it within working days and orders an
inspection or a rectification (a linked case) or dismisses it with a reason. The rules and what
opens these cases: processes/supervision_rules.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from processes.case_type import CaseType, StartContext, elevator_facts
from processes.complaint import working_days_deadline
from processes.labels import SIGNALS, label

KEY = "supervision"
# The rules (processes/supervision_rules.py); their words are in processes/labels.py (SIGNALS).
RULES = (
    "complaints_per_elevator",
    "complaints_per_estate",
    "rescues_per_elevator",
    "late_arrivals",
    "repeated_nonconformities",
)


def supervision_variables(ctx: StartContext) -> dict[str, Any]:
    sla, signal = ctx.sla[KEY], ctx.signal
    holidays = {date.fromisoformat(d) for d in ctx.sla["complaint"].get("holidays", [])}
    makeup = {date.fromisoformat(d) for d in ctx.sla["complaint"].get("makeup_workdays", [])}
    found_at = datetime.fromisoformat(str(signal["found_at"]))
    rule = str(signal["rule"])
    return {
        **elevator_facts(ctx),
        "source": signal.get("source", "rules"),
        "rule": rule,
        "rule_label": label(SIGNALS, rule),
        "subject": signal.get("subject"),
        "subject_name": signal.get("subject_name"),
        "observed": signal.get("observed"),
        "limit": signal.get("limit"),
        "window_days": signal.get("window_days"),
        "evidence": list(signal.get("evidence") or []),
        "review_deadline": working_days_deadline(
            found_at, int(sla["review_working_days"]), holidays, makeup
        ).isoformat(),
        "inspection_within": sla["inspection_within"],
        "rectification_within": sla["rectification_within"],
        "decision": None,
        "target_elevator_id": None,
        "findings": [],
    }


@dataclass(frozen=True)
class SupervisionCaseType(CaseType):
    def correlation_key(
        self, elevator_id: int | None, signal: dict[str, Any], equipment_id: int | None = None
    ) -> str | None:
        """One open warning per rule and subject (an elevator, a use unit, a maintenance unit)."""
        return f"{self.key}:{signal['rule']}:{signal['subject']}"


SUPERVISION = SupervisionCaseType(
    key=KEY,
    process_key=KEY,
    prefix="JD",
    title="监督预警",
    variables=supervision_variables,
    milestones={"review_warning": "reviewed"},
)
