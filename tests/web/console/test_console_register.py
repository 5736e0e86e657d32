"""The special equipment register page and the elevator portrait's record, in a real browser
(Debian's Chromium via Playwright) against the real app over a seeded SQLite city: a district
regulator lists the equipment of their district with the per-class figures, filters by class and
due date; the portrait shows the elevator's manufacturer, place category and rated speed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from infra.clock import SimulatedClock
from infra.settings import CITY_TZ
from processes.system import System
from registry.equipment.models import Equipment
from registry.models import Elevator, Organisation
from tests.support.console_harness import CHROMIUM, CHROMIUM_ARGS, DESKTOP, serve, set_passwords, shot, sign_in
from tests.support.system import START, make_system
from web.console.assets import NODE_MODULES

if os.environ.get("CI") == "true":
    import playwright.sync_api as playwright_api

    assert os.path.exists(CHROMIUM), "Chromium is not installed at /usr/bin/chromium (make installs it)"
else:
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM) or not (NODE_MODULES / "leaflet").is_dir():
        pytest.skip("needs /usr/bin/chromium and web/node_modules (make install)", allow_module_level=True)
pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    tmp = tmp_path_factory.mktemp("register")
    system = make_system(f"sqlite:///{tmp / 'register.sqlite3'}", SimulatedClock(START), elevators=300)
    set_passwords(system)
    yield system
    system.db.dispose()


@pytest.fixture(scope="module")
def page(system: System) -> Iterator[Any]:
    with serve(system) as base, playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        ctx = browser.new_context(locale="zh-CN", **DESKTOP)
        ctx.set_default_timeout(15_000)
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.base = base
        sign_in(page, base, "regulator")
        yield page
        assert errors == []
        browser.close()


def test_register_lists_the_districts_equipment_with_figures_and_filters(page: Any, system: System) -> None:
    today = START.astimezone(CITY_TZ).date()
    with system.sessions() as session:
        mine = list(session.scalars(select(Equipment).where(Equipment.district_code == "511702")))
    assert mine, "the seed places equipment in 通川区"
    page.goto(f"{page.base}/console/equipment")
    page.locator("#eq-table tbody tr[data-equipment-id]").first.wait_for()
    assert page.inner_text("#eq-total") == f"({len(mine)})"
    page.locator("#eq-figures tbody tr").nth(7).wait_for()
    rows = page.locator("#eq-figures tbody tr").all_inner_texts()
    assert rows[0].startswith("电梯") and rows[1].startswith("锅炉") and len(rows) == 8
    boilers = [e for e in mine if e.equipment_class == "boiler" and e.status != "retired"]
    assert rows[1].split("\t")[1] == str(len(boilers))
    shot(page, "equipment-register")

    page.select_option("#eq-class", "crane")
    page.fill("input[name=due_within_days]", "60")
    page.click("#eq-filters button[type=submit]")
    by = today + timedelta(days=60)
    soon = [e for e in mine if e.equipment_class == "crane" and e.next_inspection_due and e.next_inspection_due <= by]
    page.wait_for_function(f"() => document.getElementById('eq-total').textContent === '({len(soon)})'")
    shown = page.locator("#eq-table tbody tr[data-equipment-id]").evaluate_all(
        "rows => rows.map(r => r.children[1].textContent)"
    )
    assert set(shown) <= {"起重机械"}


def test_portrait_shows_the_elevators_record(page: Any, system: System) -> None:
    with system.sessions() as session:
        lift = session.scalars(select(Elevator).where(Elevator.district_code == "511702").order_by(Elevator.id)).first()
        assert lift is not None and lift.manufacturer_id is not None
        maker = session.get(Organisation, lift.manufacturer_id)
    page.goto(f"{page.base}/console/elevators/{lift.id}")
    page.wait_for_function("() => document.querySelector('#el-facts tbody tr') !== null")
    facts = page.inner_text("#el-facts")
    assert maker is not None and maker.name in facts and f"{lift.rated_speed} m/s" in facts and "场所类别" in facts
