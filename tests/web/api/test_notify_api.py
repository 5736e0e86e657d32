"""The notifications API: my inbox (pages, unread filter, read marks), my channel preferences, the
failures list in scope, and the live stream (SSE) delivering a new notice to the signed-in user."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, select
from werkzeug.serving import make_server

from connectors.notify import live
from connectors.notify.jobs import send_notifications
from connectors.notify.preferences import channels_for
from demo.scenarios import an_elevator
from engine.models import Notification
from infra.clock import SimulatedClock
from infra.jobs import InProcessJobs
from liftcase.bootstrap import JOBS, use_jobs
from processes.intake import open_or_join
from processes.system import System
from registry.accounts.service import create_token
from registry.models import User
from tests.support.services import REDIS_URL, need_service
from tests.support.system import make_system
from web.app import create_app

API = "/api/v1/notifications"
SSE = {"Accept": "text/event-stream"}


@pytest.fixture
def system(sqlite_url: str, clock: SimulatedClock) -> Iterator[System]:
    system = make_system(sqlite_url, clock, elevators=30)
    yield system
    system.db.dispose()


@pytest.fixture
def app(system: System) -> Flask:
    return create_app(system)


def token(system: System, username: str) -> dict[str, str]:
    with system.sessions() as session, session.begin():
        user = session.scalar(select(User).where(User.username == username))
        _, secret = create_token(session, user, "test", now=system.clock.now())
    return {"Authorization": f"Bearer {secret}"}


def user_id(system: System, username: str) -> int:
    with system.sessions() as session:
        return session.scalar(select(User.id).where(User.username == username))


def notify(system: System, username: str, subject: str, *, case_id: int | None = None, send: bool = True) -> int:
    """An inbox notice to one user, queued as a BPMN step queues it, then sent by the job."""
    with system.sessions() as session, session.begin():
        user = session.scalar(select(User).where(User.username == username))
        nid = session.scalar(insert(Notification).returning(Notification.id), {
            "case_id": case_id, "role": "maintenance", "organisation_id": user.organisation_id, "user_id": user.id,
            "channel": "inbox", "subject": subject, "body": f"{subject} body",
            "dedupe_key": f"{subject}:{user.id}:inbox",
            "status": "queued", "attempts": 0, "created_at": system.clock.now()})
    if send:
        send_notifications(system, [nid])
    return nid


def test_my_inbox_pages_unread_and_read_marks(system: System, app: Flask) -> None:
    client = app.test_client()
    assert client.get(API).status_code == 401
    assert client.get(f"{API}/stream").status_code == 401
    paths = client.get("/api/openapi.json").json["paths"]
    assert "text/event-stream" in paths[f"{API}/stream"]["get"]["responses"]["200"]["content"]
    ids = [notify(system, "maint", f"notice {n}") for n in range(5)]
    other = notify(system, "property", "not yours")
    notify(system, "maint", "still queued", send=False)
    me = token(system, "maint")

    page = client.get(f"{API}?page=1&page_size=2", headers=me)
    assert page.status_code == 200
    assert [n["id"] for n in page.json] == ids[::-1][:2]  # newest first
    assert json.loads(page.headers["X-Pagination"])["total"] == 5
    assert client.get(f"{API}?page={10**30}", headers=me).json == []  # far past the end: empty, not an error
    assert client.get(f"{API}/unread-count", headers=me).json == {"unread": 5}

    read = client.post(f"{API}/{ids[0]}/read", headers=me)
    assert read.status_code == 200 and read.json["read_at"]
    assert client.post(f"{API}/{other}/read", headers=me).status_code == 404  # someone else's: not found
    assert [n["id"] for n in client.get(f"{API}?unread=true", headers=me).json] == ids[1:][::-1]
    assert [n["id"] for n in client.get(f"{API}?unread=false", headers=me).json] == [ids[0]]
    assert client.get(f"{API}/unread-count", headers=me).json == {"unread": 4}
    assert client.post(f"{API}/read-all", headers=me).json == {"marked": 4}
    assert client.get(f"{API}/unread-count", headers=me).json == {"unread": 0}
    assert client.get(f"{API}/unread-count", headers=token(system, "property")).json == {"unread": 1}


def test_my_channel_preferences_override_the_role_defaults(system: System, app: Flask) -> None:
    client = app.test_client()
    me = token(system, "regulator")
    prefs = {p["channel"]: p for p in client.get(f"{API}/preferences", headers=me).json}
    assert prefs["inbox"]["source"] == "always"
    assert (prefs["email"]["enabled"], prefs["email"]["source"]) == (True, "role default")
    assert prefs["sms"]["enabled"] is False
    assert prefs["inbox"]["available"] is True and prefs["email"]["available"] is False  # no SMTP set up here

    changed = client.put(f"{API}/preferences/sms", json={"enabled": True, "priorities": "P1"}, headers=me)
    assert changed.status_code == 200
    assert {p["channel"]: (p["enabled"], p["priorities"], p["source"]) for p in changed.json}["sms"] == (
        True, "P1", "own")
    assert client.put(f"{API}/preferences/email", json={"enabled": False}, headers=me).status_code == 200
    assert client.put(f"{API}/preferences/fax", json={"enabled": True}, headers=me).status_code == 404
    assert client.put(f"{API}/preferences/sms", json={"enabled": True, "priorities": "urgent"},
                      headers=me).status_code == 422
    reset = {p["channel"]: p for p in client.delete(f"{API}/preferences/email", headers=me).json}
    assert reset["email"]["source"] == "role default"

    everything = {"email", "sms", "im"}
    # The rules the fan-out applies: the role's defaults, the user's own choice per channel on top.
    assert [c.channel for c in channels_for("district_regulator", "P3", False, {}, everything)] == ["email"]
    own = {"sms": (True, "P1"), "email": (False, "")}
    assert [c.channel for c in channels_for("district_regulator", "P1", False, own, everything)] == ["sms"]
    assert channels_for("district_regulator", "P3", False, own, everything) == []
    assert [c.channel for c in channels_for("maintenance", "P1", True, {}, everything)] == ["im", "sms"]
    assert [c.channel for c in channels_for("maintenance", "P1", False, {}, everything)] == ["im"]
    assert [c.channel for c in channels_for("maintenance", "P1", True, {}, {"im"})] == ["im"]  # only configured


def test_failures_are_listed_for_watchers_in_their_scope(system: System, app: Flask) -> None:
    client = app.test_client()
    case_id = open_or_join(system.engine, system.settings.sla_file, "rescue", elevator_id=an_elevator(system),
                           signal={"source": "qr"}).case_id
    with system.sessions() as session, session.begin():
        failed = session.scalar(insert(Notification).returning(Notification.id), {
            "case_id": case_id, "role": "property", "organisation_id": None, "user_id": user_id(system, "property"),
            "channel": "sms", "subject": "s", "body": "", "dedupe_key": "f:sms", "status": "failed", "attempts": 5,
            "last_error": "gateway answered HTTP 500", "created_at": system.clock.now()})
        district = session.scalar(select(Notification.case_id).where(Notification.id == failed))
    assert district == case_id

    admin = token(system, "admin")
    listed = client.get(f"{API}/failures", headers=admin)
    assert listed.status_code == 200
    assert [(f["id"], f["status"], f["last_error"]) for f in listed.json] == [
        (failed, "failed", "gateway answered HTTP 500")]
    assert client.get(f"{API}/failures", headers=token(system, "dispatcher")).status_code == 403
    assert client.get(f"{API}/failures?status=retrying", headers=admin).json == []

    with system.sessions() as session:  # a regulator of a district the case is not in sees nothing
        home = session.scalar(select(User).where(User.username == "regulator"))
        stranger = session.scalar(
            select(User).where(User.username.like("reg%_1"), User.organisation_id != home.organisation_id))
    assert [f["id"] for f in client.get(f"{API}/failures", headers=token(system, "regulator")).json] == [failed]
    assert client.get(f"{API}/failures", headers=token(system, stranger.username)).json == []
    assert client.get(f"{API}/{failed}/attempts", headers=token(system, stranger.username)).status_code == 404

    retried = client.post(f"{API}/{failed}/retry", headers=admin)
    assert retried.status_code == 202
    # No SMS gateway is configured here: the fresh attempt fails at once, visibly, and is recorded.
    attempts = client.get(f"{API}/{failed}/attempts", headers=admin).json
    assert [(a["attempt"], a["ok"]) for a in attempts] == [(1, False)]
    assert "not configured" in attempts[0]["error"]
    assert client.post(f"{API}/{failed}/retry", headers=token(system, "regulator")).status_code == 403


def test_the_stream_pushes_a_new_notice_to_the_signed_in_user(
    system: System, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "POLL_SECONDS", 0.1)
    monkeypatch.setattr(live, "HEARTBEAT_SECONDS", 0.5)
    client: FlaskClient = app.test_client()
    earlier = notify(system, "maint", "before the stream")
    assert client.get(f"{API}/stream", headers=token(system, "maint")).status_code == 406  # not held open
    response = client.get(f"{API}/stream", headers={**token(system, "maint"), **SSE}, buffered=False)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    chunks = iter(response.response)
    assert b"connected" in next(chunks)

    notify(system, "property", "for somebody else")
    nid = notify(system, "maint", "trapped passenger")
    pushed = next(chunks).decode()
    assert pushed.startswith(f"id: {nid}\nevent: notification\n")
    data = json.loads(pushed.split("data: ", 1)[1])
    assert data["subject"] == "trapped passenger" and data["id"] != earlier
    assert next(chunks) == b": heartbeat\n\n"  # nothing new: a comment keeps proxies from closing it
    response.close()

    # A reconnect with Last-Event-ID gets what it missed, in order.
    missed = [notify(system, "maint", f"missed {n}") for n in range(2)]
    again = client.get(f"{API}/stream", headers={**token(system, "maint"), **SSE, "Last-Event-ID": str(nid)},
                       buffered=False)
    chunks = iter(again.response)
    next(chunks)
    assert [int(next(chunks).decode().split("\n", 1)[0][4:]) for _ in missed] == missed
    again.close()
    assert client.get(f"{API}/stream", headers={**token(system, "maint"), **SSE, "Last-Event-ID": "x"}
                      ).status_code == 400


def test_the_stream_wakes_on_redis_over_a_real_server(
    sqlite_url: str, clock: SimulatedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deployed shape: a real HTTP server thread, Redis pub/sub waking the stream between polls."""
    need_service(6379, "Redis")
    monkeypatch.setattr(live, "POLL_SECONDS", 60.0)  # longer than the read timeout: only a wake-up delivers
    system = make_system(sqlite_url, clock, elevators=30, redis_url=REDIS_URL)
    use_jobs(system, InProcessJobs(JOBS))
    server = make_server("127.0.0.1", 0, create_app(system), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
    try:
        conn.request("GET", f"{API}/stream", headers={**token(system, "maint"), **SSE})
        answer = conn.getresponse()
        assert answer.status == 200 and answer.getheader("Content-Type", "").startswith("text/event-stream")

        def read_event() -> dict[str, Any]:
            while True:
                line = answer.readline().decode()
                if line.startswith("data: "):
                    return json.loads(line[6:])

        assert "connected" in answer.readline().decode() + answer.readline().decode()
        nid = notify(system, "maint", "over redis")
        assert read_event()["id"] == nid
    finally:
        conn.close()
        server.shutdown()
        system.db.dispose()
