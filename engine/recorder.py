"""What one step (or one case start) changed, collected in memory before anything is written.

A StepRecorder holds the new timeline entries, task rows, task changes, notifications and timer
set of one case; engine.writes.Writes then writes the recorders of a transaction in bulk.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from engine.models import Case, EventKind
from engine.numbers import IdSource
from engine.timeline import GENESIS, event_hash
from engine.workflow_cache import Kept


@dataclass(frozen=True)
class QueuedNotices:
    """The notices one step (or one case start) queued, handed on after its commit with their
    case's priority: whoever delivers them routes a P1 rescue's first without reading the case."""

    ids: list[int]
    priority: str | None


@dataclass
class StepRecorder:
    """Collects what a step did, then writes it in bulk (few statements per step, not per row).

    `ids` hands out the ids of new notification rows (their ids are on the timeline); a recorder
    without one (a cancellation, an entry that is not a step) adds no such rows."""

    session: Session
    case: Case
    now: datetime
    actor: str
    events: list[dict[str, Any]] = field(default_factory=list)
    notification_ids: list[int] = field(default_factory=list)
    ids: IdSource | None = None
    new_tasks: list[dict[str, Any]] = field(default_factory=list)
    task_changes: dict[str, dict[str, Any]] = field(default_factory=dict)  # by spiff task id
    notifications: list[dict[str, Any]] = field(default_factory=list)
    timers: list[dict[str, Any]] | None = None  # the case's full timer set, when it changed
    timers_before: set[tuple[str, str, datetime]] | None = None
    task: Any = None  # the task row a completion is about (read with the case's open tasks)
    kept: Kept | None = None  # the stepped workflow, for engine.workflow_cache once committed

    def event(self, kind: EventKind, payload: dict[str, Any] | None = None, actor: str | None = None) -> None:
        case = self.case
        seq = case.timeline_seq + 1
        prev = case.timeline_head or GENESIS
        who = actor or self.actor
        # Hash exactly what the database will hand back: JSON-native values only.
        body = json.loads(json.dumps(payload or {}, default=str, ensure_ascii=False))
        digest = event_hash(case.id, seq, kind.value, self.now, who, body, prev)
        self.events.append(
            {
                "case_id": case.id,
                "seq": seq,
                "kind": kind.value,
                "at": self.now,
                "actor": who,
                "payload": body,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        case.timeline_seq = seq
        case.timeline_head = digest

    def queued_notices(self) -> QueuedNotices | None:
        """What to hand on after the commit: the new notices and the case's priority, if any."""
        return QueuedNotices(self.notification_ids, self.case.priority) if self.notification_ids else None

    def new_ids(self, table: str, n: int) -> list[int]:
        if self.ids is None:
            raise RuntimeError("this recorder was made without an IdSource: it adds no rows")
        return self.ids.take(table, n)
