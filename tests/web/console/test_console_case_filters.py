"""The case list's equipment filter in Debian's Chromium, in both languages: a regulator picks a
class of special equipment (or elevators) and sees the cases about it, the row naming the piece;
the filter is in the URL, the export link and a saved filter."""

from __future__ import annotations

import os
from typing import Any

import pytest
from sqlalchemy import select

from engine.models import Case
from processes import case_flows
from processes.system import System
from registry.equipment.models import Equipment, EquipmentStatus
from registry.models import Organisation, User
from tests.support.console_harness import CHROMIUM, DESKTOP, context, page_errors, shot, sign_in
from tests.web.console.test_console_language import VISIBLE_TEXT, problems

if os.environ.get("CI") != "true":
    pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip("needs /usr/bin/chromium", allow_module_level=True)
pytestmark = pytest.mark.timeout(300)


def _boiler_case(system: System) -> tuple[Equipment, int]:
    """A rectification case about a piece of equipment in the district regulator's district."""
    with system.sessions() as session:
        org = session.scalar(select(User.organisation_id).where(User.username == "regulator"))
        district = session.get(Organisation, org).district_code
        piece = session.scalars(
            select(Equipment)
            .where(Equipment.status == EquipmentStatus.IN_USE, Equipment.district_code == district)
            .order_by(Equipment.id)
        ).first()
        assert piece is not None
    fields = {"report_no": "GL-2026-3", "findings": ["安全阀失效"]}
    opened = case_flows.open_by_hand(
        system, "rectification", elevator_id=None, equipment_id=piece.id, fields=fields, actor="regulator"
    )
    return piece, opened.case_id


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_case_list_filters_by_equipment(system: System, base: str, browser: Any, lang: str) -> None:
    piece, case_id = _boiler_case(system)
    ctx = context(browser, DESKTOP, lang=lang)
    page = ctx.new_page()
    errors = page_errors(page)
    page.goto(f"{base}/console/signin?lang={'en' if lang == 'en' else 'zh-CN'}")
    sign_in(page, base, "regulator")
    page.goto(f"{base}/console/cases")
    page.locator("#case-table tbody tr").first.wait_for()
    page.select_option("#case-filters select[name=equipment_class]", piece.equipment_class)
    page.click("#case-filters button[type=submit]")
    page.wait_for_function("() => location.search.includes('equipment_class=')")
    row = page.locator(f"#case-table tbody tr[data-case-id='{case_id}']")
    row.wait_for()
    assert f"#{piece.id}" in row.locator("td").nth(6).inner_text()
    with system.sessions() as session:
        about = session.scalars(select(Case.equipment_id).where(Case.id.in_(
            [int(i) for i in page.locator("#case-table tbody tr[data-case-id]").evaluate_all(
                "rows => rows.map((r) => r.dataset.caseId)")]))).all()  # fmt: skip
        classes = {session.get(Equipment, i).equipment_class for i in about if i is not None}
    assert None not in about and classes == {piece.equipment_class}
    assert f"equipment_class={piece.equipment_class}" in page.get_attribute("#export-csv", "href")
    assert problems(page.evaluate(VISIBLE_TEXT), lang) == []
    shot(page, f"cases-equipment-filter-{lang}")

    page.select_option("#case-filters select[name=equipment_class]", "elevator")
    page.click("#case-filters button[type=submit]")
    page.wait_for_function("() => location.search.includes('equipment_class=elevator')")
    page.locator(f"#case-table tbody tr[data-case-id='{case_id}']").wait_for(state="detached")
    ctx.close()
    assert errors == []
