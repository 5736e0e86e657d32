"""The console under test: the real app on a real HTTP server thread (werkzeug) over a seeded
SQLite system, and Debian's Chromium driven by Playwright. Screenshots land in var/screenshots/ (ignored by git), or
in the README's docs/screenshots/ when LIFTCASE_SCREENSHOTS=docs: a test run leaves the tree clean."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from werkzeug.serving import make_server

from infra.clock import SimulatedClock
from processes.intake import open_or_join
from processes.system import System
from registry.models import Elevator, User
from tests.support.passwords import seeded_hash
from tests.support.system import START, make_system
from web.app import create_app

PASSWORD = "console 96933"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]
_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = _ROOT / ("docs" if os.environ.get("LIFTCASE_SCREENSHOTS") == "docs" else "var") / "screenshots"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1440, "height": 900}}
WALL = {"viewport": {"width": 1920, "height": 1080}}


def set_passwords(system: System) -> None:
    """Every seeded user gets PASSWORD (one hash for all: seeding stays fast)."""
    with system.sessions() as session, session.begin():
        session.execute(update(User).values(password_hash=seeded_hash(PASSWORD)))


@contextmanager
def serve(system: System, port: int = 0) -> Iterator[str]:
    """The app on 127.0.0.1 and `port` (0: a free one), in a thread; yields its base URL."""
    app = create_app(system)
    server = make_server("127.0.0.1", port, app, threaded=True)
    # Polled every 50 ms (not 0.5 s): shutting the server down at teardown takes that long.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def demo_elevator(system: System) -> int:
    """An elevator with a device that `maint` maintains and `property` uses (in 通川区, `regulator`'s)."""
    with system.sessions() as session:
        maint = session.scalar(select(User).where(User.username == "maint"))
        prop = session.scalar(select(User).where(User.username == "property"))
        found = session.scalar(
            select(Elevator.id)
            .where(Elevator.maintenance_unit_id == maint.organisation_id, Elevator.use_unit_id == prop.organisation_id)
            .order_by(Elevator.device_id.is_(None), Elevator.id)
        )
        assert found is not None
        return found


def start_rescue(system: System, elevator_id: int, source: str = "alarm_button", **facts: Any) -> int:
    """A trapped alarm as a box sends it (with an event id: the signal is kept, the warning feed lists it);
    `facts` are what a passenger's call adds (phone, trapped_count, injured)."""
    signal = {"source": source, "kind": "trapped", "idempotency_key": f"{source}:{elevator_id}:{uuid.uuid4().hex}",
              **facts}
    return open_or_join(system.engine, system.settings.sla_file, "rescue", elevator_id=elevator_id,
                        signal=signal).case_id


def sign_in(page: Any, base: str, username: str) -> None:
    """Through the sign-in page. One retry when the page shows an error: on SQLite a sign-in (it
    writes the audit row) can meet a concurrent writer and answer 'database is locked'; the
    retry is printed so it stays visible."""
    page.goto(f"{base}/console/signin")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    for attempt in (1, 2):
        page.click("button[type=submit]")
        page.wait_for_function(
            "() => location.pathname === '/console/' || !document.getElementById('signin-error').hidden"
        )
        if page.url == f"{base}/console/":
            return
        message = page.inner_text("#signin-error")
        print(f"sign-in of {username} failed (attempt {attempt}): {message}")
    page.wait_for_url(f"{base}/console/")


def shot(page: Any, name: str, *, full_page: bool = False) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


# Module-scoped fixtures of a browser test module (import them into the module): one seeded city,
# its app on a real HTTP server, one Chromium.
@pytest.fixture(scope="module")
def clock() -> SimulatedClock:
    return SimulatedClock(START)


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory, clock: SimulatedClock) -> Iterator[System]:
    tmp = tmp_path_factory.mktemp("console")
    system = make_system(f"sqlite:///{tmp / 'console.sqlite3'}", clock, elevators=200, upload_dir=tmp / "uploads")
    set_passwords(system)
    yield system
    system.db.dispose()


@pytest.fixture(scope="module")
def base(system: System) -> Iterator[str]:
    with serve(system) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    import playwright.sync_api as playwright_api

    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def context(browser: Any, device: dict[str, Any], lang: str = "zh-CN") -> Any:
    ctx = browser.new_context(locale=lang, **device)
    ctx.set_default_timeout(15_000)
    return ctx


def page_errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors
