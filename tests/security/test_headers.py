"""Security headers: the console, the API and its docs answer with the CSP and the anti-framing,
no-sniffing, same-origin-referrer headers; the public QR pages keep their stricter own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from infra.clock import SimulatedClock
from registry.models import Elevator
from tests.support.api_client import Client, app_for
from tests.support.system import START, make_system
from web.http.headers import console_policy


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    url = f"sqlite:///{tmp_path_factory.mktemp('headers') / 'liftcase.sqlite3'}"
    system = make_system(url, SimulatedClock(START), elevators=20)
    yield app_for(system)
    system.db.dispose()


def _directives(csp: str) -> dict[str, str]:
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in csp.split("; ")}


def _assert_secured(headers: dict[str, str], referrer: str = "same-origin") -> dict[str, str]:
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == referrer
    csp = _directives(headers["Content-Security-Policy"])
    assert csp["frame-ancestors"] == "'none'"
    return csp


@pytest.mark.parametrize(
    "path", ["/console/signin", "/console/", "/api/v1/session", "/api/docs", "/api/openapi.json", "/healthz",
             "/console/static/api.js", "/api/v1/no-such-thing"],
)
def test_console_api_and_docs_are_secured(app: Flask, path: str) -> None:
    client = Client(app, "admin").http
    csp = _assert_secured(dict(client.get(path).headers))
    assert csp["script-src"] == "'self'"  # no inline script, no eval
    assert "unsafe" not in csp["script-src"] and "unsafe" not in csp["default-src"]


def test_qr_pages_keep_their_own_policy(app: Flask) -> None:
    with app.extensions["liftcase"].sessions() as session:
        code = session.scalar(select(Elevator.qr_code).order_by(Elevator.id))
    r = app.test_client().get(f"/r/{code}")
    assert r.status_code == 200
    csp = _assert_secured(dict(r.headers), referrer="no-referrer")
    assert csp["default-src"] == "'none'"


def test_map_tiles_are_allowed_images() -> None:
    assert "https://*.tile.example" in console_policy("https://{s}.tile.example/{z}/{x}/{y}.png")
    assert "https://tiles.example" in console_policy("https://tiles.example/{z}/{x}/{y}.png")
    assert _directives(console_policy(""))["img-src"] == "'self' data:"


def test_docs_page_has_no_inline_script(app: Flask) -> None:
    html = Client(app, "admin").get("/api/docs").get_data(as_text=True)
    for chunk in html.split("<script")[1:]:
        attrs = chunk.split(">", 1)[0]
        assert "src=" in attrs or 'type="application/json"' in attrs, chunk[:80]
