"""The signed AI-events webhook: signature, replay window, idempotency on event_id, routing to
rescue or warning cases, snapshots stored and attached, per-field errors with nothing written."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import func, select

from connectors.ai_events.models import AiCamera, AiSource
from connectors.ai_events.service import add_source
from connectors.ai_events.signature import sign
from detectors.vision.synth import scene
from engine.models import Case
from infra.clock import SimulatedClock
from processes.models import Attachment, Signal
from processes.system import System
from registry.models import Elevator
from tests.support.api_client import Client, app_for
from tests.support.system import make_system

SOURCE = "hik-city"


def jpeg() -> bytes:
    image, _ = scene(np.random.default_rng(5), people=1)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


def setup(url: str, clock: SimulatedClock, upload_dir: Path) -> tuple[System, Flask, str]:
    system = make_system(url, clock, elevators=30, upload_dir=upload_dir)
    with system.sessions() as session, session.begin():
        secret = add_source(session, SOURCE, clock.now())
    return system, app_for(system), secret


@pytest.fixture
def hook(sqlite_url: str, clock: SimulatedClock, tmp_path: Path) -> Iterator[tuple[System, Flask, str]]:
    system, app, secret = setup(sqlite_url, clock, tmp_path / "uploads")
    yield system, app, secret
    system.db.dispose()


def elevators(system: System) -> list[Elevator]:
    with system.sessions() as session:
        return list(session.scalars(select(Elevator).order_by(Elevator.id)))


def event(system: System, elevator: Elevator | None, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": "evt-1",
        "source": SOURCE,
        "type": "trapped",
        "confidence": 0.93,
        "ts": system.clock.now().isoformat(),
    }
    if elevator is not None:
        body["elevator_code"] = elevator.register_code
    body.update(over)
    return body


def post(app: Flask, secret: str, payload: Any, *, source: str = SOURCE, signature: str | None = None) -> Any:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {
        "X-Liftcase-Source": source,
        "X-Liftcase-Signature": signature or sign(secret, raw),
        "Content-Type": "application/json",
    }
    return app.test_client().post("/hooks/ai-events", data=raw, headers=headers)


def counts(system: System) -> tuple[int, int, int]:
    with system.sessions() as session:
        return (
            session.scalar(select(func.count()).select_from(Case)),
            session.scalar(select(func.count()).select_from(Signal)),
            session.scalar(select(func.count()).select_from(Attachment)),
        )


def test_trapped_opens_a_rescue_with_the_snapshot_attached(db_url: str, clock: SimulatedClock, tmp_path: Path) -> None:
    system, app, secret = setup(db_url, clock, tmp_path / "uploads")
    try:
        e = elevators(system)[0]
        image = jpeg()
        r = post(app, secret, event(system, e, snapshot=base64.b64encode(image).decode()))
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        assert body["status"] == "opened" and body["case_type"] == "rescue" and body["priority"] == "P1"
        with system.sessions() as session:
            case = session.get(Case, body["case_id"])
            assert case.elevator_id == e.id and case.variables["source"] == "ai"
            attachment = session.scalars(select(Attachment).where(Attachment.case_id == case.id)).one()
            signal = session.scalars(select(Signal)).one()
        assert attachment.id == body["attachment_id"]
        # kept as Pillow re-encoded it (pixels only): the record describes the stored file
        stored = (system.settings.upload_dir / attachment.storage_key).read_bytes()
        assert (attachment.kind, attachment.content_type, attachment.size) == ("snapshot", "image/jpeg", len(stored))
        assert attachment.sha256 == hashlib.sha256(stored).hexdigest() and attachment.reencoded
        with Image.open(io.BytesIO(stored)) as kept, Image.open(io.BytesIO(image)) as sent:
            assert (kept.format, kept.size) == ("JPEG", sent.size)
        assert signal.idempotency_key == f"ai:{SOURCE}:evt-1" and signal.case_id == case.id
        assert signal.payload["snapshot_sha256"] == attachment.sha256
        assert "snapshot" not in signal.payload  # the bytes live in the file store, not in the signal row
        # shown on the case: listed in the case detail and downloadable by staff in scope
        dispatcher = Client(app, "dispatcher")
        detail = dispatcher.get(f"/api/v1/cases/{case.id}").get_json()
        assert [(a["kind"], a["sha256"]) for a in detail["attachments"]] == [("snapshot", attachment.sha256)]
        download = dispatcher.get(f"/api/v1/cases/{case.id}/attachments/{attachment.id}")
        assert download.status_code == 200 and download.data == stored
        assert download.headers["Content-Disposition"].startswith("inline")
    finally:
        system.db.dispose()


def test_bad_missing_or_foreign_signatures_are_refused(hook: tuple[System, Flask, str]) -> None:
    system, app, secret = hook
    e = elevators(system)[0]
    payload = event(system, e)
    raw = json.dumps(payload).encode()
    cases = [
        post(app, secret, payload, signature="sha256=" + "0" * 64),
        post(app, secret, payload, signature=sign("another-secret", raw)),
        post(app, secret, payload, signature=sign(secret, raw + b" ")),  # signed a different body
        post(app, secret, payload, signature=sign(secret, raw).removeprefix("sha256=")),
        post(app, secret, payload, source="nobody"),
        app.test_client().post("/hooks/ai-events", json=payload),
    ]
    for r in cases:
        assert r.status_code == 401, r.get_json()
        assert "signature" in r.get_json()["message"]
    assert counts(system) == (0, 0, 0)


def test_a_disabled_source_is_refused(hook: tuple[System, Flask, str]) -> None:
    system, app, secret = hook
    with system.sessions() as session, session.begin():
        session.scalars(select(AiSource)).one().active = False
    assert post(app, secret, event(system, elevators(system)[0])).status_code == 401


def test_replays_outside_the_window_are_refused(hook: tuple[System, Flask, str], clock: SimulatedClock) -> None:
    system, app, secret = hook
    e = elevators(system)[0]
    old = event(system, e, ts=(clock.now() - timedelta(minutes=6)).isoformat())
    r = post(app, secret, old)
    assert r.status_code == 409 and "replay" in r.get_json()["message"]
    future = event(system, e, ts=(clock.now() + timedelta(minutes=6)).isoformat())
    assert post(app, secret, future).status_code == 409
    assert counts(system) == (0, 0, 0)
    # a message captured now and replayed after the window has passed
    fresh = event(system, e, event_id="evt-2")
    assert post(app, secret, fresh).status_code == 200
    clock.advance(timedelta(minutes=5, seconds=1))
    assert post(app, secret, fresh).status_code == 409


def test_a_duplicate_event_id_reaches_the_same_case_once(hook: tuple[System, Flask, str]) -> None:
    system, app, secret = hook
    e = elevators(system)[0]
    payload = event(system, e, snapshot=base64.b64encode(jpeg()).decode())
    first = post(app, secret, payload).get_json()
    again = post(app, secret, payload)
    assert again.status_code == 200
    assert again.get_json()["status"] == "duplicate" and again.get_json()["case_id"] == first["case_id"]
    assert counts(system) == (1, 1, 1)
    # a new event for the same elevator joins the open rescue
    joined = post(app, secret, event(system, e, event_id="evt-9")).get_json()
    assert joined["status"] == "joined" and joined["case_id"] == first["case_id"]


def test_an_event_id_reused_for_a_different_event_is_refused(hook: tuple[System, Flask, str]) -> None:
    system, app, secret = hook
    e, other = elevators(system)[0], elevators(system)[1]
    payload = event(system, e, snapshot=base64.b64encode(jpeg()).decode())
    first = post(app, secret, payload).get_json()
    for change in (
        {"type": "ebike"},
        {"elevator_code": other.register_code},
        {"confidence": 0.5},
        {"snapshot": None},
    ):
        body = {k: v for k, v in {**payload, **change}.items() if v is not None}
        r = post(app, secret, body)
        assert r.status_code == 422, (change, r.get_json())
        assert "already used for a different event" in r.get_json()["errors"]["event_id"][0]
    assert counts(system) == (1, 1, 1)
    # the very same event again is still a duplicate
    again = post(app, secret, payload).get_json()
    assert again["status"] == "duplicate" and again["case_id"] == first["case_id"]


@pytest.mark.parametrize(
    ("kind", "priority"), [("ebike", "P2"), ("abnormal_behavior", "P3"), ("left_object", "P3"), ("ad_violation", "P3")]
)
def test_behaviour_events_open_warnings_with_their_priority(
    hook: tuple[System, Flask, str], kind: str, priority: str
) -> None:
    system, app, secret = hook
    e = elevators(system)[1]
    r = post(app, secret, event(system, e, type=kind, event_id=f"evt-{kind}"))
    body = r.get_json()
    assert r.status_code == 200 and body["case_type"] == "warning" and body["priority"] == priority
    with system.sessions() as session:
        assert session.get(Case, body["case_id"]).variables["warning_type"] == kind


def test_a_camera_id_is_resolved_through_the_sources_cameras(hook: tuple[System, Flask, str]) -> None:
    system, app, secret = hook
    e = elevators(system)[2]
    with system.sessions() as session, session.begin():
        source_id = session.scalars(select(AiSource.id)).one()
        session.add(AiCamera(source_id=source_id, camera_id="cam-0042", elevator_id=e.id))
    r = post(app, secret, event(system, None, camera_id="cam-0042", type="ebike"))
    assert r.status_code == 200
    with system.sessions() as session:
        assert session.get(Case, r.get_json()["case_id"]).elevator_id == e.id


def test_schema_errors_are_422_per_field_and_write_nothing(hook: tuple[System, Flask, str]) -> None:
    system, app, secret = hook
    e = elevators(system)[0]
    bad = event(system, e, type="fire", confidence=1.5, snapshot="bm90IGFuIGltYWdl")  # "not an image"
    del bad["event_id"]
    r = post(app, secret, bad)
    assert r.status_code == 422
    errors = r.get_json()["errors"]
    assert set(errors) == {"event_id", "type", "confidence", "snapshot"}
    assert "JPEG or PNG" in errors["snapshot"][0]
    r = post(app, secret, event(system, None))
    assert r.status_code == 422 and "elevator_code" in r.get_json()["errors"]
    r = post(app, secret, event(system, None, elevator_code="31105117022099999999"))
    assert r.status_code == 422 and "no registered elevator" in r.get_json()["errors"]["elevator_code"][0]
    r = post(app, secret, event(system, e, source="someone-else"))
    assert r.status_code == 422 and "source" in r.get_json()["errors"]
    r = post(app, secret, event(system, e, ts="yesterday"))
    assert r.status_code == 422 and "ts" in r.get_json()["errors"]
    r = post(app, secret, b"{not json")
    assert r.status_code == 400
    r = post(app, secret, b"[1, 2]")
    assert r.status_code == 422
    assert counts(system) == (0, 0, 0)
    assert not any(system.settings.upload_dir.rglob("*.*"))
