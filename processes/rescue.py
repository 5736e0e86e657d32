"""困人救援: someone is trapped. P1, with the three-level escalation ladder."""

from __future__ import annotations

from typing import Any

from processes.case_type import CaseType, StartContext, elevator_facts


def rescue_variables(ctx: StartContext) -> dict[str, Any]:
    sla = ctx.sla["rescue"]
    urban = bool(ctx.district and ctx.district.urban)
    return {
        **elevator_facts(ctx),
        "source": ctx.signal.get("source", "unknown"),
        "trapped_count": int(ctx.signal.get("trapped_count") or 1),
        "reporter_phone": ctx.signal.get("phone"),
        "injured": bool(ctx.signal.get("injured", False)),
        "verify_within": sla["verify_within"],
        "accept_within": sla["accept_within"],
        "level3_after": sla["level3_after"],
        "arrival_within": sla.get("arrival_by_district", {}).get(ctx.district.code if ctx.district else "")
        or sla["arrival_within_urban" if urban else "arrival_within_rural"],
        "unresolved_after": sla["unresolved_after"],
    }


RESCUE = CaseType(
    key="rescue",
    process_key="rescue",
    prefix="JY",
    title="困人救援",
    variables=rescue_variables,
    priority=lambda ctx: "P1",
    milestones={
        "verify_dispatch": "dispatched",
        "accept_order": "accepted",
        "report_arrival": "on_site",
        "report_release": "released",
        "report_cause": "cause_reported",
        "return_visit": "closed",
    },
)


# The rescue times regulators measure (dashboard and monthly report alike): from the case's opening
# to the milestone. The BPMN task that reaches each milestone comes from the case type above.
METRIC_MILESTONES = {"response": "dispatched", "arrival": "on_site", "rescue": "released"}


def metric_steps() -> dict[str, str]:
    """metric -> BPMN task id, e.g. {"response": "verify_dispatch", ...}."""
    by_name = {name: step for step, name in RESCUE.milestones.items()}
    return {metric: by_name[name] for metric, name in METRIC_MILESTONES.items()}
