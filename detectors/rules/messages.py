"""The telemetry contract (DESIGN, GB/T 24476-2017 field names) as typed messages, and a pure parser:
raw bytes in, a message or a `Rejection` with its reason out. It never raises on input.

Stateful checks (unknown device, old or repeated seq, clock skew) need the registry and the clock
and live in `gate.py`; this module only judges the bytes themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson


class Reason(StrEnum):
    BAD_TOPIC = "bad_topic"
    BAD_JSON = "bad_json"
    NOT_OBJECT = "not_object"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    OUT_OF_RANGE = "out_of_range"
    BAD_TS = "bad_ts"
    DEVICE_MISMATCH = "device_mismatch"
    UNKNOWN_DEVICE = "unknown_device"
    OLD_SEQ = "old_seq"
    DUPLICATE_SEQ = "duplicate_seq"
    DUPLICATE_EVENT = "duplicate_event"
    CLOCK_SKEW = "clock_skew"
    UNKNOWN_CODE = "unknown_code"
    INTERNAL_ERROR = "internal_error"  # a bug of ours: the message is kept for a replay


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: Reason
    detail: str = ""


@dataclass(frozen=True, slots=True)
class StatusMessage:
    device_id: str
    ts: datetime
    seq: int
    service_mode: int
    car_status: int
    car_direction: int
    car_position: int
    door_zone: int
    door_status: int
    passenger_status: int
    power_status: int
    speed: float
    alarm_button: int
    up_limit: int
    down_limit: int
    # Optional (boxes with a load sensor): absent or null -> the overload rule is off for the box.
    load_percent: float | None = None  # car load, % of the rated load
    load_status: int | None = None  # 0 normal, 1 full (满载), 2 overloaded (超载)


@dataclass(frozen=True, slots=True)
class EventMessage:
    device_id: str
    ts: datetime
    event_id: str
    code: int


@dataclass(frozen=True, slots=True)
class OnlineMessage:
    device_id: str
    online: bool


# Enumerated status fields and their allowed values (DESIGN's telemetry contract).
STATUS_ENUMS: dict[str, frozenset[int]] = {
    "service_mode": frozenset(range(7)),
    "car_status": frozenset({0, 1}),
    "car_direction": frozenset({0, 1, 2}),
    "door_zone": frozenset({1, 2}),
    "door_status": frozenset({0, 1, 2, 3}),
    "passenger_status": frozenset({1, 2}),
    "power_status": frozenset({1, 2}),
    "alarm_button": frozenset({0, 1}),
    "up_limit": frozenset({0, 1}),
    "down_limit": frozenset({0, 1}),
}
ENUM_ITEMS = tuple(STATUS_ENUMS.items())
LOAD_STATUS = frozenset({0, 1, 2})
OVERLOADED = 2
MAX_LOAD_PERCENT = 300
STATUS_ORDER = ("ts", "seq", "car_position", "speed", *STATUS_ENUMS)
STATUS_FIELDS = frozenset(STATUS_ORDER)
# GB/T 24476 event codes plus the platform's own (9, 10, 11).
EVENT_CODES = frozenset({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 41, 90})
MAX_DEVICE_ID = 40
MAX_SEQ = 2**63 - 1
MAX_FLOOR = 200


def _int(value: Any) -> bool:
    return type(value) is int  # bool is an int subclass and never a valid field value here


def parse_ts(value: Any) -> datetime | Rejection:
    if not isinstance(value, str):
        return Rejection(Reason.WRONG_TYPE, "ts must be an ISO 8601 string")
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        return Rejection(Reason.BAD_TS, "ts is not ISO 8601")
    if ts.tzinfo is None:
        return Rejection(Reason.BAD_TS, "ts has no UTC offset")
    return ts


def _object(raw: bytes) -> dict[str, Any] | Rejection:
    try:
        data = orjson.loads(raw)
    except (orjson.JSONDecodeError, TypeError):
        return Rejection(Reason.BAD_JSON, "payload is not JSON")
    if not isinstance(data, dict):
        return Rejection(Reason.NOT_OBJECT, "payload is not a JSON object")
    return data


def _device(data: dict[str, Any], topic_device: str) -> str | Rejection:
    device_id = data.get("device_id")
    if device_id is None:
        return Rejection(Reason.MISSING_FIELD, "device_id")
    if not isinstance(device_id, str) or not device_id or len(device_id) > MAX_DEVICE_ID:
        return Rejection(Reason.WRONG_TYPE, "device_id must be a string of 1-40 characters")
    if device_id != topic_device:
        return Rejection(Reason.DEVICE_MISMATCH, "device_id differs from the topic's")
    return device_id


def parse_status(raw: bytes, topic_device: str) -> StatusMessage | Rejection:
    data = _object(raw)
    if isinstance(data, Rejection):
        return data
    device_id = _device(data, topic_device)
    if isinstance(device_id, Rejection):
        return device_id
    if not data.keys() >= STATUS_FIELDS:
        missing = next(name for name in STATUS_ORDER if name not in data)
        return Rejection(Reason.MISSING_FIELD, missing)
    ts = parse_ts(data["ts"])
    if isinstance(ts, Rejection):
        return ts
    seq = data["seq"]
    if type(seq) is not int:
        return Rejection(Reason.WRONG_TYPE, "seq must be an integer")
    if not 0 <= seq <= MAX_SEQ:
        return Rejection(Reason.OUT_OF_RANGE, "seq")
    position = data["car_position"]
    if type(position) is not int:
        return Rejection(Reason.WRONG_TYPE, "car_position must be an integer")
    if not -MAX_FLOOR <= position <= MAX_FLOOR:
        return Rejection(Reason.OUT_OF_RANGE, "car_position")
    speed = data["speed"]
    if type(speed) not in (int, float):
        return Rejection(Reason.WRONG_TYPE, "speed must be a number")
    if not 0 <= speed <= 20:  # also refuses NaN
        return Rejection(Reason.OUT_OF_RANGE, "speed")
    for name, allowed in ENUM_ITEMS:
        value = data[name]
        if type(value) is not int:  # also refuses bools and unhashable lists before `in`
            return Rejection(Reason.WRONG_TYPE, f"{name} must be an integer")
        if value not in allowed:
            return Rejection(Reason.OUT_OF_RANGE, name)
    load = _load(data)
    if isinstance(load, Rejection):
        return load
    return StatusMessage(
        device_id,
        ts,
        seq,
        data["service_mode"],
        data["car_status"],
        data["car_direction"],
        position,
        data["door_zone"],
        data["door_status"],
        data["passenger_status"],
        data["power_status"],
        float(speed),
        data["alarm_button"],
        data["up_limit"],
        data["down_limit"],
        *load,
    )


def _load(data: dict[str, Any]) -> tuple[float | None, int | None] | Rejection:
    """The optional load fields (null is the same as absent)."""
    percent = data.get("load_percent")
    if percent is not None:
        if type(percent) not in (int, float):
            return Rejection(Reason.WRONG_TYPE, "load_percent must be a number")
        if not 0 <= percent <= MAX_LOAD_PERCENT:  # also refuses NaN
            return Rejection(Reason.OUT_OF_RANGE, "load_percent")
        percent = float(percent)
    status = data.get("load_status")
    if status is not None:
        if type(status) is not int:
            return Rejection(Reason.WRONG_TYPE, "load_status must be an integer")
        if status not in LOAD_STATUS:
            return Rejection(Reason.OUT_OF_RANGE, "load_status")
    return percent, status


def parse_event(raw: bytes, topic_device: str) -> EventMessage | Rejection:
    data = _object(raw)
    if isinstance(data, Rejection):
        return data
    device_id = _device(data, topic_device)
    if isinstance(device_id, Rejection):
        return device_id
    for name in ("ts", "event_id", "code"):
        if name not in data:
            return Rejection(Reason.MISSING_FIELD, name)
    ts = parse_ts(data["ts"])
    if isinstance(ts, Rejection):
        return ts
    event_id = data["event_id"]
    if _int(event_id):
        event_id = str(event_id)
    if not isinstance(event_id, str) or not event_id or len(event_id) > 64:
        return Rejection(Reason.WRONG_TYPE, "event_id must be a string of 1-64 characters")
    code = data["code"]
    if not _int(code):
        return Rejection(Reason.WRONG_TYPE, "code must be an integer")
    if code not in EVENT_CODES:
        return Rejection(Reason.UNKNOWN_CODE, f"code {code}")
    return EventMessage(device_id, ts, event_id, code)


def parse_online(raw: bytes, topic_device: str) -> OnlineMessage | Rejection:
    text = raw.strip()
    if text in (b"1", b"0"):
        return OnlineMessage(topic_device, text == b"1")
    return Rejection(Reason.OUT_OF_RANGE, "online payload must be 1 or 0")
