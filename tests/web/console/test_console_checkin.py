"""The technician's phone page at 390×844 in Chromium, in both languages: check in with the code
printed with the tag's QR code (headless Chromium has no Web NFC, so the page offers the code),
a tag of another elevator refused on screen, the visit's TSG T5002 checklist recorded with the
check-in as its proof; the regulator's list of unproven arrivals and the flag on the case page."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine.models import CaseTask
from infra.clock import SimulatedClock
from processes.maintenance.models import MaintenanceVisit
from processes.system import System
from registry.models import Elevator, User
from registry.tags import service as tags
from tests.support.console_harness import (
    CHROMIUM,
    DESKTOP,
    PHONE,
    context,
    demo_elevator,
    page_errors,
    shot,
    sign_in,
    start_rescue,
)
from tests.support.console_language import VISIBLE_TEXT, problems

if os.environ.get("CI") != "true":
    pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip("needs /usr/bin/chromium", allow_module_level=True)
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def tagged(system: System, clock: SimulatedClock) -> dict[str, Any]:
    """The demo elevator's three tags and a car tag on another unit's elevator."""
    mine = demo_elevator(system)
    with system.sessions() as session, session.begin():
        unit = session.scalar(select(User.organisation_id).where(User.username == "maint"))
        other = session.scalars(
            select(Elevator.id).where(Elevator.maintenance_unit_id != unit).order_by(Elevator.id)
        ).first()
        codes = {}
        for n, place in enumerate(("car", "pit", "machine_room")):
            tag, _ = tags.register(session, elevator_id=mine, place=place, uid=f"04CC00000000{n:02d}", code=None,
                                   replace=False, actor="admin", now=clock.now())
            codes[place] = tag.code
        foreign, _ = tags.register(session, elevator_id=other, place="car", uid="04DD000000000A", code=None,
                                   replace=False, actor="admin", now=clock.now())
        e = session.get(Elevator, mine)
        return {"elevator": mine, "codes": codes, "foreign": foreign.code, "lat": e.lat, "lon": e.lon}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_phone_check_in_and_visit(system: System, base: str, browser: Any, tagged: dict[str, Any], lang: str) -> None:
    ctx = context(browser, PHONE, lang=lang)
    ctx.grant_permissions(["geolocation"], origin=base)
    ctx.set_geolocation({"latitude": tagged["lat"] + 0.0004, "longitude": tagged["lon"]})
    page = ctx.new_page()
    errors = page_errors(page)
    sign_in(page, base, "maint")
    page.goto(f"{base}/console/checkin?elevator={tagged['elevator']}")
    page.locator("#checkin[data-loaded]").wait_for(state="attached")
    page.locator("#checklist fieldset").first.wait_for()
    assert page.locator("#nfc-missing").is_visible() and not page.locator("#nfc-scan").is_visible()

    # Another elevator's tag: refused, said on the page in the reader's language.
    page.fill("#tag-code", tagged["foreign"])
    page.click("#code-checkin")
    page.locator("#checkin-error:not(:empty)").wait_for()
    assert page.locator("#checkin-done").count() == 0

    # The tag's QR code opens the page with its code filled in.
    page.goto(f"{base}/console/checkin?elevator={tagged['elevator']}&code={tagged['codes']['pit']}")
    page.locator("#checklist fieldset").first.wait_for()
    assert page.input_value("#tag-code") == tagged["codes"]["pit"]
    page.click("#code-checkin")
    done = page.locator("#checkin-done")
    done.wait_for()
    assert (done.get_attribute("data-proof"), done.get_attribute("data-far")) == ("qr", "false")

    found = problems(page.evaluate(VISIBLE_TEXT), lang)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    periods = page.eval_on_selector_all("#checklist fieldset", "els => els.map(e => e.dataset.period)")
    assert "half_monthly" in periods
    page.select_option("#checklist select[name='A1-05']", "adjusted")
    page.fill("#visit-photos", "att:1\natt:2")
    page.click("#visit-submit")
    recorded = page.locator("#visit-done")
    recorded.wait_for()
    assert recorded.get_attribute("data-proof") == "qr"
    shot(page, f"checkin-phone-{lang}", full_page=True)
    with system.sessions() as session:
        visit = session.scalars(
            select(MaintenanceVisit)
            .where(MaintenanceVisit.elevator_id == tagged["elevator"])
            .order_by(MaintenanceVisit.id.desc())
        ).first()
    assert visit.results["A1-05"] == "adjusted" and visit.photos == ["att:1", "att:2"] and visit.proof == "qr"
    ctx.close()
    assert errors == [] and found == [], (errors, found)


def _task(system: System, case_id: int, bpmn_id: str) -> int:
    with system.sessions() as session:
        found = select(CaseTask.id).where(CaseTask.case_id == case_id, CaseTask.bpmn_id == bpmn_id)
        return session.scalars(found).one()


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_rescue_check_in_and_unproven_arrivals(system: System, clock: SimulatedClock, base: str, browser: Any,
                                               tagged: dict[str, Any], lang: str) -> None:
    clock.advance(timedelta(hours=1))  # the maintenance visit's check-in is not this rescue's
    case_id = start_rescue(system, tagged["elevator"], source="qr")
    system.engine.complete_task(_task(system, case_id, "verify_dispatch"), {"outcome": "dispatch"}, actor="dispatcher")
    system.engine.complete_task(_task(system, case_id, "accept_order"), {"eta_minutes": 10}, actor="maint")
    arrival = _task(system, case_id, "report_arrival")
    ctx = context(browser, PHONE, lang=lang)
    page = ctx.new_page()
    errors = page_errors(page)
    sign_in(page, base, "maint")
    page.goto(f"{base}/console/tasks/{arrival}")
    page.click("#checkin-link")
    page.locator("#checkin[data-loaded]").wait_for(state="attached")
    assert page.locator("#visit-card").is_hidden()
    # Position only (none granted in this context): nothing proven, the arrival shows as unproven.
    page.click("#position-checkin")
    page.locator("#checkin-done").wait_for()
    assert page.get_attribute("#checkin-done", "data-proof") == "none"
    assert page.get_attribute("#back-to-task", "href") == f"/console/tasks/{arrival}"
    ctx.close()
    system.engine.complete_task(arrival, {"on_site": True}, actor="maint")

    desk = context(browser, DESKTOP, lang=lang)
    page = desk.new_page()
    errors += page_errors(page)
    sign_in(page, base, "regulator")
    page.goto(f"{base}/console/arrivals")
    page.locator("#arrival-table[data-loaded]").wait_for(state="attached")
    assert page.locator(f"#arrival-table tr[data-case-id='{case_id}']").count() == 1
    found = problems(page.evaluate(VISIBLE_TEXT), lang)
    page.goto(f"{base}/console/cases/{case_id}")
    flag = page.locator("#arrival-flag")
    flag.wait_for()
    assert flag.get_attribute("data-proven") == "false"
    found += problems(page.evaluate(VISIBLE_TEXT), lang)
    desk.close()
    system.engine.cancel_case(case_id, "test done", actor="dispatcher")
    assert errors == [] and found == [], (errors, found)


def test_phone_page_has_no_serious_accessibility_violations(base: str, browser: Any, tagged: dict[str, Any]) -> None:
    from tests.web.console.test_console_accessibility import AXE, RUN_AXE

    ctx = browser.new_context(locale="zh-CN", bypass_csp=True, **PHONE)
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    sign_in(page, base, "maint")
    page.goto(f"{base}/console/checkin?elevator={tagged['elevator']}")
    page.locator("#checklist fieldset").first.wait_for()
    page.wait_for_load_state("networkidle")
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate(RUN_AXE)
    ctx.close()
    assert found == [], "\n".join(found)
