"""Hostile JSON bodies answer 400 with a message, never 500, and write nothing: on the signed AI
webhook (a valid signature: the sender holds the secret) and on the API's own JSON bodies, through
the one guard (web/http/json_body.py)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from connectors.ai_events.service import add_source
from connectors.ai_events.signature import sign
from engine.models import Case
from infra.clock import SimulatedClock
from processes.models import Attachment, Signal
from processes.system import System
from registry.models import Elevator, User
from tests.support.api_client import Client, app_for
from tests.support.hostile_files import png_claiming
from tests.support.system import make_system
from web.http.json_body import MAX_DEPTH, JsonRefused, loads

SOURCE = "hik-city"
DEEP = b"[" * 100_000 + b"]" * 100_000
HUGE_INT = b"1" * 100_000


@pytest.fixture
def hook(sqlite_url: str, clock: SimulatedClock, tmp_path: Path) -> Iterator[tuple[System, Flask, str]]:
    system = make_system(sqlite_url, clock, elevators=20, upload_dir=tmp_path / "uploads")
    with system.sessions() as session, session.begin():
        secret = add_source(session, SOURCE, clock.now())
    yield system, app_for(system), secret
    system.db.dispose()


def post(app: Flask, secret: str, raw: bytes) -> Any:
    headers = {"X-Liftcase-Source": SOURCE, "X-Liftcase-Signature": sign(secret, raw)}
    return app.test_client().post("/hooks/ai-events", data=raw, headers=headers, content_type="application/json")


def event(system: System, **over: Any) -> dict[str, Any]:
    with system.sessions() as session:
        code = session.scalars(select(Elevator.register_code).order_by(Elevator.id)).first()
    body = {"event_id": "e1", "source": SOURCE, "type": "trapped", "confidence": 0.9, "elevator_code": code}
    return {**body, "ts": system.clock.now().isoformat(), **over}


def nothing_written(system: System) -> bool:
    with system.sessions() as session:
        counts = [session.scalar(select(func.count()).select_from(t)) for t in (Case, Signal, Attachment)]
    return counts == [0, 0, 0] and not any(system.settings.upload_dir.rglob("*"))


def test_webhook_deeply_nested_json_is_400(hook: tuple[System, Flask, str]) -> None:
    system, app, secret = hook
    r = post(app, secret, DEEP)
    assert r.status_code == 400 and "nested deeper than" in r.get_json()["message"]
    unsigned = app.test_client().post("/hooks/ai-events", data=DEEP, content_type="application/json")
    assert unsigned.status_code == 401  # a stranger's body is not even parsed
    # deep enough to break the schema or a recursive walk, not the parser: refused the same
    inside = json.dumps(event(system, extra=json.loads("[" * 500 + "]" * 500))).encode()
    r = post(app, secret, inside)
    assert r.status_code == 400 and f"deeper than {MAX_DEPTH}" in r.get_json()["message"]
    assert nothing_written(system)


def test_webhook_huge_integer_is_400(hook: tuple[System, Flask, str]) -> None:
    system, app, secret = hook
    raw = json.dumps(event(system)).encode().replace(b'"confidence": 0.9', b'"confidence": ' + HUGE_INT)
    r = post(app, secret, raw)
    assert r.status_code == 400 and "integer of 100000 digits" in r.get_json()["message"]
    for number in (b"1e999", b"NaN", b"-Infinity"):
        raw = json.dumps(event(system)).encode().replace(b"0.9", number)
        assert post(app, secret, raw).status_code == 400, number
    assert nothing_written(system)


def test_webhook_snapshot_claiming_ten_billion_pixels_is_422(hook: tuple[System, Flask, str]) -> None:
    system, app, secret = hook
    for bomb in (png_claiming(100_000, 100_000), png_claiming(8_000, 8_000)):
        raw = json.dumps(event(system, snapshot=base64.b64encode(bomb).decode())).encode()
        r = post(app, secret, raw)
        assert r.status_code == 422, r.get_json()
        assert "pixels" in r.get_json()["errors"]["snapshot"][0]
    assert nothing_written(system)


@pytest.fixture
def api(sqlite_url: str, clock: SimulatedClock) -> Iterator[tuple[System, Flask]]:
    system = make_system(sqlite_url, clock, elevators=20)
    yield system, app_for(system)
    system.db.dispose()


def test_api_json_bodies_pass_the_same_guard(api: tuple[System, Flask]) -> None:
    system, app = api
    admin = Client(app, "admin")
    with system.sessions() as session:
        user_id = session.scalar(select(User.id).where(User.username == "maint"))
    headers = {"X-CSRF-Token": admin.csrf, "Content-Type": "application/json"}
    hostile = {
        "deep": DEEP,
        "deep but parseable": b'{"display_name": ' + b"[" * 200 + b"]" * 200 + b"}",
        "huge integer": b'{"organisation_id": ' + HUGE_INT + b"}",
        "not a number": b'{"organisation_id": NaN}',
        "not UTF-8": b'{"display_name": "\xff\xfe"}',
    }
    for name, raw in hostile.items():
        r = admin.http.patch(f"/api/v1/users/{user_id}", data=raw, headers=headers)
        assert r.status_code == 400, (name, r.status_code, r.get_json())
        assert r.get_json()["message"], name
    # a public view (sign-in) is guarded too, and an ordinary body still works
    sign_in = app.test_client().post("/api/v1/session", data=DEEP, content_type="application/json")
    assert sign_in.status_code == 400
    assert admin.patch(f"/api/v1/users/{user_id}", json={"display_name": "维保 张"}).status_code == 200


def test_the_guard_itself() -> None:
    assert loads(b'{"a": [1, 2.5, "x", null, true]}') == {"a": [1, 2.5, "x", None, True]}
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    for bad in ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "9" * 31, "1e400", "Infinity", "{", ""):
        with pytest.raises(JsonRefused):
            loads(bad)
