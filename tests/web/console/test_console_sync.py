"""The register-conflicts page and the feed-subscriptions page in Debian's Chromium against the real
app over a seeded SQLite city. A district regulator decides a conflict between a local edit and the
provincial export (the register takes the value, the audit records the reason); an admin subscribes
an endpoint (the secret is shown once and is the one stored), sees its delivery status after a
failed push (cursor, what it is owed, the error), edits it with a new secret and pauses it."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from sqlalchemy import select

from connectors.feed import flows as feed_flows
from connectors.feed.models import FeedSubscription
from processes import administration, register_sync
from processes.models import AdminAuditEntry
from processes.system import System
from registry.models import Elevator
from registry.sync.models import RegisterConflict
from tests.support.broker import free_ports
from tests.support.console_harness import CHROMIUM, DESKTOP, context, page_errors, shot, sign_in
from web.console.assets import NODE_MODULES

if os.environ.get("CI") == "true":
    assert os.path.exists(CHROMIUM)
else:
    pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM) or not (NODE_MODULES / "leaflet").is_dir():
        pytest.skip("needs /usr/bin/chromium and web/node_modules (make install)", allow_module_level=True)
pytestmark = pytest.mark.timeout(240)
URBAN = "511702"


def make_conflict(system: System) -> tuple[int, int]:
    """(elevator id, conflict id): an admin corrected the address, the province's export says otherwise."""
    now = system.clock.now()
    with system.sessions() as session, session.begin():
        lift = session.scalars(select(Elevator).where(Elevator.district_code == URBAN).order_by(Elevator.id)).first()
        local = {"address": "通川区西外大道8号(现场核实)"}
        administration.update_elevator(session, lift, local, actor="admin", now=now)
        rows = [{"register_code": lift.register_code, "address": "通川区西外大道8号省平台地址"}]
        register_sync.import_source(session, rows, source="provincial", filename="p.json", actor="admin", now=now)
        lift_id = lift.id
    with system.sessions() as session:
        conflict = session.scalars(select(RegisterConflict).where(RegisterConflict.record_id == lift_id)).one()
        return lift_id, conflict.id


def test_regulator_decides_a_conflict(system: System, base: str, browser: Any) -> None:
    lift_id, conflict_id = make_conflict(system)
    ctx = context(browser, DESKTOP)
    page = ctx.new_page()
    errors = page_errors(page)
    sign_in(page, base, "regulator")
    page.goto(f"{base}/console/register/conflicts")
    row = page.locator(f"#conflict-table tr[data-conflict-id='{conflict_id}']")
    row.wait_for()
    text = row.inner_text()
    assert "省平台:" in text and "本地修改:" in text and "\t地址\t" in text and "通川区西外大道8号省平台地址" in text
    shot(page, "register-conflicts")
    row.locator("[data-resolve]").click()  # nothing chosen yet
    assert row.locator(".field-error").inner_text() == "请选择台账采用的值。"
    row.locator("li[data-source=provincial] input").check()
    row.locator("input[name=reason]").fill("现场核实，省平台地址正确")
    row.locator("[data-resolve]").click()
    page.wait_for_function(f"() => !document.querySelector(\"tr[data-conflict-id='{conflict_id}']\")")
    with system.sessions() as session:
        assert session.get(Elevator, lift_id).address == "通川区西外大道8号省平台地址"
        entry = session.scalars(select(AdminAuditEntry).where(AdminAuditEntry.kind == "elevator.reconciled")).one()
        assert entry.actor == "regulator" and entry.payload["changes"]["reason"] == "现场核实，省平台地址正确"
    page.select_option("select[name=status]", "resolved")
    page.click("#conflict-filters button[type=submit]")
    decided = page.locator(f"#conflict-table tr[data-conflict-id='{conflict_id}'][data-status=resolved]")
    decided.wait_for()
    assert "现场核实，省平台地址正确" in decided.inner_text() and "裁定人" in decided.inner_text()
    ctx.close()
    assert errors == []


def test_admin_imports_an_export_and_finds_its_conflict(system: System, base: str, browser: Any) -> None:
    with system.sessions() as session, session.begin():
        lift = session.scalars(
            select(Elevator).where(Elevator.district_code == URBAN).order_by(Elevator.id.desc())
        ).first()
        administration.update_elevator(session, lift, {"floors": 26}, actor="admin", now=system.clock.now())
        code, lift_id = lift.register_code, lift.id
    ctx = context(browser, DESKTOP, lang="en")
    page = ctx.new_page()
    errors = page_errors(page)
    sign_in(page, base, "admin")
    page.goto(f"{base}/console/register/conflicts")
    page.locator("#conflict-table[data-loaded]").wait_for()
    bad = {"name": "export.csv", "mimeType": "text/csv", "buffer": "地址,层站数\n某地,3\n".encode()}
    page.set_input_files("#sync-import input[name=file]", bad)
    page.click("#sync-import button[type=submit]")
    page.locator("#sync-import-error:not(:empty)").wait_for()
    assert page.inner_text("#sync-import-error").startswith("The file cannot be read: missing columns: register_code")
    export = {"name": "provincial.csv", "mimeType": "text/csv", "buffer": f"设备注册代码,层站数\n{code},24\n".encode()}
    page.set_input_files("#sync-import input[name=file]", export)
    page.click("#sync-import button[type=submit]")
    page.locator("#sync-import-result[data-done]").wait_for()
    assert page.inner_text("#sync-import-result") == (
        "rows 1 · matched 1 · records updated 0 · not in the register 0 · refused rows 0 · new conflicts 1"
    )
    row = page.locator("#conflict-table tbody tr", has_text=code)
    row.wait_for()
    assert (
        "Floors" in row.inner_text()
        and "Local edit:\n26" in row.inner_text()
        and "Provincial platform:\n24" in row.inner_text()
    )
    with system.sessions() as session:
        assert session.get(Elevator, lift_id).floors == 26  # the local edit stands
    ctx.close()
    assert errors == []


def test_admin_manages_feed_subscriptions(system: System, base: str, browser: Any) -> None:
    (port,) = free_ports(1)  # nothing listens there: every push is refused
    while feed_flows.sequence(system):  # what earlier tests changed is in the feed before we subscribe
        pass
    ctx = context(browser, DESKTOP, lang="en")
    page = ctx.new_page()
    errors = page_errors(page)
    sign_in(page, base, "admin")
    page.goto(f"{base}/console/feed/subscriptions")
    page.locator("#sub-table[data-loaded]").wait_for()
    page.click("#new-subscription")
    page.fill("input[name=name]", "provincial platform")
    page.fill("input[name=url]", "not a url")
    page.click("#sub-save")
    page.locator("[data-error-for=url]:not(:empty)").wait_for()  # the API's per-field message
    assert page.inner_text("[data-error-for=url]") == "Not a valid URL."
    page.fill("input[name=url]", f"http://127.0.0.1:{port}/feed")
    page.check("#sub-kinds input[value=register]")
    page.check(f"#sub-districts input[value='{URBAN}']")
    page.click("#sub-save")
    page.locator("#secret-box:not([hidden])").wait_for()
    secret = page.inner_text("#secret-once")
    assert re.fullmatch(r"[0-9a-f]{48}", secret)
    with system.sessions() as session:
        sub = session.scalars(select(FeedSubscription).where(FeedSubscription.name == "provincial platform")).one()
        assert sub.secret == secret and sub.kinds == ["register"] and sub.districts == [URBAN] and sub.active
        sub_id = sub.id
    page.click("#secret-done")
    assert page.locator("#secret-box").is_hidden() and page.inner_text("#secret-once") == ""

    # A register change in the district, pushed to the endpoint, which refuses it.
    with system.sessions() as session, session.begin():
        lift = session.scalars(select(Elevator).where(Elevator.district_code == URBAN).order_by(Elevator.id)).first()
        administration.update_elevator(session, lift, {"floors": 21}, actor="admin", now=system.clock.now())
    while feed_flows.sequence(system):
        pass
    assert feed_flows.deliver(system, sub_id, budget_seconds=5) == 0
    page.reload()
    row = page.locator(f"#sub-table tr[data-subscription-id='{sub_id}']")
    row.wait_for()
    assert row.locator("[data-pending]").get_attribute("data-pending") == "1"
    text = row.inner_text()
    assert "Register changes" in text and "Refused" not in text and "attempts: 1" in text
    assert re.search(r"Connection ?Refused|refused", text, re.I), text
    shot(page, "feed-subscriptions")

    # Edit with a new secret: shown once, stored; then pause.
    row.locator("[data-edit]").click()
    assert page.input_value("input[name=name]") == "provincial platform"
    page.check("input[name=rotate]")
    page.click("#sub-save")
    page.locator("#secret-box:not([hidden])").wait_for()
    rotated = page.inner_text("#secret-once")
    assert rotated != secret
    row.locator(f"[data-toggle='{sub_id}']").click()
    page.locator(f"#sub-table tr[data-subscription-id='{sub_id}'][data-active=false]").wait_for()
    with system.sessions() as session:
        sub = session.get(FeedSubscription, sub_id)
        assert sub.secret == rotated and not sub.active
    ctx.close()
    assert errors == []


def test_only_admins_open_the_subscriptions(system: System, base: str, browser: Any) -> None:
    ctx = context(browser, DESKTOP)
    page = ctx.new_page()
    sign_in(page, base, "regulator")
    response = page.goto(f"{base}/console/feed/subscriptions")
    assert response.status == 403
    assert page.locator("nav [data-nav=feed]").count() == 0
    page.goto(f"{base}/console/")
    assert page.locator("nav [data-nav=conflicts]").count() == 1
    ctx.close()


def test_both_pages_pass_axe(system: System, base: str, browser: Any) -> None:
    """axe-core's WCAG 2 A/AA rules: no serious or critical violation on either page, form open."""
    from tests.web.console.test_console_accessibility import AXE, RUN_AXE

    ctx = browser.new_context(locale="zh-CN", bypass_csp=True, **DESKTOP)
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    sign_in(page, base, "admin")
    found: list[str] = []
    for path, ready in (("/console/register/conflicts?status=all", "#conflict-table[data-loaded]"),
                        ("/console/feed/subscriptions", "#sub-table[data-loaded]")):  # fmt: skip
        page.goto(base + path)
        page.locator(ready).wait_for(state="attached")
        if "feed" in path:
            page.click("#new-subscription")
        page.wait_for_load_state("networkidle")
        page.evaluate(AXE.read_text(encoding="utf-8"))
        found += [f"{path}: {v}" for v in page.evaluate(RUN_AXE)]
    ctx.close()
    assert found == [], "\n".join(found)
