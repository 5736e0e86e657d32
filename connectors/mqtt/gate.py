"""The stateful checks on a parsed message: known device, sequence order, clock skew.

One `DeviceView` per known box carries what the checks and the rules need (elevator, thresholds,
detector state), loaded once at start and refreshed for boxes registered later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from detectors.rules.machine import DeviceState
from detectors.rules.messages import Reason, Rejection, StatusMessage
from detectors.rules.thresholds import IngestLimits, Thresholds

# A box that rebooted starts its seq again; a much smaller seq with a clearly newer time is a reboot.
REBOOT_GAP = timedelta(seconds=60)


@dataclass(slots=True)
class DeviceView:
    device_id: str
    elevator_id: int | None
    thresholds: Thresholds
    state: DeviceState
    online: bool = False
    seen_written_at: datetime | None = None  # when last_seen_at was last written for it


def check_status(view: DeviceView, m: StatusMessage, received_at: datetime, limits: IngestLimits) -> Rejection | None:
    if (m.ts - received_at).total_seconds() > limits.max_clock_skew_s:
        return Rejection(Reason.CLOCK_SKEW, "ts is ahead of the platform clock")
    if (received_at - m.ts).total_seconds() > limits.max_age_s:
        return Rejection(Reason.CLOCK_SKEW, "ts is too old")
    st = view.state
    last = st.last_seq
    if last is not None and m.seq <= last:
        if m.seq == last:
            return Rejection(Reason.DUPLICATE_SEQ, f"seq {m.seq} again")
        if st.last_ts is None or m.ts < st.last_ts + REBOOT_GAP:
            return Rejection(Reason.OLD_SEQ, f"seq {m.seq} after {last}")
    return None
