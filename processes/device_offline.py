"""设备离线/损坏: an IoT box silent past the heartbeat timeout opens a case for the use unit (check
power, network, damage); 24 h unresolved goes to the district regulator; deliberate damage is
reported to the police (a notice to the configured public-security contact, a task for the use
unit). A box heard again closes its case (the BPMN message `device_online`). What starts and
closes these cases: processes/device_offline_flows.py."""

from __future__ import annotations

from typing import Any

from processes.case_type import CaseType, StartContext, elevator_facts
from processes.sla import load_sla

KEY = "device_offline"


def offline_variables(ctx: StartContext) -> dict[str, Any]:
    sla = ctx.sla[KEY]
    return {
        **elevator_facts(ctx),
        "source": ctx.signal.get("source", "heartbeat"),
        "device_id": ctx.signal.get("device_id"),
        "last_seen_at": ctx.signal.get("last_seen_at"),
        "finding": None,
        "check_within": sla["check_within"],
        "escalate_after": sla["escalate_after"],
        "police_report_within": sla["police_report_within"],
        "repair_within": sla["repair_within"],
    }


DEVICE_OFFLINE = CaseType(
    key=KEY,
    process_key=KEY,
    prefix="LX",
    title="设备离线",
    variables=offline_variables,
    priority=lambda ctx: "P3",
    milestones={"check_device": "checked", "report_police": "police_notified", "repair_device": "restored"},
)


def contact_lanes(sla_path: Any) -> dict[str, str]:
    """Lanes whose people are a configured organisation rather than the elevator's own (lane ->
    organisation code): the public-security contact that deliberate damage is reported to."""
    code = str(load_sla(sla_path)[KEY].get("public_security_organisation") or "")
    return {"public_security": code} if code else {}
