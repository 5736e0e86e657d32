"""The rectification case page in a real browser: an inspection institute's failed report opened
the case; the maintenance unit (on a phone, Chinese) and the use unit (English) attach evidence item
by item; the district regulator accepts one item and returns the other, and the page shows each
item's state, evidence and review."""

from __future__ import annotations

import io
import os
from datetime import date
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from processes import inspection_results
from processes.models import RectificationItem
from processes.rectification_items import Finding
from processes.system import System
from registry.models import Elevator, Organisation, OrgKind
from tests.support.console_harness import CHROMIUM, DESKTOP, PHONE, context, demo_elevator, page_errors, shot, sign_in
from web.console.assets import NODE_MODULES

if os.environ.get("CI") == "true":  # CI must drive the real browser: nothing missing may pass as a skip
    assert os.path.exists(CHROMIUM), "Chromium is not installed at /usr/bin/chromium (make installs it)"
    assert (NODE_MODULES / "bpmn-js").is_dir(), "web/node_modules is missing (make install runs npm ci)"
else:
    pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM) or not (NODE_MODULES / "bpmn-js").is_dir():
        pytest.skip("needs /usr/bin/chromium and web/node_modules (make install)", allow_module_level=True)
pytestmark = pytest.mark.timeout(240)


def failed_report(system: System) -> int:
    elevator_id = demo_elevator(system)
    with system.sessions() as session:
        target = inspection_results.find_target(session, session.get(Elevator, elevator_id).register_code)
        agency = session.scalars(select(Organisation).where(Organisation.kind == OrgKind.INSPECTION_AGENCY)).first()
    assert target is not None and agency is not None
    result = inspection_results.Result(
        report_no="DZJY-2026-0420",
        inspected_on=date(2026, 11, 20),
        conclusion="failed",
        next_due=None,
        findings=[Finding("2.8", "轿厢应急照明不亮", "B"), Finding("3.12(1)", "机房未设置警示标志", "C")],
    )
    outcome = inspection_results.accept(
        system, target, result, key="console:0420", agency_id=agency.id, actor="inspection:test"
    )
    assert outcome.case_id is not None
    return outcome.case_id


def photo(tmp_path: Path) -> Path:
    path = tmp_path / "fixed.jpg"
    out = io.BytesIO()
    Image.new("RGB", (80, 60), (20, 160, 60)).save(out, format="JPEG")
    path.write_bytes(out.getvalue())
    return path


def states(system: System, case_id: int) -> list[tuple[str, str]]:
    with system.sessions() as session:
        rows = session.scalars(
            select(RectificationItem).where(RectificationItem.case_id == case_id).order_by(RectificationItem.position)
        )
        return [(r.code, r.state) for r in rows]


def test_units_attach_evidence_per_item_and_the_regulator_reviews_each(
    system: System, base: str, browser: object, tmp_path: Path
) -> None:
    case_id = failed_report(system)
    image = photo(tmp_path)

    # The maintenance unit, on a phone, in Chinese: the first item's photo and note.
    ctx = context(browser, PHONE, "zh-CN")
    page = ctx.new_page()
    errors = page_errors(page)
    sign_in(page, base, "maint")
    page.goto(f"{base}/console/cases/{case_id}")
    row = page.locator("#items tr[data-item='2.8']")
    row.wait_for()
    assert "待整改" in row.inner_text() and "轿厢应急照明不亮" in row.inner_text()
    row.locator("input[name=note]").fill("更换应急照明电池并测试")
    row.locator("input[name=file]").set_input_files(str(image))
    row.locator("button[type=submit]").click()
    page.locator("#items tr[data-item='2.8'][data-state='submitted']").wait_for()
    assert "待审核" in page.locator("#items tr[data-item='2.8']").inner_text()
    shot(page, "rectification-items-maintenance-zh")
    assert errors == []
    ctx.close()

    # The use unit, in English: the second item with a note and a file.
    ctx = context(browser, DESKTOP, "en")
    page = ctx.new_page()
    errors = page_errors(page)
    sign_in(page, base, "property")
    page.goto(f"{base}/console/cases/{case_id}")
    row = page.locator("#items tr[data-item='3.12(1)']")
    row.wait_for()
    assert "to rectify" in row.inner_text()
    assert "Rectification items" in page.inner_text("#items-card")
    row.locator("input[name=note]").fill("Warning sign put up in the machine room")
    row.locator("input[name=file]").set_input_files(str(image))
    row.locator("button[type=submit]").click()
    page.locator("#items tr[data-item='3.12(1)'][data-state='submitted']").wait_for()
    assert states(system, case_id) == [("2.8", "submitted"), ("3.12(1)", "submitted")]
    assert errors == []
    ctx.close()

    # The district regulator accepts the first and returns the second with a note.
    ctx = context(browser, DESKTOP, "zh-CN")
    page = ctx.new_page()
    errors = page_errors(page)
    sign_in(page, base, "regulator")
    page.goto(f"{base}/console/cases/{case_id}")
    first = page.locator("#items tr[data-item='2.8']")
    first.locator("button[data-action=accept]").click()
    page.locator("#items tr[data-item='2.8'][data-state='accepted']").wait_for()
    second = page.locator("#items tr[data-item='3.12(1)']")
    second.locator("input[name=note]").fill("照片未显示警示标志位置")
    second.locator("button[data-action=reject]").click()
    page.locator("#items tr[data-item='3.12(1)'][data-state='rejected']").wait_for()
    text = page.inner_text("#items-card")
    assert "已通过" in text and "已退回" in text and "照片未显示警示标志位置" in text
    assert page.locator("#items a[href*='/attachments/']").count() == 2  # the photos, linked
    shot(page, "rectification-items-review-zh", full_page=True)
    assert states(system, case_id) == [("2.8", "accepted"), ("3.12(1)", "rejected")]
    assert errors == []
    ctx.close()
