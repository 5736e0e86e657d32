"""故障预警: an IoT fault warning (not trapped) becomes a repair work order with an SLA ladder."""

from __future__ import annotations

from typing import Any

from processes.case_type import CaseType, StartContext, elevator_facts


def warning_priority(ctx: StartContext) -> str:
    """P2 for the safety-critical warning types (sla.toml lists them), else P3."""
    critical = set(ctx.sla["warning"]["safety_critical"])
    return "P2" if ctx.signal.get("warning_type") in critical else "P3"


def warning_variables(ctx: StartContext) -> dict[str, Any]:
    sla = ctx.sla["warning"]
    priority = warning_priority(ctx)
    ladder = sla[priority]
    return {
        **elevator_facts(ctx),
        "source": ctx.signal.get("source", "iot"),
        "warning_type": str(ctx.signal.get("warning_type") or "other"),
        "priority": priority,
        "safety_critical": priority == "P2",
        # Warnings on this elevator in the repeat window, this one included (the detector counts).
        "recent_count": int(ctx.signal.get("recent_count") or 1),
        "repeat_threshold": int(sla["repeat_threshold"]),
        "repeat_window_days": int(sla["repeat_window_days"]),
        "accept_within": ladder["accept_within"],
        "onsite_within": ladder["onsite_within"],
        "fix_within": ladder["fix_within"],
        "verify_within": sla["verify_within"],
    }


WARNING = CaseType(
    key="warning",
    process_key="warning",
    prefix="YJ",
    title="故障预警",
    variables=warning_variables,
    priority=warning_priority,
    milestones={
        "accept_order": "accepted",
        "report_onsite": "on_site",
        "report_fix": "handled",
        "verify_fix": "verified",
    },
)
