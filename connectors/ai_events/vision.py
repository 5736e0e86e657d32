"""Detections become AI events, through the same path as the webhook (connectors.ai_events.flows).

An e-bike in the car is an `ebike` event (P2 warning). People alone are not an event: someone in a
car is normal; only when the caller knows the car is stuck (telemetry: stopped outside the levelling
zone, doors closed) do people in the snapshot make a `trapped` event (rescue)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from connectors.ai_events.flows import Accepted, accept_event
from connectors.ai_events.schema import AiEvent, snapshot_from_bytes
from detectors.vision.adapter import Detection
from processes.system import System

SOURCE = "vision"  # our own detector: in-process, so no HMAC; events carry this source name


def events_for(
    elevator_code: str,
    image: bytes,
    detections: list[Detection],
    *,
    now: datetime,
    car_stuck: bool = False,
    max_bytes: int,
) -> list[AiEvent]:
    snapshot = snapshot_from_bytes(image, max_bytes)
    digest = hashlib.sha256(image).hexdigest()[:24]
    best: dict[str, float] = {}
    for d in detections:
        if d.kind:
            best[d.kind] = max(best.get(d.kind, 0.0), d.score)
    wanted: list[tuple[str, float]] = []
    if "ebike" in best:
        wanted.append(("ebike", best["ebike"]))
    if car_stuck and "person" in best:
        wanted.append(("trapped", best["person"]))
    return [
        # event_id from the image: the same snapshot analysed twice is one event
        AiEvent(
            event_id=f"{digest}:{kind}",
            source=SOURCE,
            type=kind,
            confidence=round(score, 4),
            ts=now,
            elevator_code=elevator_code,
            snapshot=snapshot,
        )
        for kind, score in wanted
    ]


def submit_detections(
    system: System, elevator_code: str, image: bytes, detections: list[Detection], *, car_stuck: bool = False
) -> list[Accepted]:
    events = events_for(
        elevator_code,
        image,
        detections,
        now=system.clock.now(),
        car_stuck=car_stuck,
        max_bytes=system.settings.max_upload_bytes,
    )
    return [accept_event(system, event) for event in events]
