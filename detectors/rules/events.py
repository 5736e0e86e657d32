"""Codes judged by the box itself (event topic, GB/T 24476 plus the platform's 9/10/11) -> findings.

The box has already decided, so there is no timing here; the event_id is the idempotency key. A box
that reports main power off while the status stream says someone is in the car starts a rescue.
"""

from __future__ import annotations

from detectors.rules.findings import Change, Finding, WarningType
from detectors.rules.machine import PRESENT, DeviceState
from detectors.rules.messages import EventMessage

W = WarningType

# code -> (warning type, case type)
EVENT_CODES: dict[int, tuple[WarningType, str]] = {
    1: (W.SAFETY_CIRCUIT, "warning"),
    2: (W.CAR_DOOR_CLOSING_ANOMALY, "warning"),  # door close fault
    3: (W.DOOR_OPEN_CLOSE_FAULT, "warning"),  # door open fault
    4: (W.ABNORMAL_STOP, "warning"),  # stopped outside the unlocking zone
    5: (W.ABNORMAL_START, "warning"),  # unintended car movement
    6: (W.RUNTIME_LIMITER, "warning"),
    7: (W.FLOOR_POSITION_LOST, "warning"),
    8: (W.OTHER, "warning"),
    9: (W.OVERRUN_TOP, "warning"),
    10: (W.OVERRUN_BOTTOM, "warning"),
    11: (W.TRAPPED, "rescue"),
    41: (W.POWER_LOSS, "warning"),
    90: (W.TRAPPED, "rescue"),  # alarm button
}


def judge_event(st: DeviceState, event: EventMessage) -> list[Finding]:
    wtype, case_type = EVENT_CODES[event.code]
    if wtype is W.POWER_LOSS and st.passenger == PRESENT:
        case_type = "rescue"
    key = f"{event.device_id}:event:{event.event_id}"
    detail = {"code": event.code, "event_id": event.event_id}
    return [Finding(event.device_id, Change.RAISED, wtype, case_type, key, event.ts.isoformat(), None, "box", detail)]
