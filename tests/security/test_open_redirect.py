"""The sign-in page's `next`: only a console path, however the hostile value is spelt."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask

from infra.clock import SimulatedClock
from tests.support.system import START, make_system
from web.app import create_app


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    url = f"sqlite:///{tmp_path_factory.mktemp('redirect') / 'liftcase.sqlite3'}"
    system = make_system(url, SimulatedClock(START), elevators=20)
    app = create_app(system)
    app.config["TESTING"] = True
    yield app
    system.db.dispose()


def _next(app: Flask, value: str) -> str:
    html = app.test_client().get("/console/signin", query_string={"next": value}).get_data(as_text=True)
    found = re.search(r'data-next="([^"]*)"', html)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize(
    "hostile",
    [
        "/\t/evil.example/x",  # browsers drop tabs and newlines from URLs: "//evil.example/x"
        "/%09/evil.example/x",
        "/\n/evil.example/x",
        "/\r\n/evil.example/x",
        "//evil.example/x",
        "/\\evil.example/x",
        "\\/evil.example/x",
        "/%5cevil.example/x",
        "/%2f/evil.example/x",
        "/%2F%2Fevil.example",
        "https://evil.example/console/",
        "javascript:alert(1)",
        " /console/",
        "/console/../../evil",
        "/console/%2e%2e/%2e%2e//evil.example",
        "/console/\\..\\evil",
        "/api/v1/session",  # a path of this site, but not a console page
        "/r/abc",
        "/console\u200b/x",
        "/console/\x00",
    ],
)
def test_hostile_next_is_dropped(app: Flask, hostile: str) -> None:
    assert _next(app, hostile) == ""


@pytest.mark.parametrize(
    "local", ["/console/", "/console/cases", "/console/cases?type=rescue&status=open", "/console/cases/12"]
)
def test_console_paths_are_kept(app: Flask, local: str) -> None:
    assert _next(app, local) == local.replace("&", "&amp;")


def test_encoded_query_values_are_kept(app: Flask) -> None:
    assert _next(app, "/console/cases?q=%E7%94%B5%E6%A2%AF%20a") == "/console/cases?q=%E7%94%B5%E6%A2%AF%20a"
