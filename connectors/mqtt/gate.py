"""The stateful checks on a parsed message: known device, sequence order, clock skew.

One `DeviceView` per known box carries what the checks and the rules need (elevator, thresholds,
detector state), loaded once at start and refreshed for boxes registered later.

A message whose seq was already taken is a duplicate (a QoS 1 redelivery after a broker restart or
an ingest crash, a box resending), counted and dropped. One below the last that was never taken is a
late arrival: the rules judge it as such (it may prove an alarm, it never rolls the state back).
`seen` remembers which of the last SEEN_WINDOW seqs were taken; a seq older than that window is
refused as old. The last seq, its time and the seqs of the window never taken (the holes) are
written with the detector state at every flush that took a message of the box (`seq_record`), so
whoever reads the box's state again (a restart, a partition taken over) tells duplicates from late
messages exactly as the writer would have: with only the last seq known, a late message that
arrived after a takeover was refused as a duplicate (lost), and a stale last seq let duplicates in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from detectors.rules.machine import DeviceState
from detectors.rules.messages import Reason, Rejection, StatusMessage
from detectors.rules.thresholds import IngestLimits, Thresholds

# A box that rebooted starts its seq again; a much smaller seq with a clearly newer time is a reboot.
REBOOT_GAP = timedelta(seconds=60)
SEEN_WINDOW = 4096  # a broker redelivers up to an ingest's in-flight window; bits are cheap
ALL_SEEN = (1 << SEEN_WINDOW) - 1


@dataclass(slots=True)
class DeviceView:
    device_id: str
    elevator_id: int | None
    thresholds: Thresholds
    state: DeviceState
    online: bool = False
    seen_written_at: datetime | None = None  # when last_seen_at was last written for it
    seen: int = ALL_SEEN  # bit i: seq (state.last_seq - i) was taken

    def taken(self, seq: int, previous: int | None, rebooted: bool) -> None:
        """Record an accepted status message; `previous` is the last seq before it."""
        if previous is None or rebooted:  # the first one, or a box counting afresh
            self.seen = 1
        elif seq > previous:
            self.seen = ((self.seen << min(seq - previous, SEEN_WINDOW)) | 1) & ALL_SEEN
        else:  # a late one, taken now
            self.seen |= 1 << (previous - seq)


def check_status(view: DeviceView, m: StatusMessage, received_at: datetime, limits: IngestLimits) -> Rejection | None:
    if (m.ts - received_at).total_seconds() > limits.max_clock_skew_s:
        return Rejection(Reason.CLOCK_SKEW, "ts is ahead of the platform clock")
    if (received_at - m.ts).total_seconds() > limits.max_age_s:
        return Rejection(Reason.CLOCK_SKEW, "ts is too old")
    st = view.state
    last = st.last_seq
    if last is not None and m.seq <= last and not rebooted(view, m):
        back = last - m.seq
        if back >= SEEN_WINDOW:
            return Rejection(Reason.OLD_SEQ, f"seq {m.seq} after {last}")
        if view.seen >> back & 1:
            return Rejection(Reason.DUPLICATE_SEQ, f"seq {m.seq} again")
    return None


def rebooted(view: DeviceView, m: StatusMessage) -> bool:
    """A seq not above the last one with a clearly newer time: the box restarted its count."""
    st = view.state
    last, last_ts = st.last_seq, st.last_ts
    return last is not None and m.seq <= last and last_ts is not None and m.ts >= last_ts + REBOOT_GAP


def seq_record(view: DeviceView) -> dict[str, Any]:
    """What the gate must find again after a restart, kept beside the detector state."""
    st = view.state
    span = view.seen.bit_length()  # seqs at or below (last - span) were never taken (or not seen yet)
    return {
        "seq": st.last_seq,
        "seq_ts": st.last_ts.isoformat() if st.last_ts else None,
        "span": span,
        "holes": format(~view.seen & ((1 << span) - 1), "x"),  # bit i: seq (last - i) never taken
    }


def restore_seq(view: DeviceView, data: dict[str, Any] | None) -> None:
    """Put back what `seq_record` wrote; a state written before it keeps the registry's last seq,
    with every seq up to it taken (the conservative reading)."""
    if not data or data.get("seq") is None:
        return
    view.state.last_seq = int(data["seq"])
    view.state.last_ts = datetime.fromisoformat(data["seq_ts"]) if data.get("seq_ts") else view.state.last_ts
    view.seen = ((1 << int(data.get("span", SEEN_WINDOW))) - 1) & ~int(data.get("holes") or "0", 16)
