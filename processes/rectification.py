"""检验整改: an inspection report with nonconformities, rectified by the use unit by a deadline."""

from __future__ import annotations

from typing import Any

from processes.case_type import CaseType, StartContext, elevator_facts
from processes.expiry import utc_iso

EQUIPMENT_FACTS = ("equipment_id", "register_code", "address", "district_code", "use_unit_id", "maintenance_unit_id")


def rectification_variables(ctx: StartContext) -> dict[str, Any]:
    sla = ctx.sla["rectification"]
    first, last = sla["remind_before"]
    findings = ctx.signal.get("findings") or []
    # Equipment other than an elevator has no register row the case points to: the report's facts.
    equipment = {k: ctx.signal.get(k) for k in EQUIPMENT_FACTS if ctx.signal.get(k) is not None}
    return {
        **equipment,
        **elevator_facts(ctx),
        "source": ctx.signal.get("source", "inspection"),
        "conclusion": ctx.signal.get("conclusion"),
        # The institute that issued the report reviews and re-inspects (else the first one).
        "inspection_agency_id": ctx.signal.get("inspection_agency_id"),
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
        "rectify_work": "rectified",
        "rectify": "evidence_submitted",
        "review_evidence": "reviewed",
        "reinspect": "re_inspected",
    },
)
