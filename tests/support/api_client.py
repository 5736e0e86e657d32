"""Signing in to the real app (Flask test client) as the seeded demo users."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from processes.system import System
from registry.models import Elevator, User
from tests.support.passwords import seeded_hash
from web.app import create_app

PASSWORD = "correct horse 96933"


class Client:
    """A signed-in user: JSON requests with the session cookie and the CSRF header."""

    def __init__(self, app: Flask, username: str, password: str = PASSWORD) -> None:
        self.http: FlaskClient = app.test_client()
        self.username = username
        r = self.http.post("/api/v1/session", json={"username": username, "password": password})
        assert r.status_code == 200, r.get_json()
        self.me: dict[str, Any] = r.get_json()
        self.csrf = self.me["csrf_token"]

    def get(self, url: str, **kw: Any) -> Any:
        return self.http.get(url, **kw)

    def post(self, url: str, json: Any = None, **kw: Any) -> Any:
        return self.http.post(url, json=json, headers={"X-CSRF-Token": self.csrf}, **kw)

    def patch(self, url: str, json: Any = None, **kw: Any) -> Any:
        return self.http.patch(url, json=json, headers={"X-CSRF-Token": self.csrf}, **kw)

    def delete(self, url: str, **kw: Any) -> Any:
        return self.http.delete(url, headers={"X-CSRF-Token": self.csrf}, **kw)


def app_for(system: System) -> Flask:
    """The app over a seeded system, every user's password set to PASSWORD (one hash: fast)."""
    with system.sessions() as session, session.begin():
        session.execute(update(User).values(password_hash=seeded_hash(PASSWORD)))
    app = create_app(system)
    app.config["TESTING"] = True
    return app


def demo_elevator(system: System) -> int:
    """An elevator maintained by the demo unit (user `maint`) and used by the demo property."""
    with system.sessions() as session:
        maint = session.scalar(select(User).where(User.username == "maint"))
        prop = session.scalar(select(User).where(User.username == "property"))
        found = session.scalar(
            select(Elevator.id).where(
                Elevator.maintenance_unit_id == maint.organisation_id, Elevator.use_unit_id == prop.organisation_id
            )
        )
        assert found is not None
        return found


def other_elevator(system: System) -> int:
    """An elevator neither the demo maintenance unit nor the demo property company looks after,
    outside the demo regulator's district."""
    with system.sessions() as session:
        maint = session.scalar(select(User).where(User.username == "maint"))
        prop = session.scalar(select(User).where(User.username == "property"))
        found = session.scalar(
            select(Elevator.id)
            .where(
                Elevator.maintenance_unit_id != maint.organisation_id,
                Elevator.use_unit_id != prop.organisation_id,
                Elevator.district_code != "511702",
            )
            .order_by(Elevator.id)
        )
        assert found is not None
        return found
