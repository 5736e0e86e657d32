"""The special equipment register page and the elevator portrait's record, in a real browser
(Debian's Chromium via Playwright) against the real app over a seeded SQLite city: a district
regulator lists the equipment of their district with the per-class figures, filters by class and
due date; the portrait shows the elevator's manufacturer, place category and rated speed."""

from __future__ import annotations

import os
import re
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
CASE_PAGE = re.compile(r".*/console/cases/\d+$")


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


def _regulator_district(system: System) -> str:
    from registry.models import User

    with system.sessions() as session:
        org = session.scalar(select(User.organisation_id).where(User.username == "regulator"))
        return session.get(Organisation, org).district_code


def test_the_equipment_screen_counters_add_up_and_class_layers_toggle(page: Any, system: System) -> None:
    """Per class, per district and the coverage, computed here from the register of the regulator's
    district; the district rows and the totals agree; unticking a class takes its points off the
    map and its pieces out of the district figures."""
    today = START.astimezone(CITY_TZ).date()
    district = _regulator_district(system)
    with system.sessions() as session:
        lifts = list(session.scalars(select(Elevator).where(Elevator.district_code == district)))
        pieces = list(
            session.scalars(select(Equipment).where(Equipment.district_code == district, Equipment.status != "retired"))
        )
    page.goto(f"{page.base}/console/screens/equipment")
    page.locator("#equipment-screen[data-updated]").wait_for()
    table = page.locator("#by-class tbody tr").evaluate_all(
        "rows => rows.map(r => [r.dataset.class, ...[...r.children].slice(1).map(c => Number(c.textContent))])"
    )

    def figures(rows: list[Any]) -> list[int]:
        dates = [r.next_inspection_due for r in rows if r.next_inspection_due]
        return [
            len(rows),
            sum(1 for r in rows if getattr(r, "status", "") == "stopped" or getattr(r, "stop_use", False)),
            sum(1 for d in dates if d < today),
            sum(1 for d in dates if today <= d <= today + timedelta(days=30)),
        ]

    by_class = {"elevator": lifts} | {
        k: [e for e in pieces if e.equipment_class == k] for k in sorted({e.equipment_class for e in pieces})
    }
    expected = {k: figures(rows) for k, rows in by_class.items()}
    assert {row[0]: row[1:] for row in table if row[0] in expected} == expected
    assert all(row[1:] == [0, 0, 0, 0] for row in table if row[0] not in expected)
    foot = [int(v) for v in page.locator("#by-class tfoot td").all_inner_texts()]
    assert foot == [sum(r[i] for r in expected.values()) for i in range(4)]
    # Expired / due within 30 days by district: one row (the regulator's district), equal to the sums.
    districts = page.locator("#by-district tbody tr[data-district]").evaluate_all(
        "rows => rows.map(r => [r.dataset.district, ...[...r.children].slice(1).map(c => Number(c.textContent))])"
    )
    assert districts == [[district, foot[2], foot[3], foot[0]]]
    # Coverage: the place categories add up to the elevators of the district.
    coverage = [c for c in page.locator("#coverage tfoot td").all_inner_texts()]
    assert coverage[:2] == [str(len(lifts)), str(sum(1 for e in lifts if e.device_id))]
    categories = page.locator("#coverage tbody tr").evaluate_all(
        "rows => rows.map(r => Number(r.children[1].textContent))"
    )
    assert sum(categories) == len(lifts)

    # Untick boilers: their points leave the map, their expiries the district figures.
    markers = "() => document.querySelectorAll('#map .leaflet-marker-pane *, #map path.leaflet-interactive').length"
    before = page.evaluate(markers)
    boilers = [e for e in by_class.get("boiler", []) if e.lat is not None]
    assert boilers, "the seed has boilers in the district"
    page.uncheck("#by-class input[data-class=boiler]")
    page.wait_for_function("() => !document.getElementById('equipment-screen').dataset.shown.includes('boiler')")
    assert page.evaluate(markers) == before - len(boilers)
    boiler = expected["boiler"]
    expired_now = page.locator("#by-district tfoot td").nth(0).inner_text()
    assert int(expired_now) == foot[2] - boiler[2]
    page.check("#by-class input[data-class=boiler]")
    page.wait_for_function("() => document.getElementById('equipment-screen').dataset.shown.includes('boiler')")
    assert page.evaluate(markers) == before
    shot(page, "equipment-screen")


def test_a_regulator_opens_cases_by_hand_and_sees_them_on_the_case_page(page: Any, system: System) -> None:
    from engine.models import Case
    from processes.models import CaseComment

    district = _regulator_district(system)
    with system.sessions() as session:
        crane = session.scalars(
            select(Equipment)
            .where(Equipment.district_code == district, Equipment.equipment_class == "crane")
            .where(Equipment.status != "retired")
            .order_by(Equipment.id)
        ).first()
        lift = session.scalars(select(Elevator).where(Elevator.district_code == district).order_by(Elevator.id)).first()
    # From the register: the row's link opens the form for that crane.
    page.goto(f"{page.base}/console/equipment")
    page.fill("input[name=q]", crane.register_code)
    page.click("#eq-filters button[type=submit]")
    page.locator(f"#eq-table a[data-open-case='{crane.id}']").click()
    page.locator("#new-case-form").wait_for()
    assert crane.register_code in page.inner_text("#subject") and "起重机械" in page.inner_text("#subject")
    page.click("#open-case")  # no reason yet: refused in the page
    assert page.inner_text("[data-error-for=reason]") == "请填写原因。"
    page.fill("input[name=due_date]", "2027-01-15")
    page.fill("textarea[name=reason]", "现场检查发现起重机检验合格标志已过期")
    page.click("#open-case")
    page.wait_for_url(CASE_PAGE)
    case_id = int(page.url.rsplit("/", 1)[1])
    page.locator("#comments li").first.wait_for()
    with system.sessions() as session:
        case = session.get(Case, case_id)
        assert (case.case_type, case.equipment_id, case.variables["source"]) == ("expiry", crane.id, "regulator")
        assert case.variables["due_date"].startswith("2027-01-15")
    page.wait_for_function(f"() => document.getElementById('case-number').textContent.includes('{case.number}')")
    assert "现场检查发现起重机检验合格标志已过期" in page.inner_text("#comments")
    fact = page.inner_text("#case-context [data-fact=equipment]")
    assert "设备" in fact and "起重机械" in fact and crane.register_code in fact and crane.name in fact

    # By register code, a rectification of an elevator.
    page.goto(f"{page.base}/console/cases/new")
    page.fill("#subject-form input[name=code]", lift.register_code)
    page.click("#subject-form button[type=submit]")
    page.locator("#new-case-form").wait_for()
    page.check("input[name=type][value=rectification]")
    page.fill("input[name=report_no]", "DJ-2026-118")
    page.fill("textarea[name=findings]", "层门锁紧装置失效\n应急照明不亮")
    page.fill("textarea[name=reason]", "定期检验报告有不符合项")
    page.click("#open-case")
    page.wait_for_url(CASE_PAGE)
    page.locator("#comments li").first.wait_for()
    with system.sessions() as session:
        case = session.get(Case, int(page.url.rsplit("/", 1)[1]))
        comments = session.scalars(select(CaseComment.body).where(CaseComment.case_id == case.id)).all()
    assert (case.case_type, case.elevator_id, case.variables["findings"]) == (
        "rectification",
        lift.id,
        ["层门锁紧装置失效", "应急照明不亮"],
    )
    assert comments == ["定期检验报告有不符合项"]
    # A code outside the regulator's district is not found; other roles may not open the page.
    with system.sessions() as session:
        away = session.scalar(select(Elevator.register_code).where(Elevator.district_code != district))
    page.goto(f"{page.base}/console/cases/new?code={away}")
    assert page.locator("#subject-error").is_visible() and page.locator("#new-case-form").count() == 0
    from tests.support.api_client import Client, app_for

    assert Client(app_for(system), "property").get("/console/cases/new").status_code == 403
