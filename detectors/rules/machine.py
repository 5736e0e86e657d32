"""One IoT box's state machine over its status stream.

`judge_status(state, message, thresholds)` updates the state and returns the findings: a fault raised
when its condition has held for its threshold (judged on the messages' own timestamps; boxes send at
least every 5 s), and cleared when the condition ends. The message that ends a timed condition also
raises it (then clears it) when it proves the limit was passed: a box sends one message per change, so
its time is when the condition ended. Each fault episode has one idempotency key (device, type, time
of onset), so a message processed twice (redelivery after a crash) emits nothing new downstream.

A box that goes silent mid-fault is judged on a clock: `next_deadline` tells the ingest when a running
timed condition reaches its limit, `judge_deadlines` raises what is due by then, taking the box's last
reported state as still holding. Both use the same onset and key as the messages, so whichever comes
first raises the fault and the other finds it open.

`state.dirty` says whether the durable part changed (see `DeviceState.durable`): the ingest writes
the state only then, not on every message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from detectors.rules.findings import Change, Finding, WarningType
from detectors.rules.messages import OVERLOADED, StatusMessage
from detectors.rules.thresholds import Thresholds

W = WarningType
OPEN, LOCKED, CLOSING, OPENING = 0, 1, 2, 3
IN_ZONE, OUT_OF_ZONE = 1, 2
PRESENT = 1
POWER_CUT = 2
NORMAL_SERVICE = 1
RESCUE_TYPES = frozenset({W.TRAPPED})
# The timed rules: warning type -> the threshold (seconds) its condition must hold for, and the
# condition one message shows (doors timed in normal service only: inspection and fire modes move doors
# by hand; trapped also needs that no power-loss rescue covers it, which the state tells).
TIMED: dict[WarningType, str] = {
    W.TRAPPED: "trapped_s",
    W.ABNORMAL_STOP: "abnormal_stop_s",
    W.DOOR_OPEN_OUTSIDE_ZONE: "door_open_outside_zone_s",
    W.DOOR_HELD_OPEN: "door_held_open_s",
    W.DOOR_OPEN_CLOSE_FAULT: "door_opening_timeout_s",
    W.DOOR_LOCK_FAULT: "door_lock_timeout_s",
}


def _shut_in(m: StatusMessage) -> bool:
    return m.car_status == 0 and m.door_status == LOCKED and m.passenger_status == PRESENT


def _stopped_out_of_zone(m: StatusMessage) -> bool:
    return (m.service_mode == NORMAL_SERVICE and m.car_status == 0 and m.door_zone == OUT_OF_ZONE
            and m.door_status == LOCKED and m.power_status != POWER_CUT)  # fmt: skip


def _open_out_of_zone(m: StatusMessage) -> bool:
    return m.service_mode == NORMAL_SERVICE and m.door_status in (OPEN, OPENING) and m.door_zone == OUT_OF_ZONE


CONDITIONS: dict[WarningType, Callable[[StatusMessage], bool]] = {
    W.TRAPPED: _shut_in,
    W.ABNORMAL_STOP: _stopped_out_of_zone,
    W.DOOR_OPEN_OUTSIDE_ZONE: _open_out_of_zone,
    W.DOOR_HELD_OPEN: lambda m: m.service_mode == NORMAL_SERVICE and m.door_status == OPEN,
    W.DOOR_OPEN_CLOSE_FAULT: lambda m: m.service_mode == NORMAL_SERVICE and m.door_status == OPENING,
    W.DOOR_LOCK_FAULT: lambda m: m.service_mode == NORMAL_SERVICE and m.door_status == CLOSING,
}
DOOR_TIMED = (W.DOOR_OPEN_OUTSIDE_ZONE, W.DOOR_HELD_OPEN, W.DOOR_OPEN_CLOSE_FAULT, W.DOOR_LOCK_FAULT)


@dataclass(slots=True)
class DeviceState:
    device_id: str
    # Volatile: restored as None after a restart (the next message re-establishes them).
    last_seq: int | None = None
    last_ts: datetime | None = None
    position: int | None = None
    # Durable (written when they change).
    running: bool = False
    door: int | None = None
    passenger: int | None = None
    power: int | None = None
    # Onset times of the conditions being timed: name -> ISO time.
    since: dict[str, str] = field(default_factory=dict)
    # Open faults: type -> (idempotency key, case type).
    active: dict[str, list[str]] = field(default_factory=dict)
    door_cycles: int = 0
    reversals: int = 0
    stop_position: int | None = None
    dirty: bool = False
    # Volatile: the judged fields of the previous message (a repeat with no timer running changes nothing).
    last_fields: tuple[Any, ...] | None = None
    # Volatile: per type, when its last episode was raised and cleared (message times), so that a late
    # message does not raise again what was open at its time.
    episodes: dict[str, tuple[datetime, datetime | None]] = field(default_factory=dict)
    # Volatile: timed conditions ended past their limit by a message after a gap (not proof: a missing
    # message may have ended them in time): type -> (onset, the missing seqs first..last). A missing
    # message that arrives late and still shows the condition past the limit proves it.
    unsure: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    # Volatile: timed conditions whose onset message followed a gap -> the seq just before it (a late
    # message with that seq showing the condition moves the onset back to its time).
    onset_gap: dict[str, int] = field(default_factory=dict)

    def durable(self) -> dict[str, Any]:
        return {
            "running": self.running,
            "door": self.door,
            "passenger": self.passenger,
            "power": self.power,
            "since": dict(self.since),
            "active": {k: list(v) for k, v in self.active.items()},
            "door_cycles": self.door_cycles,
            "reversals": self.reversals,
            "stop_position": self.stop_position,
        }

    @classmethod
    def restore(
        cls, device_id: str, data: dict[str, Any] | None, last_seq: int | None = None, last_ts: datetime | None = None
    ) -> DeviceState:
        # last_seq/last_ts: as the registry last stored them (a box that rebooted meanwhile is told by time).
        state = cls(device_id, last_seq=last_seq, last_ts=last_ts)
        if data:
            for name in ("running", "door", "passenger", "power", "door_cycles", "reversals", "stop_position"):
                if name in data:
                    setattr(state, name, data[name])
            state.since = dict(data.get("since") or {})
            state.active = {k: list(v) for k, v in (data.get("active") or {}).items()}
            state.position = None if state.running else state.stop_position
        return state


class _Judge:
    """The bookkeeping shared by every rule: timed conditions, raising and clearing faults.

    It also holds what the rules read of the message and of the state before it: the state's
    stream fields (position, running, door) are only updated once every rule has judged.
    """

    __slots__ = ("ended", "findings", "late", "m", "missing", "normal", "prev_door", "prev_position", "st",
                 "stopped", "ts", "ts_iso", "was_running")  # fmt: skip

    def __init__(self, st: DeviceState, m: StatusMessage, late: bool = False) -> None:
        self.st = st
        self.late = late  # a message older than the state: it may raise what it alone proves, never clear
        self.m = m
        self.ts = m.ts
        self.ts_iso = m.ts.isoformat()
        self.findings: list[Finding] = []
        self.ended: dict[str, str] = {}  # timed conditions this message ends -> their onset
        self.normal = m.service_mode == NORMAL_SERVICE
        self.stopped = m.car_status == 0
        self.prev_position, self.was_running, self.prev_door = st.position, st.running, st.door
        # Messages missing between the previous one judged and this one (None: unknown, e.g. a reboot).
        last = st.last_seq
        self.missing = m.seq - last - 1 if last is not None and m.seq > last else None

    def held(self, name: str, condition: bool, seconds: float) -> bool:
        """Whether `condition` has held for `seconds` (its onset is remembered in the state)."""
        since = self.st.since
        if not condition:
            start = since.pop(name, None)
            if start is not None:
                self.ended[name] = start
                self.st.dirty = True
                self.st.onset_gap.pop(name, None)
            return False
        start = since.get(name)
        if start is None:
            since[name] = self.ts_iso
            self.st.dirty = True
            if self.missing:  # the condition may have begun in a missing message (see judge_late)
                self.st.onset_gap[name] = self.m.seq - 1
            return seconds <= 0
        return self.ts - datetime.fromisoformat(start) >= timedelta(seconds=seconds)

    def fault(
        self, wtype: WarningType, on: bool, case_type: str = "warning", onset: str | None = None, **detail: Any
    ) -> None:
        """Raise `wtype` when `on` and not yet raised; clear it when not `on` and raised."""
        active = self.st.active
        current = active.get(wtype)
        if on and current is None:
            key = _key(self.st.device_id, wtype, onset or self.st.since.get(wtype, self.ts_iso))
            active[wtype] = [key, case_type]
            self.st.dirty = True
            self.st.episodes[wtype] = (self.ts, None)
            self.findings.append(
                Finding(self.st.device_id, Change.RAISED, wtype, case_type, key, self.ts_iso, self.m.seq, detail=detail)
            )
        elif not on and current is not None and not self.late:
            self.clear(wtype)

    def ended_past(self, wtype: WarningType, seconds: float) -> str | None:
        """The onset of `wtype`'s condition when this message ends it after `seconds` or more, unraised.
        Only a message that follows the last one without a gap tells when the condition ended: a missing
        message may have ended it earlier."""
        onset = self.ended.get(wtype)
        if onset is None or wtype in self.st.active:
            return None
        if self.ts - datetime.fromisoformat(onset) < timedelta(seconds=seconds):
            return None
        if self.missing:
            self.st.unsure[wtype] = (onset, self.m.seq - self.missing, self.m.seq - 1)
        return onset if self.missing == 0 else None

    def ended_fault(self, wtype: WarningType, seconds: float, case_type: str = "warning", **detail: Any) -> None:
        """The condition has ended: raise it first if it had passed its limit, then clear it."""
        onset = self.ended_past(wtype, seconds)
        if onset is not None:
            self.fault(wtype, True, case_type, onset, ended_at=self.ts_iso, **detail)
        self.fault(wtype, False)

    def clear(self, wtype: WarningType) -> None:
        current = self.st.active.pop(wtype, None)
        if current is None:
            return
        self.st.dirty = True
        episode = self.st.episodes.get(wtype)
        if episode is not None:
            self.st.episodes[wtype] = (episode[0], self.ts)
        key, case_type = f"{current[0]}:cleared", current[1]
        self.findings.append(Finding(self.st.device_id, Change.CLEARED, wtype, case_type, key, self.ts_iso, self.m.seq))

    def timed_fault(self, wtype: WarningType, condition: bool, seconds: float, **detail: Any) -> None:
        if self.held(wtype, condition, seconds):
            self.fault(wtype, True, **detail)
        elif not condition and (wtype in self.ended or wtype in self.st.active):
            self.ended_fault(wtype, seconds)


def _key(device_id: str, wtype: WarningType, onset: str) -> str:
    return f"{device_id}:{wtype.value}:{onset}"


def _power_loss(j: _Judge, th: Thresholds) -> None:
    """With someone in the car a power cut is a rescue (DESIGN); it also explains the stop."""
    st, m = j.st, j.m
    power_cut = m.power_status == POWER_CUT
    if power_cut and W.POWER_LOSS not in st.active:
        st.since.setdefault(W.POWER_LOSS, j.ts_iso)
        j.fault(W.POWER_LOSS, True, "rescue" if m.passenger_status == PRESENT else "warning",
                passenger=m.passenger_status == PRESENT)  # fmt: skip
    elif power_cut and m.passenger_status == PRESENT and st.active[W.POWER_LOSS][1] == "warning":
        # Someone is found in the car after the warning was raised: that is a rescue now.
        key = f"{st.active[W.POWER_LOSS][0]}:rescue"
        st.active[W.POWER_LOSS] = [key, "rescue"]
        st.dirty = True
        j.findings.append(Finding(st.device_id, Change.RAISED, W.POWER_LOSS, "rescue", key, j.ts_iso, m.seq,
                                  detail={"passenger": True}))  # fmt: skip
    elif not power_cut and W.POWER_LOSS in st.active:
        st.since.pop(W.POWER_LOSS, None)
        j.fault(W.POWER_LOSS, False)


def _trapped(j: _Judge, th: Thresholds) -> None:
    """Alarm button, or stopped with doors closed and a passenger for trapped_s. An abnormal stop out of
    the zone is raised as well at its own limit (the car needs repairing); trapped opens the rescue."""
    st, m = j.st, j.m
    power_rescue = W.POWER_LOSS in st.active and st.active[W.POWER_LOSS][1] == "rescue"
    closed_in = _shut_in(m)
    alarm = m.alarm_button == 1
    trapped = not power_rescue and j.held(W.TRAPPED, closed_in or alarm, 0 if alarm else th.trapped_s)
    if power_rescue:
        j.held(W.TRAPPED, False, th.trapped_s)  # the power-loss rescue covers it; time afresh after
    elif trapped:
        j.fault(W.TRAPPED, True, "rescue", alarm_button=alarm)
    elif not (closed_in or alarm) and (W.TRAPPED in j.ended or W.TRAPPED in st.active):
        j.ended_fault(W.TRAPPED, th.trapped_s, "rescue", alarm_button=False)


def _overrun(j: _Judge, th: Thresholds) -> None:
    """A limit switch, or the car beyond its end floors."""
    m = j.m
    j.fault(W.OVERRUN_TOP, m.up_limit == 1 or m.car_position > th.top_floor, position=m.car_position)
    j.fault(W.OVERRUN_BOTTOM, m.down_limit == 1 or m.car_position < th.bottom_floor, position=m.car_position)


def _abnormal_start(j: _Judge, th: Thresholds) -> None:
    """The car moves while its doors are not closed and locked."""
    j.fault(W.ABNORMAL_START, not j.stopped and j.m.door_status != LOCKED, door_status=j.m.door_status)


def _floor_position_lost(j: _Judge, th: Thresholds) -> None:
    """The position changes while the car stands, or jumps several floors.

    Judged against the previous message only as far as `seq` says none is missing: transport
    reordering (a message arriving after its successor, then refused as old) or a lost message leave a
    gap, and a gap means a message is missing, not that the floor count was lost. A box sends one
    message per change, so each missing message may hide one floor of travel: a jump is judged net of
    the gap (a real loss still shows as a larger jump), a drift at a stand only when too few messages
    are missing to have been a trip. Chosen over a reorder window because it needs no buffer and no
    clock: every message is judged as it arrives, and the state stays one small JSON.
    """
    st, m, prev, missing = j.st, j.m, j.prev_position, j.missing
    if prev is not None and missing is not None:
        jumped = abs(m.car_position - prev) - missing >= th.floor_jump
        # A trip from one stand to another takes at least three messages (start, floor, stop): one
        # missing message cannot hide it.
        drifted = missing <= 1 and j.stopped and not j.was_running and m.car_position != prev
        if (jumped or drifted) and W.FLOOR_POSITION_LOST not in st.active:
            j.fault(W.FLOOR_POSITION_LOST, True, previous=prev, position=m.car_position)
    if W.FLOOR_POSITION_LOST in st.active and j.stopped and m.door_zone == IN_ZONE and m.door_status == OPEN:
        j.fault(W.FLOOR_POSITION_LOST, False)  # re-levelled at a landing and opened normally


def _door_timers(j: _Judge, th: Thresholds) -> None:
    """Doors open, opening or closing for too long; normal service only (inspection and fire modes
    move doors by hand)."""
    m = j.m
    for wtype in DOOR_TIMED:
        j.timed_fault(wtype, CONDITIONS[wtype](m), getattr(th, TIMED[wtype]))


def _abnormal_stop(j: _Judge, th: Thresholds) -> None:
    """Stopped outside the door zone with doors locked, in normal service and with power, with or
    without a passenger (someone inside is also judged by trapped, at its own, longer limit)."""
    j.timed_fault(W.ABNORMAL_STOP, _stopped_out_of_zone(j.m), th.abnormal_stop_s)


def _overspeed(j: _Judge, th: Thresholds) -> None:
    """Running faster than the rated speed x overspeed_factor (no rated speed registered: off)."""
    if th.rated_speed_mps is None:
        return
    limit = round(th.rated_speed_mps * th.overspeed_factor, 6)  # 1.75 x 1.15 is 2.0125, not 2.01249...
    j.fault(W.OVERSPEED, not j.stopped and j.m.speed > limit, speed=j.m.speed, limit=limit)


def _overload(j: _Judge, th: Thresholds) -> None:
    """Over the rated load while the doors are locked or the car runs: the overload device should have
    held the doors open at the landing (an overloaded car standing open is the protection working).
    Only boxes that report load are judged; a box reporting neither field never raises it."""
    m = j.m
    if m.load_percent is None and m.load_status is None and W.OVERLOAD not in j.st.active:
        return
    over = (m.load_percent is not None and m.load_percent > th.overload_percent) or m.load_status == OVERLOADED
    j.fault(W.OVERLOAD, over and (not j.stopped or m.door_status == LOCKED), load_percent=m.load_percent,
            load_status=m.load_status)  # fmt: skip


def _door_counts(j: _Judge, th: Thresholds) -> None:
    """Closing reversals (closing turns to opening) and open/close cycles without travel."""
    st, m, prev_door, stopped = j.st, j.m, j.prev_door, j.stopped
    if prev_door != m.door_status:
        if prev_door == CLOSING and m.door_status == OPENING:
            st.reversals += 1
        if m.door_status == LOCKED:
            st.reversals = 0
            if prev_door in (OPEN, CLOSING, OPENING) and stopped:
                st.door_cycles += 1
        st.dirty = True
    j.fault(W.CAR_DOOR_CLOSING_ANOMALY, j.normal and st.reversals >= th.closing_reversals, reversals=st.reversals)
    if not stopped and st.door_cycles:
        st.door_cycles = 0
        st.dirty = True
    if st.door_cycles >= th.door_cycles and W.REPEATED_DOOR_CYCLES not in st.active:
        j.fault(W.REPEATED_DOOR_CYCLES, j.normal, cycles=st.door_cycles)
    elif not stopped and W.REPEATED_DOOR_CYCLES in st.active:
        j.fault(W.REPEATED_DOOR_CYCLES, False)


# The rules in the order they judge: power loss first (it decides whether trapped is judged), trapped
# and trapped first so that their findings lead the list of one message.
RULES: tuple[Callable[[_Judge, Thresholds], None], ...] = (
    _power_loss,
    _trapped,
    _overrun,
    _abnormal_start,
    _floor_position_lost,
    _door_timers,
    _abnormal_stop,
    _door_counts,
    _overspeed,
    _overload,
)


def _remember(st: DeviceState, m: StatusMessage) -> None:
    """Keep the stream's last values; only transitions mark the state dirty."""
    stopped = m.car_status == 0
    if st.running != (not stopped):
        st.running = not stopped
        st.stop_position = m.car_position
        st.dirty = True
    if st.door != m.door_status or st.passenger != m.passenger_status or st.power != m.power_status:
        st.door, st.passenger, st.power = m.door_status, m.passenger_status, m.power_status
        st.dirty = True
    st.position = m.car_position
    st.last_seq = m.seq
    st.last_ts = m.ts


def late(st: DeviceState, m: StatusMessage) -> bool:
    """A message older than the last one judged (a late arrival or a redelivery): it must not roll the
    state back. A box that rebooted restarts its seq with a newer time and is judged."""
    return st.last_seq is not None and m.seq <= st.last_seq and st.last_ts is not None and m.ts <= st.last_ts


def judge_late(st: DeviceState, m: StatusMessage, th: Thresholds) -> list[Finding]:
    """A late message (transport reordering) does not roll the state back, but what it alone proves
    still happened: the alarm button, overspeed, overload (raised; the next message in order clears
    what no longer holds), and a timed condition still holding past its limit that a message after
    the gap it filled had ended (raised and cleared); and the true onset of a timed condition whose
    first message was overtaken."""
    j = _Judge(st, m, late=True)
    power_rescue = W.POWER_LOSS in st.active and st.active[W.POWER_LOSS][1] == "rescue"
    if m.alarm_button == 1 and not power_rescue and not _was_open(st, W.TRAPPED, m.ts):
        j.fault(W.TRAPPED, True, "rescue", st.since.get(W.TRAPPED, j.ts_iso), alarm_button=True)
    if not _was_open(st, W.OVERSPEED, m.ts):
        _overspeed(j, th)
    if not _was_open(st, W.OVERLOAD, m.ts):
        _overload(j, th)
    for name, before in list(st.onset_gap.items()):
        onset = st.since.get(name)
        if onset is None or name in st.active or m.seq != before:
            continue
        if CONDITIONS[W(name)](m) and m.ts < datetime.fromisoformat(onset):
            st.since[name] = j.ts_iso  # the condition began here: its limit counts from here
            st.onset_gap[name] = before - 1
            st.dirty = True
    for name, (onset, first, last) in list(st.unsure.items()):
        wtype = W(name)
        if first <= m.seq <= last and wtype not in st.active and CONDITIONS[wtype](m):
            if wtype is W.TRAPPED and power_rescue:
                continue
            if m.ts - datetime.fromisoformat(onset) >= timedelta(seconds=getattr(th, TIMED[wtype])):
                # The missing message still shows it past its limit: proven; it has ended since.
                del st.unsure[name]
                j.fault(wtype, True, "rescue" if wtype in RESCUE_TYPES else "warning", onset, late=True)
                j.clear(wtype)
    return j.findings


def _was_open(st: DeviceState, wtype: WarningType, ts: datetime) -> bool:
    """Whether `wtype`'s last episode was open at `ts` (raised by then, not cleared before)."""
    episode = st.episodes.get(wtype)
    return episode is not None and episode[0] <= ts and (episode[1] is None or ts <= episode[1])


def judge_status(st: DeviceState, m: StatusMessage, th: Thresholds) -> list[Finding]:
    """Judge one status message. A late one (older than the last judged: transport reordering) only
    raises what it alone proves (`judge_late`); a redelivery of the last one changes nothing."""
    if late(st, m):
        return judge_late(st, m, th) if m.seq != st.last_seq else []
    fields = (m.service_mode, m.car_status, m.car_position, m.door_zone, m.door_status, m.passenger_status,
              m.power_status, m.alarm_button, m.up_limit, m.down_limit, m.speed, m.load_percent,
              m.load_status)  # fmt: skip
    if fields == st.last_fields and not st.since:
        # A heartbeat repeating the last status while no condition is being timed: every rule would
        # judge exactly as it did for the previous message, which is already applied.
        st.last_seq = m.seq
        st.last_ts = m.ts
        return []
    st.last_fields = fields
    j = _Judge(st, m)
    for rule in RULES:
        rule(j, th)
    _remember(st, m)
    return j.findings


def next_deadline(state: DeviceState, thresholds: Thresholds) -> datetime | None:
    """The earliest instant a running timed condition reaches its limit unless a message ends it
    first (None when nothing is being timed). Times are the box's (as its messages carry them)."""
    due = [
        datetime.fromisoformat(onset) + timedelta(seconds=getattr(thresholds, TIMED[W(name)]))
        for name, onset in state.since.items()
        if name in TIMED and name not in state.active
    ]
    return min(due, default=None)


def judge_deadlines(state: DeviceState, now: datetime, thresholds: Thresholds) -> list[Finding]:
    """The faults due by `now` (timezone-aware) when no message came since the last one: the box's last
    reported state is taken as still holding (a power cut silences the box, a passenger stays in the
    car). Each is raised with the key a message would have raised it with, and stays open in the state,
    so calling this again, or the next message, raises nothing twice; the message that ends the
    condition clears it as usual. Finding times are the instants the limits were reached."""
    findings = []
    for name, onset in sorted(state.since.items(), key=lambda item: item[1]):
        if name not in TIMED or name in state.active:
            continue
        wtype = W(name)
        due = datetime.fromisoformat(onset) + timedelta(seconds=getattr(thresholds, TIMED[wtype]))
        if due > now:
            continue
        case_type = "rescue" if wtype in RESCUE_TYPES else "warning"
        key = _key(state.device_id, wtype, onset)
        state.active[wtype] = [key, case_type]
        state.dirty = True
        detail = {"judged_on_clock": True, "last_message": state.last_ts.isoformat() if state.last_ts else None}
        findings.append(
            Finding(state.device_id, Change.RAISED, wtype, case_type, key, due.isoformat(), None, detail=detail)
        )
    return findings
