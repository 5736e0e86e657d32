"""From a received MQTT message to findings handed on and state written, without the network part.

`handle(topic, payload)` parses, checks and judges one message in memory and never raises (a
redelivered message is counted under `duplicate.<kind>`, not dead-lettered);
`flush()` hands the findings on (first: a crash after it re-emits the same idempotency keys, which
downstream ignores), then writes one transaction with the dead letters, counters, the detector
states that made a transition and device presence. The caller acknowledges the batch's MQTT
messages only after `flush()` returns, so a killed process loses nothing: the broker redelivers.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import sessionmaker

from connectors.mqtt import dead_letters
from connectors.mqtt.deadlines import DeadlineBook
from connectors.mqtt.gate import DeviceView, check_status, rebooted, seq_record
from connectors.mqtt.store import Batch, load_devices, mark_silent_offline, write_batch
from connectors.mqtt.topics import split
from detectors.rules.events import judge_event
from detectors.rules.machine import judge_deadlines, judge_status
from detectors.rules.messages import (
    MAX_DEVICE_ID,
    Reason,
    Rejection,
    parse_event,
    parse_online,
    parse_status,
)
from detectors.rules.thresholds import ThresholdBook
from infra.clock import Clock

log = logging.getLogger(__name__)

Deliver = Callable[[list[dict[str, Any]]], None]
# A box is marked seen at most this often; the offline timeout (10 min) is far coarser.
SEEN_EVERY = timedelta(seconds=60)
UNKNOWN_RECHECK = timedelta(seconds=60)
EVENT_MEMORY = 64
LOOKUPS_PER_MINUTE = 60  # registry look-ups for ids we do not know (boxes registered after start)


class IngestPipeline:
    def __init__(self, sessions: sessionmaker, book: ThresholdBook, deliver: Deliver, clock: Clock,
                 deadline_grace_s: float = 2.0) -> None:  # fmt: skip
        self.sessions = sessions
        self.book = book
        self.limits = book.ingest
        self.deliver = deliver
        self.clock = clock
        self.views: dict[str, DeviceView] = load_devices(sessions, book)
        self.deadlines = DeadlineBook(deadline_grace_s)
        for view in self.views.values():
            self.deadlines.restored(view.device_id, view.state, view.thresholds)
        self.batch = Batch()
        self.signals: list[dict[str, Any]] = []
        self.dirty: set[str] = set()
        self.handled = 0
        self._unknown: dict[str, datetime] = {}
        self._lookups: deque[datetime] = deque()
        self._events: dict[str, deque[str]] = {}
        self._accepted: dict[str, int] = {"status": 0, "event": 0, "online": 0}

    # -- one message ---------------------------------------------------------------------------
    def handle(self, topic: str, payload: bytes) -> None:
        self.handled += 1
        try:
            self._handle(topic, payload)
        except Exception as err:  # a bug must not stop the loop; keep the message for a replay
            log.exception("ingest failed on %s", topic)
            self._reject(topic, None, payload, Rejection(Reason.INTERNAL_ERROR, repr(err)[:300]))

    def _handle(self, topic: str, payload: bytes) -> None:
        parts = split(topic)
        if parts is None:
            self._reject(topic, None, payload, Rejection(Reason.BAD_TOPIC, "not lift/{device_id}/status|event|online"))
            return
        device_id, kind = parts
        if kind == "status":
            self._status(topic, device_id, payload)
        elif kind == "event":
            self._event(topic, device_id, payload)
        else:
            self._online(topic, device_id, payload)

    def _status(self, topic: str, device_id: str, payload: bytes) -> None:
        """Judge a status message; the findings wait for the flush, the state is marked for writing."""
        m = parse_status(payload, device_id)
        if type(m) is Rejection:
            self._reject(topic, device_id, payload, m)
            return
        view = self._known(topic, device_id, payload)
        if view is None:
            return
        now = self.clock.now()
        refused = check_status(view, m, now, self.limits)
        if refused is not None:
            if refused.reason is Reason.DUPLICATE_SEQ:
                self.batch.count("duplicate.status")  # a redelivery: counted, not a refusal
            else:
                self._reject(topic, device_id, payload, refused)
            return
        st = view.state
        if st.last_seq is not None and m.seq < st.last_seq and not rebooted(view, m):
            self.batch.count("late.status")  # judged as late by the rules (never rolls the state back)
        view.taken(m.seq, st.last_seq, rebooted(view, m))
        findings = judge_status(st, m, view.thresholds)
        self.deadlines.observe(device_id, m.ts)
        self.deadlines.schedule(device_id, st, view.thresholds)
        self.dirty.add(device_id)  # the seq record changed, whether or not the detector state did
        st.dirty = False
        if findings:
            self.signals.extend({**f.signal(), "elevator_id": view.elevator_id} for f in findings)
        self._accepted["status"] += 1
        self._seen(view, now, m.seq)

    def _event(self, topic: str, device_id: str, payload: bytes) -> None:
        """Judge an event message once: a redelivered event id is refused."""
        e = parse_event(payload, device_id)
        if isinstance(e, Rejection):
            self._reject(topic, device_id, payload, e)
            return
        view = self._known(topic, device_id, payload)
        if view is None:
            return
        recent = self._events.setdefault(device_id, deque(maxlen=EVENT_MEMORY))
        if e.event_id in recent:
            self.batch.count("duplicate.event")  # a redelivery: counted, not a refusal
            return
        recent.append(e.event_id)
        self.signals.extend({**f.signal(), "elevator_id": view.elevator_id} for f in judge_event(view.state, e))
        self._accepted["event"] += 1
        self._seen(view, self.clock.now(), view.state.last_seq)

    def _online(self, topic: str, device_id: str, payload: bytes) -> None:
        """Record the box's presence as it announces it."""
        o = parse_online(payload, device_id)
        if isinstance(o, Rejection):
            self._reject(topic, device_id, payload, o)
            return
        view = self._known(topic, device_id, payload)
        if view is None:
            return
        now = self.clock.now()
        view.online = o.online
        if o.online:
            view.seen_written_at = now
        self.batch.presence[device_id] = {
            "online": o.online,
            "last_seen_at": view.seen_written_at or now,
            "last_seq": view.state.last_seq,
        }
        self._accepted["online"] += 1

    def _known(self, topic: str, device_id: str, payload: bytes) -> DeviceView | None:
        """The device's view, or None with the message refused as from an unknown device."""
        view = self._view(device_id)
        if view is None:
            self._reject(topic, device_id, payload, Rejection(Reason.UNKNOWN_DEVICE, device_id))
        return view

    def _view(self, device_id: str) -> DeviceView | None:
        view = self.views.get(device_id)
        if view is not None or len(device_id) > MAX_DEVICE_ID:
            return view
        now = self.clock.now()
        if self._unknown.get(device_id, now - UNKNOWN_RECHECK) > now - UNKNOWN_RECHECK:
            return None
        while self._lookups and self._lookups[0] <= now - UNKNOWN_RECHECK:
            self._lookups.popleft()
        if len(self._lookups) >= LOOKUPS_PER_MINUTE:  # a flood of made-up ids must not flood the database
            return None
        self._lookups.append(now)
        found = load_devices(self.sessions, self.book, [device_id])  # registered after we started?
        if device_id in found:
            self.views[device_id] = found[device_id]
            self._unknown.pop(device_id, None)
            return found[device_id]
        if len(self._unknown) > 10_000:
            self._unknown.clear()  # bounded memory under a flood of made-up ids
        self._unknown[device_id] = now
        return None

    def _seen(self, view: DeviceView, now: datetime, seq: int | None) -> None:
        if view.online and view.seen_written_at is not None and now - view.seen_written_at < SEEN_EVERY:
            return
        view.online = True
        view.seen_written_at = now
        self.batch.presence[view.device_id] = {"online": True, "last_seen_at": now, "last_seq": seq}

    def _reject(self, topic: str, device_id: str | None, payload: bytes, rejection: Rejection) -> None:
        self.batch.dead_letters.append(
            {
                "received_at": self.clock.now(),
                "topic": topic[:200],
                "device_id": device_id[:40] if device_id else None,
                "reason": rejection.reason.value,
                "detail": rejection.detail[:300],
                **dead_letters.kept_bytes(payload),
            }
        )
        self.batch.count(f"rejected.{rejection.reason.value}")

    # -- boxes taken over, boxes gone silent ---------------------------------------------------------
    def reload(self, device_ids: set[str]) -> None:
        """Read these boxes' states again (a partition taken over: what its last holder wrote)."""
        if not device_ids:
            return
        fresh = load_devices(self.sessions, self.book, device_ids)
        self.views.update(fresh)
        for device_id, view in fresh.items():
            self._events.pop(device_id, None)
            self.deadlines.restored(device_id, view.state, view.thresholds)

    def use_lanes(self, lane_of: Callable[[str], int], grace_s: float | None = None) -> None:
        """Deadlines kept per lane (the partitioned ingest: a lane is a partition)."""
        grace = self.deadlines.grace.total_seconds() if grace_s is None else grace_s
        self.deadlines = DeadlineBook(grace, lane_of, self.deadlines.settle_s)
        for view in self.views.values():
            self.deadlines.restored(view.device_id, view.state, view.thresholds)

    def judge_deadlines(self, link_up: bool = True, lanes: set[int] | None = None,
                        skip: set[str] | frozenset[str] = frozenset()) -> int:  # fmt: skip
        """Judge the boxes whose timed condition reached its limit with no message since (a box silent
        mid-fault); their findings go with the next flush like any other. How many were judged."""
        if not link_up:
            self.deadlines.hold()
            return 0
        judged = 0
        for device_id, at in list(self.deadlines.passed(lanes, skip)):
            view = self.views.get(device_id)
            if view is None:
                continue
            judged += 1
            st = view.state
            findings = judge_deadlines(st, at, view.thresholds)
            if st.dirty:
                self.dirty.add(device_id)
                st.dirty = False
            if findings:
                self.signals.extend({**f.signal(), "elevator_id": view.elevator_id} for f in findings)
                self.batch.count("judged_on_clock", len(findings))
            self.deadlines.schedule(device_id, st, view.thresholds)
        return judged

    def check_offline(self, lock: AbstractContextManager[object] | None = None) -> list[str]:
        """Boxes online but unheard for the heartbeat timeout go offline (one statement over the shared
        table, any process may run it); their views follow."""
        try:
            silent = mark_silent_offline(self.sessions, self.clock.now(), self.limits.heartbeat_timeout_s)
        except Exception:
            log.exception("heartbeat check failed")
            return []
        with lock or nullcontext():
            for device_id in silent:
                if device_id in self.views:
                    self.views[device_id].online = False
        if silent:
            log.info("%d device(s) went silent: offline", len(silent))
        return silent

    # -- the batch ------------------------------------------------------------------------------
    def pending(self) -> bool:
        return bool(self.signals or self.dirty or not self.batch.empty() or any(self._accepted.values()))

    def take(self) -> Flush:
        """Cut the batch: what the messages handled so far produced, with the detector states as they
        stand now. The caller holds the lock `handle` runs under; `commit` then runs outside it."""
        batch = self.batch
        for device_id in self.dirty:
            view = self.views[device_id]
            batch.states[device_id] = {**view.state.durable(), **seq_record(view)}
        for kind, n in self._accepted.items():
            if n:
                batch.count(f"accepted.{kind}", n)
        cut = Flush(self.signals, batch)
        self.batch = Batch()
        self.signals = []
        self.dirty = set()
        self._accepted = dict.fromkeys(self._accepted, 0)
        return cut

    def commit(self, cut: Flush) -> None:
        """Hand on, then persist. Raises when either fails; retry the same cut (nothing is acked)."""
        if cut.signals:
            self.deliver(cut.signals)
            cut.signals = []  # handed on: a retry of the write must not queue them twice
        write_batch(self.sessions, cut.batch, self.clock.now())

    def flush(self) -> None:
        self.commit(self.take())


@dataclass
class Flush:
    signals: list[dict[str, Any]]
    batch: Batch
