"""The property company's maintenance sign-off page (/console/visits) in Chromium: on a phone in
Chinese and on the desktop in English, one visit confirmed, another disputed (an empty reason
refused on the page first), the disputed one under its filter, the maintenance unit told; one
language on the page, nothing wider than the phone; axe-core finds no serious violation on a
phone or the desktop."""

from __future__ import annotations

import os
from typing import Any

import pytest
from sqlalchemy import select

from engine.models import Notification
from infra.clock import SimulatedClock
from processes.maintenance.flows import write_visit
from processes.maintenance.models import MaintenanceVisit
from processes.maintenance.service import local_day
from processes.system import System
from registry.models import Elevator
from tests.support.console_harness import CHROMIUM, DESKTOP, PHONE, context, demo_elevator, page_errors, shot, sign_in
from tests.support.console_language import VISIBLE_TEXT, problems

if os.environ.get("CI") != "true":
    pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip("needs /usr/bin/chromium", allow_module_level=True)
pytestmark = pytest.mark.timeout(300)


def _visits(system: System, clock: SimulatedClock, n: int) -> list[int]:
    """`n` visits to the demo elevator (maintained by `maint`'s unit, used by `property`), awaiting
    the property company's answer."""
    ids = []
    with system.sessions() as session, session.begin():
        elevator = session.get(Elevator, demo_elevator(system))
        for i in range(n):
            visit = write_visit(
                session,
                elevator,
                maintained_on=local_day(clock.now()),
                results={"A1-01": "ok", "A1-02": "fault"},
                cycle=15,
                now=clock.now(),
                actor="maint",
                technician="演示维保员",
                note=f"第{i + 1}次",
                require_all=False,
            )
            ids.append(visit.id)
    return ids


def _state(system: System, visit_id: int) -> MaintenanceVisit:
    with system.sessions() as session:
        return session.get(MaintenanceVisit, visit_id)


@pytest.mark.parametrize(("lang", "device"), [("zh-CN", "phone"), ("en", "desktop")])
def test_property_confirms_one_visit_and_disputes_another(
    system: System, clock: SimulatedClock, base: str, browser: Any, lang: str, device: str
) -> None:
    confirm_id, dispute_id = _visits(system, clock, 2)
    ctx = context(browser, PHONE if device == "phone" else DESKTOP, lang=lang)
    page = ctx.new_page()
    errors = page_errors(page)
    sign_in(page, base, "property")
    page.click(".menu-toggle") if device == "phone" else None
    page.click("a[href='/console/visits']")  # in the property company's menu
    page.locator("#visit-list[data-loaded]").wait_for(state="attached")
    mine = page.locator(f"#visit-list li[data-visit-id='{confirm_id}']")
    other = page.locator(f"#visit-list li[data-visit-id='{dispute_id}']")
    assert mine.get_attribute("data-confirmation") == "pending" and other.count() == 1
    found = problems(page.evaluate(VISIBLE_TEXT), lang)
    if device == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    shot(page, f"visits-{device}-{lang}", full_page=True)

    mine.locator("[data-action=confirm]").click()
    mine.wait_for(state="detached")  # no longer awaiting an answer
    assert _state(system, confirm_id).confirmation == "confirmed"

    other.locator("[data-action=dispute]").click()
    other.locator("[data-action=send-dispute]").click()  # no reason yet: refused on the page
    alert = other.locator(".field-error[role=alert]")
    alert.wait_for()
    assert alert.inner_text() == ("请写明异议理由。" if lang == "zh-CN" else "Say what is wrong with the visit.")
    found += problems(page.evaluate(VISIBLE_TEXT), lang)
    other.locator("textarea[name=reason]").fill("当天未见维保人员到场" if lang == "zh-CN" else "Nobody came that day")
    other.locator("[data-action=send-dispute]").click()
    other.wait_for(state="detached")
    disputed = _state(system, dispute_id)
    assert disputed.confirmation == "disputed" and disputed.dispute_reason

    page.select_option("#visit-status", "disputed")
    row = page.locator(f"#visit-list li[data-visit-id='{dispute_id}'][data-confirmation='disputed']")
    row.wait_for()
    assert disputed.dispute_reason in row.inner_text() and row.locator("[data-action=confirm]").count() == 1
    found += problems(page.evaluate(VISIBLE_TEXT), lang)
    ctx.close()
    with system.sessions() as session:
        told = session.scalars(select(Notification).where(Notification.dedupe_key.like(f"visit:{dispute_id}:%"))).all()
    assert told and all(disputed.dispute_reason in n.body for n in told)
    assert errors == [] and found == [], (errors, found)


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_sign_off_page_has_no_serious_accessibility_violations(
    system: System, clock: SimulatedClock, base: str, browser: Any, device: str
) -> None:
    from tests.web.console.test_console_accessibility import AXE, RUN_AXE

    (visit_id,) = _visits(system, clock, 1)
    ctx = browser.new_context(locale="zh-CN", bypass_csp=True, **(PHONE if device == "phone" else DESKTOP))
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    sign_in(page, base, "property")
    page.goto(f"{base}/console/visits")
    card = page.locator(f"#visit-list li[data-visit-id='{visit_id}']")
    card.locator("[data-action=dispute]").click()  # the open dispute form is checked too
    card.locator("textarea[name=reason]").wait_for()
    page.wait_for_load_state("networkidle")
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate(RUN_AXE)
    ctx.close()
    assert found == [], "\n".join(found)
