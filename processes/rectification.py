"""检验整改: an inspection report with nonconformities, rectified by the use unit by a deadline."""

from __future__ import annotations

from typing import Any

from processes.case_type import CaseType, StartContext, elevator_facts
from processes.expiry import utc_iso


def rectification_variables(ctx: StartContext) -> dict[str, Any]:
    sla = ctx.sla["rectification"]
    first, last = sla["remind_before"]
    findings = ctx.signal.get("findings") or []
    return {
        **elevator_facts(ctx),
        "source": ctx.signal.get("source", "inspection"),
        "report_no": ctx.signal.get("report_no"),
        "ordered_by": ctx.signal.get("supervision_case"),  # the supervision warning that ordered it
        "findings": [str(f) for f in findings],
        # From the notice; None: the process sets reported_at + default_deadline.
        "deadline": utc_iso(ctx.signal.get("deadline")),
        "default_deadline": sla["default_deadline"],
        "remind_first_before": first,
        "remind_last_before": last,
        "review_within": sla["review_within"],
        "reinspect_within": sla["reinspect_within"],
        "failed_deadline": sla["failed_deadline"],
        "new_deadline": None,
    }


RECTIFICATION = CaseType(
    key="rectification",
    process_key="rectification",
    prefix="ZG",
    title="检验整改",
    variables=rectification_variables,
    milestones={
        "rectify": "evidence_submitted",
        "review_evidence": "reviewed",
        "reinspect": "re_inspected",
    },
)
