"""The one path from an AI event to a case, for the webhook and for detectors/vision alike:
resolve the elevator, store the snapshot, open or join the case (idempotent on event_id),
attach the snapshot to it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from connectors.ai_events import service
from connectors.ai_events.schema import AiEvent, EventInvalid
from engine.models import Case
from processes import case_flows
from processes.attachments import AttachmentRejected, store_bytes
from processes.models import Signal
from processes.system import System

# Event type -> (case type, warning type). trapped is a rescue (P1); the others are warnings whose
# priority processes/sla.toml decides (ebike is listed as safety-critical there: P2; the rest P3).
ROUTES: dict[str, tuple[str, str | None]] = {
    "trapped": ("rescue", None),
    "ebike": ("warning", "ebike"),
    "abnormal_behavior": ("warning", "abnormal_behavior"),
    "left_object": ("warning", "left_object"),
    "ad_violation": ("warning", "ad_violation"),
}


@dataclass(frozen=True)
class Accepted:
    case_id: int
    case_number: str
    case_type: str
    priority: str | None
    joined: bool
    duplicate: bool
    attachment_id: int | None


def idempotency_key(source: str, event_id: str) -> str:
    return f"ai:{source}:{event_id}"[:160]


def accept_event(system: System, event: AiEvent) -> Accepted:
    """EventInvalid (per field) when the event names no known elevator; otherwise the case it reached."""
    with system.sessions() as session:
        elevator_id = service.elevator_for(
            session, source_name=event.source, elevator_code=event.elevator_code, camera_id=event.camera_id
        )
    if elevator_id is None:
        field = "elevator_code" if event.elevator_code else "camera_id"
        raise EventInvalid({field: [f"no registered elevator for {field} {event.elevator_code or event.camera_id!r}"]})
    # The file first: if we stop after it, a retry finds the signal and still attaches the file.
    try:
        stored = (
            store_bytes(system.settings.upload_dir, event.snapshot.data, max_bytes=system.settings.max_upload_bytes)
            if event.snapshot
            else None
        )
    except AttachmentRejected as err:  # decodes no further than its header says: refused, nothing written
        raise EventInvalid({"snapshot": [str(err)]}) from err
    _refuse_a_reused_event_id(system, event, elevator_id, stored.sha256 if stored else None)
    case_type, warning_type = ROUTES[event.type]
    signal = {
        "source": "ai",
        "kind": event.type,
        "ai_source": event.source,
        "event_id": event.event_id,
        "confidence": event.confidence,
        "ts": event.ts.isoformat(),
        "camera_id": event.camera_id,
        "snapshot_sha256": stored.sha256 if stored else None,
        "idempotency_key": idempotency_key(event.source, event.event_id),
    }
    if warning_type:
        signal["warning_type"] = warning_type
    else:
        signal["trapped_count"] = 1
    intake = case_flows.take_signal(
        system, case_type, elevator_id=elevator_id, signal=signal, actor=f"ai:{event.source}"[:60]
    )
    attachment_id = None
    if stored is not None:
        ext = "png" if stored.content_type == "image/png" else "jpg"
        filename = f"{event.type}-{event.event_id}.{ext}"
        attachment_id = case_flows.attach_snapshot(system, intake.case_id, stored, filename)
    with system.sessions() as session:
        case = session.get(Case, intake.case_id)
        number, priority, real_type = case.number, case.priority, case.case_type
    return Accepted(intake.case_id, number, real_type, priority, intake.joined, intake.duplicate, attachment_id)


# What an event sent again under its event_id must repeat; its `ts` may be re-stamped by a sender's retry.
_SAME_EVENT = ("kind", "camera_id", "confidence", "snapshot_sha256")


def _refuse_a_reused_event_id(system: System, event: AiEvent, elevator_id: int, snapshot_sha256: str | None) -> None:
    """EventInvalid on `event_id` when this source already sent that id for a different event (another
    type, elevator, camera, confidence or snapshot, the photo compared as stored): answering
    `duplicate` would tell the sender its new event reached a case when it was dropped. The same
    event again passes (and is a duplicate)."""
    key = idempotency_key(event.source, event.event_id)
    with system.sessions() as session:
        kept = session.scalar(select(Signal).where(Signal.idempotency_key == key))
    if kept is None:
        return
    now: dict[str, Any] = {
        "kind": event.type,
        "camera_id": event.camera_id,
        "confidence": event.confidence,
        "snapshot_sha256": snapshot_sha256,  # of the stored (re-encoded) photo, as the signal keeps it
    }
    before = kept.payload or {}
    if kept.elevator_id != elevator_id or any(before.get(k) != now[k] for k in _SAME_EVENT):
        at = kept.received_at.isoformat()
        raise EventInvalid(
            {
                "event_id": [
                    f"event_id {event.event_id!r} was already used for a different event ({before.get('kind')} "
                    f"received {at}); send a new event under a new event_id"
                ]
            }
        )
