"""Every route of the app's url_map, every method: an anonymous caller is refused (401, or the
console's redirect to its sign-in page), except the reviewed public list below. A new `@public`
view fails this test until it is added here on purpose; a new route without a mark is covered
by the deny-by-default guard, and this test proves it answers an anonymous caller with a refusal."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask

from infra.clock import SimulatedClock
from tests.support.system import START, make_system
from web.app import create_app

PUBLIC = {
    ("GET", "/"),  # the console's shell; its data comes from signed-in API calls
    ("GET", "/api/docs"),
    ("GET", "/api/openapi.json"),
    ("POST", "/api/v1/session"),  # sign-in
    ("GET", "/api/v1/session/sso"),  # whether single sign-on is offered, for the sign-in page
    ("GET", "/console/build/<path:filename>"),
    ("GET", "/console/signin"),
    ("GET", "/console/static/<path:filename>"),
    ("GET", "/healthz"),
    ("POST", "/hooks/ai-events"),  # HMAC-signed per source
    ("POST", "/hooks/inspection-results"),  # HMAC-signed per source
    ("GET", "/r/<code>"),  # the QR pages: public by the contract
    ("POST", "/r/<code>/complaint"),
    ("GET", "/r/<code>/qr.png"),
    ("GET", "/r/<code>/qr.svg"),
    ("POST", "/r/<code>/rescue"),
    ("GET", "/r/t/<token>"),
    ("POST", "/sso/backchannel-logout"),  # the provider's logout token, signed by its keys
    ("GET", "/sso/callback"),  # the provider's redirect back; checks its own state
    ("GET", "/sso/signin"),
    ("GET", "/static/<path:filename>"),
    ("GET", "/static/npm/<package>/<path:filename>"),
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    url = f"sqlite:///{tmp_path_factory.mktemp('routes') / 'liftcase.sqlite3'}"
    system = make_system(url, SimulatedClock(START), elevators=20)
    app = create_app(system)
    app.config["TESTING"] = True
    yield app
    system.db.dispose()


def _is_marked_public(app: Flask, endpoint: str, method: str) -> bool:
    if endpoint == "static" or endpoint.startswith("api-docs."):
        return True
    view = app.view_functions[endpoint]
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        view = getattr(view_class, method.lower(), None)
    return bool(getattr(view, "liftcase_public", False))


def _routes(app: Flask) -> list[tuple[str, str, str]]:
    return sorted(
        (method, rule.rule, rule.endpoint)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    )


def test_the_public_routes_are_exactly_the_reviewed_list(app: Flask) -> None:
    marked = {(m, r) for m, r, e in _routes(app) if _is_marked_public(app, e, m)}
    assert marked == PUBLIC, {"unreviewed public": marked - PUBLIC, "no longer public": PUBLIC - marked}


def test_every_other_route_refuses_an_anonymous_caller(app: Flask) -> None:
    anonymous = app.test_client()
    checked = 0
    for method, rule, _endpoint in _routes(app):
        if (method, rule) in PUBLIC:
            continue
        url = re.sub(r"<int:[^>]+>", "1", rule)
        url = re.sub(r"<(?:string:|path:)?[^>]+>", "x", url)
        r = anonymous.open(url, method=method, json={})
        refused = r.status_code == 401 or (
            r.status_code in (302, 303) and "/console/signin" in r.headers.get("Location", "")
        )
        assert refused, (method, rule, r.status_code)
        checked += 1
    assert checked >= 80
