"""Fuzzed payloads (hypothesis) never crash the parser or the ingest, and each message is accounted
for: accepted, or dead-lettered with its reason."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from connectors.models import DeadLetter, IngestCounter
from detectors.rules.messages import (
    EventMessage,
    OnlineMessage,
    Rejection,
    StatusMessage,
    parse_event,
    parse_online,
    parse_status,  # fmt: skip
)
from infra.clock import SimulatedClock
from tests.connectors.mqtt.test_ingest_pipeline import IDLE, pipeline_for
from tests.support.system import make_system

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
FIELDS = ["device_id", "ts", "seq", *IDLE]


def template(device_id: str = "D1") -> dict[str, Any]:
    return {"device_id": device_id, "ts": "2026-11-23T09:30:00+08:00", "seq": 1, **IDLE}


@st.composite
def mangled_status(draw: st.DrawFn, device_id: str = "D1") -> bytes:
    """A valid status with some fields replaced, dropped or added: closer to real faults than noise."""
    body = template(device_id)
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=4)):
        action = draw(st.sampled_from(["replace", "drop"]))
        if action == "drop":
            body.pop(name, None)
        else:
            body[name] = draw(json_values)
    extra = draw(st.dictionaries(st.text(max_size=8), json_values, max_size=2))
    return json.dumps({**body, **extra}, allow_nan=True).encode()


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash_the_parsers(raw: bytes) -> None:
    assert isinstance(parse_status(raw, "D1"), StatusMessage | Rejection)
    assert isinstance(parse_event(raw, "D1"), EventMessage | Rejection)
    assert isinstance(parse_online(raw, "D1"), OnlineMessage | Rejection)


@given(mangled_status())
def test_mangled_status_is_a_message_or_a_reasoned_rejection(raw: bytes) -> None:
    result = parse_status(raw, "D1")
    if isinstance(result, Rejection):
        assert result.reason.value and isinstance(result.detail, str)
    else:
        assert result.device_id == "D1" and result.ts.tzinfo is not None


def test_fuzzed_stream_never_stops_the_ingest_and_nothing_goes_unaccounted(
    sqlite_url: str, clock: SimulatedClock
) -> None:
    system = make_system(sqlite_url, clock, elevators=40)
    pipeline = pipeline_for(system)
    device_id = sorted(pipeline.views)[0]
    names = [f"lift/{device_id}/status", f"lift/{device_id}/event", f"lift/{device_id}/online"]
    names += ["lift/UNKNOWN/status", "lift//status", "other/topic", "lift/" + "x" * 60 + "/status"]
    topics = st.sampled_from(names)
    payloads = st.one_of(st.binary(max_size=200), mangled_status(device_id), st.sampled_from([b"1", b"0", b""]))
    sent = 0

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(topics, payloads)
    def feed(topic: str, raw: bytes) -> None:
        nonlocal sent
        pipeline.handle(topic, raw)
        sent += 1

    feed()
    pipeline.flush()
    with system.sessions() as session:
        counted = session.scalar(select(func.sum(IngestCounter.value))) or 0
        dead = session.scalar(select(func.count()).select_from(DeadLetter))
        internal = session.scalar(
            select(func.count()).select_from(DeadLetter).where(DeadLetter.reason == "internal_error")
        )
    assert counted == sent
    assert dead >= 1
    assert internal == 0  # no bug of ours was hit
    assert system.jobs.failed == []
    system.db.dispose()
