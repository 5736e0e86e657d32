"""The AI event payload (DESIGN's contract), checked field by field before anything is written."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from processes import images

EVENT_TYPES = ("trapped", "left_object", "abnormal_behavior", "ad_violation", "ebike")
SNAPSHOT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}


class EventInvalid(ValueError):
    """Per-field problems, answered as 422 `{"errors": {field: [message]}}`."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__("the event has errors")
        self.errors = errors


@dataclass(frozen=True)
class Snapshot:
    data: bytes
    content_type: str


@dataclass(frozen=True)
class AiEvent:
    event_id: str
    source: str
    type: str
    confidence: float
    ts: datetime
    elevator_code: str | None = None
    camera_id: str | None = None
    snapshot: Snapshot | None = None


class EventSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # vendors add fields of their own; we read only ours

    event_id = fields.String(required=True, validate=validate.Length(1, 120))
    source = fields.String(required=True, validate=validate.Length(1, 60))
    elevator_code = fields.String(validate=validate.Length(1, 32), allow_none=True)
    camera_id = fields.String(validate=validate.Length(1, 80), allow_none=True)
    type = fields.String(required=True, validate=validate.OneOf(EVENT_TYPES))
    confidence = fields.Float(required=True, validate=validate.Range(0.0, 1.0))
    ts = fields.AwareDateTime(required=True)
    snapshot = fields.String(allow_none=True)

    @validates_schema
    def _one_target(self, data: dict[str, Any], **_kw: Any) -> None:
        if not data.get("elevator_code") and not data.get("camera_id"):
            raise ValidationError("give elevator_code or camera_id", "elevator_code")


def decode_snapshot(value: str, max_bytes: int) -> Snapshot:
    """Base64 JPEG or PNG (a data: URI prefix is accepted); ValidationError otherwise."""
    if value.startswith("data:"):
        value = value.split(",", 1)[-1]
    if len(value) > max_bytes * 4 // 3 + 4:
        raise ValidationError(f"snapshot is larger than {max_bytes} bytes")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as err:
        raise ValidationError("snapshot is not valid base64") from err
    return snapshot_from_bytes(data, max_bytes)


def snapshot_from_bytes(data: bytes, max_bytes: int) -> Snapshot:
    """A JPEG or PNG image within the pixel budget (processes.images); ValidationError for anything
    else. Stored re-encoded, as every photo is."""
    if len(data) > max_bytes:
        raise ValidationError(f"snapshot is larger than {max_bytes} bytes")
    try:
        kind = images.check(data)
    except images.ImageRefused as err:
        raise ValidationError(f"snapshot is not a usable JPEG or PNG image: {err}") from err
    if kind not in SNAPSHOT_TYPES:
        raise ValidationError(f"snapshot must be JPEG or PNG, not {kind}")
    return Snapshot(data, SNAPSHOT_TYPES[kind])


def parse_event(payload: Any, *, max_bytes: int) -> AiEvent:
    if not isinstance(payload, dict):
        raise EventInvalid({"_schema": ["the body must be a JSON object"]})
    errors: dict[str, Any] = {}
    try:
        data = EventSchema().load(payload)
    except ValidationError as err:
        errors = dict(err.normalized_messages())  # type: ignore[arg-type]
        data = {}
    snapshot = None
    raw = payload.get("snapshot")
    if raw and isinstance(raw, str):  # checked even when other fields failed: report every problem at once
        try:
            snapshot = decode_snapshot(raw, max_bytes)
        except ValidationError as err:
            errors["snapshot"] = err.messages
    if errors:
        raise EventInvalid(errors)
    return AiEvent(
        event_id=data["event_id"],
        source=data["source"],
        type=data["type"],
        confidence=float(data["confidence"]),
        ts=data["ts"],
        elevator_code=data.get("elevator_code") or None,
        camera_id=data.get("camera_id") or None,
        snapshot=snapshot,
    )
