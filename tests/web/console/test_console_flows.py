"""The console in a real browser (Debian's Chromium via Playwright) against the real app on a real
HTTP server over a seeded SQLite city: a dispatcher dispatches, a technician on a phone accepts and
reports arrival with a photo, a regulator sees the escalation, an analyst changes a timer in the
modeler and deploys v2 (new cases run v2, running ones stay on v1) and an invalid diagram is refused.
Every page visited is saved to docs/screenshots/ (the README shows them)."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from detectors.risk.flows import score_all
from engine.models import Case, CaseTask, CaseTimer, ProcessDefinition
from engine.scheduler import fire_due_timers
from infra.clock import SimulatedClock
from processes.intake import open_or_join
from processes.models import Attachment
from processes.system import System
from registry.models import Elevator, User
from tests.support.console_harness import (
    CHROMIUM,
    DESKTOP,
    PHONE,
    WALL,
    context,
    demo_elevator,
    page_errors,
    shot,
    sign_in,
    start_rescue,
)
from web.console.assets import NODE_MODULES
from web.console.models import SavedFilter

if os.environ.get("CI") == "true":  # CI must drive the real browser: nothing missing may pass as a skip
    import playwright.sync_api as playwright_api

    assert os.path.exists(CHROMIUM), "Chromium is not installed at /usr/bin/chromium (make installs it)"
    assert (NODE_MODULES / "bpmn-js").is_dir(), "web/node_modules is missing (make install runs npm ci)"
else:
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM) or not (NODE_MODULES / "bpmn-js").is_dir():
        pytest.skip("needs /usr/bin/chromium and web/node_modules (make install)", allow_module_level=True)
pytestmark = pytest.mark.timeout(240)


def task_row(system: System, case_id: int, bpmn_id: str) -> CaseTask:
    with system.sessions() as session:
        row = session.scalar(
            select(CaseTask)
            .where(CaseTask.case_id == case_id, CaseTask.bpmn_id == bpmn_id)
            .order_by(CaseTask.id.desc())
        )
        assert row is not None, f"no task {bpmn_id} on case {case_id}"
        return row


def open_task(page: Any, base: str, task_id: int) -> None:
    """From the inbox: the task's card is listed; open it and claim it (unless it was assigned to me)."""
    page.goto(f"{base}/console/inbox")
    card = page.locator(f"[data-task-id='{task_id}']")
    card.wait_for()
    card.locator(".task-main").click()
    page.wait_for_url(f"{base}/console/tasks/{task_id}")
    page.locator("#claim-task, #release-task").first.wait_for()
    if page.locator("#claim-task").count():
        page.click("#claim-task")
    page.locator("#release-task").wait_for()


def test_rescue_dispatch_arrival_with_photo_and_escalation(system: System, base: str, browser: Any,
                                                           clock: SimulatedClock) -> None:
    elevator_id = demo_elevator(system)
    # A passenger's QR call: three people inside, a phone to call back.
    case_id = start_rescue(system, elevator_id, source="qr", phone="13912345678", trapped_count=3)
    with system.sessions() as session:
        elevator = session.get(Elevator, elevator_id)
        address, register_code = elevator.address, elevator.register_code
        maint_phone = session.scalar(select(User.phone).where(User.username == "maint"))

    # The dispatcher (96933 seat, desktop): sign-in page, home, inbox, the verification form.
    ctx = context(browser, DESKTOP)
    page = ctx.new_page()
    errors = page_errors(page)
    page.goto(f"{base}/console/inbox")
    page.wait_for_url(re.compile(r"/console/signin\?next=/console/inbox$"))  # pages need a session: sign in first
    shot(page, "signin")
    sign_in(page, base, "dispatcher")
    page.locator("#home-tasks [data-task-id]").first.wait_for()
    # A P1 rescue nobody has taken: the tab title counts it, the menu shows a badge, a tone sounded.
    page.wait_for_function("() => document.body.dataset.rescueTones >= 1")
    assert page.title().startswith("(1) 新救援") and page.locator("#p1-badge").inner_text() == "1"
    shot(page, "home-dispatcher")
    verify = task_row(system, case_id, "verify_dispatch")
    page.goto(f"{base}/console/inbox")
    card = page.locator(f"[data-task-id='{verify.id}']")
    card.locator(".due").wait_for()
    assert page.locator("[data-scope=unclaimed]").get_attribute("class") == "active"  # nothing claimed yet
    line = card.locator(".context-line").inner_text()
    assert address in line and "乘客扫码求救" in line and "被困人数 3" in line and register_code in line
    page.fill("#inbox-search", "no such address 无此地址")
    page.locator("#task-list .empty").wait_for()
    page.fill("#inbox-search", address[-6:])
    card.wait_for()
    shot(page, "inbox-dispatcher")
    open_task(page, base, verify.id)
    facts = page.locator("#context")
    assert address in facts.inner_text() and "乘客扫码求救" in facts.inner_text()
    assert page.get_attribute("#context [data-fact=caller] a", "href") == "tel:13912345678"
    assert page.input_value("input[name=trapped_count]") == "3"  # what the passenger said, to confirm
    assert page.locator("select[name=outcome] option[value=dispatch]").inner_text() == "属实，派单"
    page.select_option("select[name=outcome]", "dispatch")
    page.fill("input[name=trapped_count]", "99")  # the form allows at most 50
    page.click("#submit-task")
    assert re.search(r"\d", page.inner_text("#task-due"))  # the countdown to the verification's due time
    error = page.locator("[data-error-for=trapped_count]")
    error.wait_for()
    assert error.inner_text() == "不能大于 50"  # the server's message for this field, in Chinese
    shot(page, "task-form-errors")
    page.fill("input[name=trapped_count]", "2")
    page.fill("textarea[name=note]", "两名乘客被困，情绪稳定")
    page.click("#submit-task")
    page.wait_for_url(f"{base}/console/inbox")
    page.locator("#task-list .empty").wait_for()
    # A second alarm while the inbox is open: its task appears without a reload (SSE / polling).
    late_id = start_rescue(system, second_elevator(system))
    late_verify = task_row(system, late_id, "verify_dispatch")
    page.click("[data-scope=unclaimed]")
    page.locator(f"[data-task-id='{late_verify.id}']").wait_for(timeout=20_000)
    done = task_row(system, case_id, "verify_dispatch")
    assert done.status == "completed" and done.data == {"outcome": "dispatch", "trapped_count": 2,
                                                        "injured": False, "note": "两名乘客被困，情绪稳定"}
    assert done.completed_by == "dispatcher"
    ctx.close()

    # The technician on a phone: where to go and what waits there, then accept and report arrival
    # with a photo from the camera input; each step leads to the next one of the same case.
    phone = context(browser, PHONE)
    page = phone.new_page()
    errors += page_errors(page)
    sign_in(page, base, "maint")
    accept = task_row(system, case_id, "accept_order")
    page.goto(f"{base}/console/inbox")
    card = page.locator(f"[data-task-id='{accept.id}']")
    card.wait_for()
    assert re.search(r"\d", page.inner_text(f"[data-task-id='{accept.id}'] .due"))  # the accept countdown
    assert address in card.locator(".context-line .address").inner_text()
    assert "被困人数 2" in card.inner_text() and "已被困" in card.inner_text()
    shot(page, "inbox-phone", full_page=True)
    open_task(page, base, accept.id)
    facts = page.locator("#context").inner_text()
    assert address in facts and "两名乘客被困，情绪稳定" in facts
    assert page.locator("#context .trapped-count").inner_text() == "2"
    assert page.get_attribute("[data-nav=geo]", "href").startswith("geo:")
    assert "uri.amap.com/marker" in page.get_attribute("[data-nav=amap]", "href")
    assert page.input_value("input[name=technician]") == "演示维保员"  # who is signed in
    assert page.input_value("input[name=phone]") == maint_phone
    shot(page, "task-accept-phone", full_page=True)
    page.fill("input[name=eta_minutes]", "15")
    page.click("#submit-task")
    page.locator("#next-link").wait_for()
    arrival = task_row(system, case_id, "report_arrival")
    page.wait_for_url(f"{base}/console/tasks/{arrival.id}")  # the next step, not the inbox
    page.locator("#release-task").wait_for()  # the on-call technician holds it already
    camera = page.locator("input[type=file][data-upload-for=photo]")
    assert camera.get_attribute("capture") == "environment" and camera.get_attribute("accept") == "image/*"
    camera.set_input_files({"name": "arrival.png", "mimeType": "image/png", "buffer": page.screenshot()})
    page.locator(".preview[data-attachment-id]").wait_for()
    page.check("input[name=on_site]")
    shot(page, "task-arrival-phone", full_page=True)
    page.click("#submit-task")
    page.locator("#next-link").wait_for()
    release = task_row(system, case_id, "report_release")
    page.wait_for_url(f"{base}/console/tasks/{release.id}")
    arrived = task_row(system, case_id, "report_arrival")
    with system.sessions() as session:
        photo = session.scalars(select(Attachment).where(Attachment.case_id == case_id)).one()
    assert arrived.status == "completed" and arrived.data["on_site"] is True
    assert arrived.data["photo"] == str(photo.id) and photo.content_type == "image/png"
    phone.close()

    # The case page: the diagram with the current step, the timeline with its hash check, the photo.
    ctx = context(browser, DESKTOP)
    page = ctx.new_page()
    errors += page_errors(page)
    sign_in(page, base, "dispatcher")
    page.goto(f"{base}/console/cases/{case_id}")
    page.wait_for_selector("#diagram[data-rendered]")
    active = page.get_attribute("#diagram", "data-active").split()
    assert "report_release" in active and "report_arrival" not in active
    assert page.locator(".highlight-completed").count() >= 3  # drawn: verify, accept, arrival… on their planes
    assert page.locator("#chain").get_attribute("data-chain") == "intact"
    assert page.locator("#attachments a").inner_text() == photo.filename
    assert page.locator("#sla tr[data-state=met]").count() >= 2
    assert page.locator("#sla tr[data-milestone=dispatched] td").first.inner_text() == "已派单"
    assert "演示维保员" in page.inner_text("#context [data-fact=technician]")  # who comes, and when
    assert "预计到达" in page.inner_text("#context [data-fact=technician]")
    seqs = [int(s) for s in page.locator("#timeline li").evaluate_all("els => els.map(e => e.dataset.seq)")]
    assert seqs == sorted(seqs, reverse=True)  # newest first
    lines = page.locator("#timeline li").all_inner_texts()
    assert not any("None" in line for line in lines)  # no "task None 「None」 released" (issue 15)
    assert any("完成任务「到达现场」" in line for line in lines)
    pdf = page.request.get(base + page.get_attribute("#export-pdf", "href"))  # the reports' case PDF
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
    shot(page, "case", full_page=True)
    ctx.close()

    # Nobody accepts the second rescue for 11 minutes: the ladder reaches the district regulator.
    system.engine.complete_task(late_verify.id, {"outcome": "dispatch"}, actor="dispatcher")
    clock.advance(timedelta(minutes=11))
    fire_due_timers(system.engine)
    ctx = context(browser, DESKTOP)
    page = ctx.new_page()
    errors += page_errors(page)
    sign_in(page, base, "regulator")
    page.locator(f"#home-escalations tr[data-case-id='{late_id}']").wait_for()  # on the regulator's home page
    shot(page, "home-regulator", full_page=True)
    page.goto(f"{base}/console/cases/{late_id}")
    page.wait_for_selector("#timeline li[data-kind=escalated].alert")  # escalations stand out
    assert "升级为3级响应" in page.inner_text("#timeline li[data-kind=escalated] >> nth=0")
    assert page.locator("#escalation-level").inner_text().endswith("3")
    shot(page, "case-escalated-regulator", full_page=True)
    page.goto(f"{base}/console/notifications")  # the level-3 notice reached the district regulator's inbox
    page.locator(".notice-item.unread", has_text="三级响应").first.wait_for()
    assert page.locator("#unread-badge").is_visible()
    shot(page, "notifications-regulator", full_page=True)
    ctx.close()

    # The on-call technician gives the order back; the maintenance manager hands it to a colleague.
    order = task_row(system, late_id, "accept_order")
    if order.assignee_id is not None:
        system.engine.assign_task(order.id, None, actor="maint")
    ctx = context(browser, DESKTOP)
    page = ctx.new_page()
    errors += page_errors(page)
    sign_in(page, base, "maint_manager")
    page.goto(f"{base}/console/tasks/{order.id}")
    colleague = page.locator("#assign-to option").nth(1)
    colleague.wait_for(state="attached")
    chosen = int(colleague.get_attribute("value"))
    page.select_option("#assign-to", str(chosen))
    page.locator("#toast.ok").wait_for()
    assert task_row(system, late_id, "accept_order").assignee_id == chosen
    ctx.close()
    assert errors == []


def test_analyst_changes_timer_deploys_v2_and_invalid_is_refused(system: System, base: str, browser: Any) -> None:
    running = start_rescue(system, demo_elevator(system), source="qr")  # joins or opens: on v1 either way
    ctx = context(browser, DESKTOP)
    page = ctx.new_page()
    errors = page_errors(page)
    sign_in(page, base, "analyst")
    page.goto(f"{base}/console/modeler?key=rescue")
    page.wait_for_selector("#modeler-root[data-loaded='rescue:1']")
    page.select_option("#jump", "t_level2")
    assert page.input_value("#prop-timer") == "accept_deadline"
    page.fill("#prop-timer", "iso_plus(reported_at, 'PT3M')")  # a date: the ladder counts from the report
    page.press("#prop-timer", "Enter")
    page.click("#validate")
    page.wait_for_selector("#result[data-result=valid]")
    page.click("#deploy")  # the diff against v1 to confirm, with a change note
    page.locator("#deploy-dialog[open] #deploy-diff tr[data-element=t_level2][data-property=timer]").wait_for()
    page.fill("#deploy-note", "二级升级改为报警后 3 分钟")
    page.click("#deploy-confirm")
    page.wait_for_selector("#result[data-result=deployed]")
    page.locator(".version-card[data-version='2']").wait_for()
    shot(page, "modeler", full_page=True)
    page.click("[data-open-version='1']")  # the versions side by side: v1 still has the SLA variable
    page.wait_for_selector("#modeler-root[data-loaded='rescue:1']")
    page.select_option("#jump", "t_level2")
    assert page.input_value("#prop-timer") == "accept_deadline"

    # An invalid timer: refused with the reason, nothing deployed.
    page.select_option("#jump", "t_level3")
    page.fill("#prop-timer", "'ten minutes'")
    page.press("#prop-timer", "Enter")
    page.click("#deploy")
    page.wait_for_selector("#result[data-result=invalid]")
    assert "t_level3" in page.inner_text("#result")
    shot(page, "modeler-refused", full_page=True)
    ctx.close()
    assert errors == []

    with system.sessions() as session:
        rescue = ProcessDefinition.key == "rescue"
        versions = session.scalars(
            select(ProcessDefinition.version).where(rescue).order_by(ProcessDefinition.version)
        ).all()
        assert versions == [1, 2]
        v1, v2 = (
            session.scalar(select(ProcessDefinition.id).where(rescue, ProcessDefinition.version == n)) for n in (1, 2)
        )
        assert session.get(Case, running).definition_id == v1
    fresh = start_rescue(system, _idle_elevator(system))
    verify = task_row(system, fresh, "verify_dispatch")
    system.engine.complete_task(verify.id, {"outcome": "dispatch"}, actor="dispatcher")
    with system.sessions() as session:
        case = session.get(Case, fresh)
        assert case.definition_id == v2
        level2 = session.scalar(select(CaseTimer).where(CaseTimer.case_id == fresh, CaseTimer.bpmn_id == "t_level2"))
        assert level2 is not None and level2.fire_at - system.clock.now() == timedelta(minutes=3)
        assert session.get(Case, running).definition_id == v1


def test_case_list_saved_filter_export_portrait_and_screens(system: System, base: str, browser: Any) -> None:
    rescue = start_rescue(system, demo_elevator(system))  # joins the open one when the tests above ran first
    ctx = context(browser, DESKTOP)
    page = ctx.new_page()
    errors = page_errors(page)
    sign_in(page, base, "regulator")
    page.goto(f"{base}/console/cases?type=rescue")
    page.locator("#case-table tbody tr[data-case-id]").first.wait_for()
    with system.sessions() as session:
        numbers = set(session.scalars(select(Case.number).where(Case.case_type == "rescue")))
    listed = set(page.locator("#case-table tbody tr td:first-child a").all_inner_texts())
    assert listed == numbers  # every rescue is in 通川区, the regulator's district
    export = page.get_attribute("#export-csv", "href")
    assert "type=rescue" in export and "format=csv" in export
    csv = page.request.get(base + export)
    assert csv.status == 200 and all(n in csv.text() for n in numbers)
    page.fill("#save-filter input[name=name]", "通川区救援")
    page.click("#save-filter button")
    page.locator(".saved-filter", has_text="通川区救援").wait_for()
    with system.sessions() as session:
        saved = session.scalars(select(SavedFilter)).one()
        assert saved.query == {"type": "rescue"}
    shot(page, "cases", full_page=True)

    score_all(system)  # the nightly risk run, now
    page.goto(f"{base}/console/elevators/{demo_elevator(system)}")
    page.locator("#el-open li.card, #el-past tbody tr").first.wait_for()
    page.locator("#el-qr").evaluate("img => img.complete || new Promise(r => img.onload = r)")
    assert page.locator("#el-facts tr").count() >= 10
    page.locator("#el-risk [data-score]").wait_for()
    assert page.locator("#el-risk .factors li").count() >= 1
    shot(page, "elevator-portrait", full_page=True)
    page.goto(f"{base}/console/cases?type=rescue&lang=en")  # the English switch
    page.locator("#case-table tbody tr[data-case-id]").first.wait_for()
    assert page.inner_text("h1").startswith("Cases") and page.inner_text("#saved-filters").startswith("通川区救援")
    shot(page, "cases-english")
    ctx.close()

    # An inspection falls due in 20 days (the dashboard caches its figures for a few seconds: open it first).
    due = (system.clock.now() + timedelta(days=20)).isoformat()
    expiry = open_or_join(system.engine, system.settings.sla_file, "expiry", elevator_id=_idle_elevator(system),
                          signal={"source": "scan", "kind": "inspection", "due_date": due}).case_id
    wall = context(browser, WALL)
    page = wall.new_page()
    errors += page_errors(page)
    sign_in(page, base, "dispatcher")
    page.goto(f"{base}/console/screens/dispatch")
    page.wait_for_selector("#map[data-points]")
    page.wait_for_selector("#fig-open-total")
    assert page.get_attribute("#map", "data-mode") == "offline"  # no tile URL: district outlines
    drawn = page.locator("#map path.leaflet-interactive, #map .case-cluster").count()
    assert drawn >= 7 + 1  # 7 districts and the open cases (single or clustered)
    with system.sessions() as session:
        open_cases = session.scalar(select(func.count()).select_from(Case).where(Case.status == "open"))
    assert page.locator("#fig-open-total strong").inner_text() == str(open_cases)
    page.locator(f"#feed li[data-case-id='{rescue}']").first.wait_for()  # the alarm in the live warning feed
    shot(page, "dispatch-screen")
    page.goto(f"{base}/console/screens/equipment")
    page.wait_for_selector("#equipment-screen[data-updated]")
    page.locator(f"#expiry-feed a[href='/console/cases/{expiry}']").wait_for()
    # the open expiry case's elevator, and a point per piece of other equipment on the register
    pieces = page.evaluate("async () => (await (await fetch('/api/v1/equipment/map')).json()).length")
    assert pieces > 0 and page.get_attribute("#map", "data-points") == str(pieces + 1)
    shot(page, "equipment-screen")
    wall.close()
    assert errors == []


def second_elevator(system: System) -> int:
    """Another elevator of the demo maintenance unit in 通川区."""
    first = demo_elevator(system)
    with system.sessions() as session:  # (SQLite: one writer at a time, so no session inside another)
        maint_unit = session.scalar(select(User.organisation_id).where(User.username == "maint"))
        found = session.scalar(
            select(Elevator.id)
            .where(Elevator.maintenance_unit_id == maint_unit, Elevator.district_code == "511702", Elevator.id != first)
            .order_by(Elevator.id)
        )
        assert found is not None
        return found


def _idle_elevator(system: System) -> int:
    """An elevator in the demo district without an open case."""
    with system.sessions() as session:
        busy = select(Case.elevator_id).where(Case.status == "open", Case.elevator_id.is_not(None))
        found = session.scalar(
            select(Elevator.id)
            .where(Elevator.district_code == "511702", Elevator.id.not_in(busy))
            .order_by(Elevator.id)
        )
        assert found is not None
        return found




def test_the_technicians_eta_reaches_the_passenger_and_the_dispatch_screen(system: System, base: str,
                                                                           browser: Any) -> None:
    """A passenger's 一键救援, verified, accepted with "arriving in 15 minutes": the passenger's tracking
    page says when the rescuers are expected, and the dispatch screen lists the rescue under way
    with its level, unit, technician and that time."""
    from connectors.qr.flows import call_rescue
    from infra.settings import CITY_TZ

    elevator = _idle_elevator(system)
    call = call_rescue(system, elevator, {"phone": "13912345678", "trapped_count": 1, "note": ""}, nonce="eta-1")
    case_id = call.intake.case_id
    system.engine.complete_task(task_row(system, case_id, "verify_dispatch").id, {"outcome": "dispatch"},
                                actor="dispatcher")
    system.engine.complete_task(task_row(system, case_id, "accept_order").id,
                                {"eta_minutes": 15, "technician": "演示维保员"}, actor="maint")
    expected = (system.clock.now() + timedelta(minutes=15)).astimezone(CITY_TZ).strftime("%H:%M")

    ctx = context(browser, PHONE)
    page = ctx.new_page()
    page.goto(f"{base}/r/t/{call.token}")
    assert page.inner_text("#eta") == expected
    ctx.close()

    wall = context(browser, WALL)
    page = wall.new_page()
    errors = page_errors(page)
    sign_in(page, base, "dispatcher")
    page.goto(f"{base}/console/screens/dispatch")
    row = page.locator(f"#rescues li[data-case-id='{case_id}']")
    row.wait_for()
    assert expected in row.locator(".eta-state").inner_text() and "演示维保员" in row.inner_text()
    assert "已被困" in row.inner_text() and "响应级别" in row.inner_text()
    wall.close()
    assert errors == []


def test_auditor_downloads_an_audit_package_and_keeps_its_digest(system: System, base: str, browser: Any) -> None:
    """The reports page builds the audit package of a date range and shows its manifest digest to
    copy and keep; the monthly PDFs and exports are links on the same page."""
    import json
    import zipfile

    from reports.audit_verify import manifest_digest

    start_rescue(system, demo_elevator(system))
    ctx = context(browser, DESKTOP)
    page = ctx.new_page()
    errors = page_errors(page)
    sign_in(page, base, "auditor")
    page.click("[data-nav=reports]")
    page.wait_for_url(f"{base}/console/reports")
    day = system.clock.now().date()
    page.fill("input[name=from]", (day - timedelta(days=1)).isoformat())
    page.fill("input[name=to]", (day + timedelta(days=1)).isoformat())
    with page.expect_download() as download:
        page.click("#audit-download")
    page.locator("#audit-result:not([hidden])").wait_for()
    digest = page.input_value("#audit-digest")
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    with zipfile.ZipFile(download.value.path()) as package:
        manifest = json.loads(package.read("manifest.json"))
    assert manifest["digest"] == digest == manifest_digest(manifest)  # the one to keep, apart from the file
    assert "month=" in page.get_attribute("#rescue-pdf", "href")
    shot(page, "reports-auditor", full_page=True)
    ctx.close()
    assert errors == []
