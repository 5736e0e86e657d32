"""What the rules emit: a fault raised (warning or rescue) or cleared, with an idempotency key."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class WarningType(StrEnum):
    POWER_LOSS = "power_loss"
    OVERRUN_TOP = "overrun_top"
    OVERRUN_BOTTOM = "overrun_bottom"
    CAR_DOOR_CLOSING_ANOMALY = "car_door_closing_anomaly"
    DOOR_OPEN_CLOSE_FAULT = "door_open_close_fault"
    FLOOR_POSITION_LOST = "floor_position_lost"
    DOOR_HELD_OPEN = "door_held_open"
    REPEATED_DOOR_CYCLES = "repeated_door_cycles"
    ABNORMAL_STOP = "abnormal_stop"
    ABNORMAL_START = "abnormal_start"
    DOOR_OPEN_OUTSIDE_ZONE = "door_open_outside_zone"
    DOOR_LOCK_FAULT = "door_lock_fault"
    TRAPPED = "trapped"
    OVERSPEED = "overspeed"  # 超速: faster than the rated speed x 1.15 while running
    OVERLOAD = "overload"  # 超载: over the rated load with the doors locked or running
    # Judged only by the box (event topic)
    SAFETY_CIRCUIT = "safety_circuit"
    RUNTIME_LIMITER = "runtime_limiter"
    OTHER = "other"


class Change(StrEnum):
    RAISED = "raised"
    CLEARED = "cleared"


@dataclass(frozen=True, slots=True)
class Finding:
    device_id: str
    change: Change
    warning_type: WarningType
    case_type: str  # "warning" or "rescue"
    idempotency_key: str
    ts: str  # ISO 8601, the message's own time
    seq: int | None = None
    judged_by: str = "platform"  # or "box" for event-topic codes
    detail: dict[str, Any] = field(default_factory=dict)

    def signal(self) -> dict[str, Any]:
        """The signal processes/ receives (JSON-safe, so it can travel through rq)."""
        return {
            "source": "iot",
            "kind": "trapped" if self.case_type == "rescue" else "warning",
            "change": self.change.value,
            "warning_type": self.warning_type.value,
            "case_type": self.case_type,
            "idempotency_key": self.idempotency_key,
            "device_id": self.device_id,
            "ts": self.ts,
            "seq": self.seq,
            "judged_by": self.judged_by,
            "detail": self.detail,
        }
