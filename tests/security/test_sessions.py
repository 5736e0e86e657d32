"""Sessions that end: a copy of the cookie is worthless after sign-out, after a password, role or
activity change of the user (every session of theirs at once), after the idle timeout and after
the absolute lifetime; API tokens expire; admins and auditors list sessions, users end their own."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from infra.clock import SimulatedClock
from liftcase.bootstrap import build_system
from processes.system import System
from registry.accounts.models import UserSession
from registry.models import User
from tests.support.api_client import PASSWORD, Client, app_for
from tests.support.system import make_system
from web.app import create_app


@pytest.fixture
def api(db_url: str, clock: SimulatedClock) -> Iterator[tuple[System, Flask]]:
    system = make_system(db_url, clock, elevators=20)
    yield system, app_for(system)
    system.db.dispose()


def _cookie_header(app: Flask, username: str) -> tuple[str, str]:
    """Sign in; the session cookie as a browser would send it back, and the CSRF token."""
    r = app.test_client().post("/api/v1/session", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200
    pairs = [header.split(";", 1)[0] for header in r.headers.getlist("Set-Cookie")]
    return "; ".join(pairs), r.get_json()["csrf_token"]


def _replay(app: Flask, cookie: str, path: str = "/api/v1/session") -> int:
    """A stolen copy of the cookie, sent from a client that never signed in."""
    fresh: FlaskClient = app.test_client()
    for pair in cookie.split("; "):
        name, value = pair.split("=", 1)
        fresh.set_cookie(name, value)
    return fresh.get(path).status_code


def _user_id(system: System, username: str) -> int:
    with system.sessions() as s:
        return s.scalar(select(User.id).where(User.username == username))


def test_replayed_cookie_after_sign_out_is_refused(api: tuple[System, Flask]) -> None:
    _, app = api
    cookie, csrf = _cookie_header(app, "maint")
    assert _replay(app, cookie) == 200
    owner: FlaskClient = app.test_client()
    owner.set_cookie(*cookie.split("=", 1))
    assert owner.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert _replay(app, cookie) == 401
    assert _replay(app, cookie, "/console/") == 302  # the console sends the browser to sign in


@pytest.mark.parametrize(
    ("change", "reason"),
    [({"password": "a new one 96933"}, "password_changed"), ({"roles": ["maintenance", "property"]}, "roles_changed"),
     ({"active": False}, "deactivated")],
)
def test_account_changes_end_every_session_of_the_user(
    api: tuple[System, Flask], change: dict, reason: str
) -> None:
    system, app = api
    phone, desk = _cookie_header(app, "maint")[0], _cookie_header(app, "maint")[0]
    bystander = _cookie_header(app, "property")[0]
    admin = Client(app, "admin")
    uid = _user_id(system, "maint")
    assert admin.patch(f"/api/v1/users/{uid}", json=change).status_code == 200
    assert _replay(app, phone) == 401 and _replay(app, desk) == 401
    assert _replay(app, bystander) == 200  # nobody else's
    if change.get("active") is False:  # active again: the old sessions stay ended
        assert admin.patch(f"/api/v1/users/{uid}", json={"active": True}).status_code == 200
        assert _replay(app, phone) == 401
    with system.sessions() as s:
        reasons = s.scalars(select(UserSession.end_reason).where(UserSession.user_id == uid)).all()
    assert reasons == [reason, reason]


def test_unrelated_change_keeps_sessions(api: tuple[System, Flask]) -> None:
    system, app = api
    cookie = _cookie_header(app, "maint")[0]
    admin = Client(app, "admin")
    assert admin.patch(f"/api/v1/users/{_user_id(system, 'maint')}", json={"on_call": True}).status_code == 200
    assert _replay(app, cookie) == 200


def test_idle_timeout_and_absolute_lifetime(api: tuple[System, Flask], clock: SimulatedClock) -> None:
    system, app = api
    idle = timedelta(minutes=system.settings.session_idle_minutes)
    assert idle == timedelta(minutes=30) and system.settings.session_max_hours == 12
    cookie = _cookie_header(app, "maint")[0]
    clock.advance(idle - timedelta(minutes=2))
    assert _replay(app, cookie) == 200  # activity keeps it alive...
    clock.advance(idle - timedelta(minutes=2))
    assert _replay(app, cookie) == 200
    clock.advance(idle)
    assert _replay(app, cookie) == 401  # ...idleness ends it
    assert _replay(app, cookie) == 401

    busy = _cookie_header(app, "maint")[0]
    started = clock.now()
    while clock.now() - started < timedelta(hours=12) - timedelta(minutes=20):
        clock.advance(timedelta(minutes=20))
        assert _replay(app, busy) == 200
    clock.advance(timedelta(minutes=20))
    assert _replay(app, busy) == 401  # twelve hours after sign-in, however busy
    with system.sessions() as s:
        reasons = s.scalars(select(UserSession.end_reason).order_by(UserSession.id)).all()
    assert reasons == ["idle", "expired"]


def test_cookie_holds_only_a_random_token_stored_hashed(api: tuple[System, Flask]) -> None:
    system, app = api
    cookie = _cookie_header(app, "maint")[0]
    value = cookie.split("=", 1)[1]
    assert ";" not in cookie and "." not in value  # one cookie, not a signed payload
    with system.sessions() as s:
        row = s.scalars(select(UserSession)).one()
    assert row.token_hash == hashlib.sha256(value.encode()).hexdigest() != value
    assert row.user_id == _user_id(system, "maint") and row.remote_addr == "127.0.0.1"


def test_secure_cookie_over_https_and_proxy_only_when_configured(api: tuple[System, Flask]) -> None:
    system, app = api

    def set_cookie(app: Flask, **kw: object) -> str:
        r = app.test_client().post("/api/v1/session", json={"username": "maint", "password": PASSWORD}, **kw)
        assert r.status_code == 200
        return r.headers["Set-Cookie"]

    def addresses() -> list[str]:
        with system.sessions() as s:
            return list(s.scalars(select(UserSession.remote_addr).order_by(UserSession.id)))

    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    assert "Secure" in set_cookie(app, base_url="https://localhost")
    plain = set_cookie(app)
    assert "Secure" not in plain and "HttpOnly" in plain and "SameSite=Lax" in plain
    assert "Secure" not in set_cookie(app, headers=forwarded)  # no proxy configured: the headers are a client's
    assert addresses() == ["127.0.0.1"] * 3

    behind = build_system(replace(system.settings, proxy_hops=1), clock=system.clock)
    proxied = create_app(behind)
    assert "Secure" in set_cookie(proxied, headers=forwarded)
    assert addresses()[-1] == "203.0.113.9"
    behind.db.dispose()


def test_signing_in_again_ends_the_previous_session(api: tuple[System, Flask]) -> None:
    _, app = api
    client = Client(app, "maint")
    old = client.http.get_cookie("lc_session").value
    again = client.http.post("/api/v1/session", json={"username": "maint", "password": PASSWORD})
    assert again.status_code == 200
    assert _replay(app, f"lc_session={old}") == 401
    assert client.get("/api/v1/session").status_code == 200  # the new one works


def test_expired_token_is_refused(api: tuple[System, Flask], clock: SimulatedClock) -> None:
    _, app = api
    admin = Client(app, "admin")
    soon = (clock.now() + timedelta(hours=1)).isoformat()
    made = admin.post("/api/v1/tokens", json={"name": "对接 (1 h)", "expires_at": soon})
    assert made.status_code == 201 and made.get_json()["expires_at"] is not None
    forever = admin.post("/api/v1/tokens", json={"name": "对接"}).get_json()
    past = admin.post("/api/v1/tokens", json={"name": "x", "expires_at": clock.now().isoformat()})
    assert past.status_code == 422 and "expires_at" in past.get_json()["errors"]
    assert forever["expires_at"] is None
    robot = app.test_client()
    bearer = {"Authorization": f"Bearer {made.get_json()['secret']}"}
    assert robot.get("/api/v1/elevators", headers=bearer).status_code == 200
    clock.advance(timedelta(hours=1))
    assert robot.get("/api/v1/elevators", headers=bearer).status_code == 401
    assert robot.get("/api/v1/elevators", headers={"Authorization": f"Bearer {forever['secret']}"}).status_code == 200


def test_sessions_listed_for_admins_and_auditors_ended_by_their_user(api: tuple[System, Flask]) -> None:
    _, app = api
    phone, desk = Client(app, "maint"), Client(app, "maint")
    mine = phone.get("/api/v1/sessions/mine").get_json()
    assert len(mine) == 2 and [s["current"] for s in mine] == [False, True]
    assert {s["username"] for s in mine} == {"maint"}
    desk_id = mine[0]["id"]

    assert phone.get("/api/v1/sessions").status_code == 403
    stranger = Client(app, "property")
    assert stranger.delete(f"/api/v1/sessions/{desk_id}").status_code == 404  # not theirs
    assert desk.get("/api/v1/session").status_code == 200
    assert phone.delete(f"/api/v1/sessions/{desk_id}").status_code == 204  # the phone signs the desk out
    assert desk.get("/api/v1/session").status_code == 401
    assert phone.get("/api/v1/session").status_code == 200

    auditor = Client(app, "auditor")
    listed = auditor.get("/api/v1/sessions", query_string={"username": "maint"}).get_json()
    assert [(s["id"], s["end_reason"]) for s in listed] == [(desk_id, "ended_by_user"), (mine[1]["id"], None)]
    live = auditor.get("/api/v1/sessions", query_string={"active": "true"}).get_json()
    assert {s["username"] for s in live} == {"maint", "property", "auditor"}
    assert Client(app, "admin").get("/api/v1/sessions").status_code == 200
