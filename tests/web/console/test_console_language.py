"""One language at a time (issue 15): every console page, for the users who open it, in zh-CN and in
English, in Debian's Chromium. What the page shows — its visible text, its title, placeholders and
button labels — holds no word of the other script and no snake_case code. Data people typed or
registered (addresses, names, notes, BPMN names an analyst wrote) is marked `translate="no"` and
left out, as are the diagrams and the map, which draw the analysts' and the map's own words.
The sign-in error and a form's validation messages are checked in both languages too."""

from __future__ import annotations

import os
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine.models import CaseTask
from engine.scheduler import fire_due_timers
from infra.clock import SimulatedClock
from processes.system import System
from tests.support.console_harness import (
    CHROMIUM,
    DESKTOP,
    PASSWORD,
    context,
    demo_elevator,
    page_errors,
    sign_in,
    start_rescue,
)
from tests.support.console_language import VISIBLE_TEXT, problems
from web.console.assets import NODE_MODULES

if os.environ.get("CI") == "true":
    assert os.path.exists(CHROMIUM) and (NODE_MODULES / "bpmn-js").is_dir()
else:
    pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM) or not (NODE_MODULES / "bpmn-js").is_dir():
        pytest.skip("needs /usr/bin/chromium and web/node_modules (make install)", allow_module_level=True)
pytestmark = pytest.mark.timeout(300)

@pytest.fixture(scope="module")
def cases(system: System, clock: SimulatedClock) -> dict[str, int]:
    """A rescue half done (verified, accepted) and one escalated to level 3, so the pages have it all:
    open tasks, a timeline with assignments, timers and escalations, notifications."""
    done = start_rescue(system, demo_elevator(system), source="qr", phone="13912345678", trapped_count=2)

    def task(case_id: int, bpmn_id: str) -> int:
        with system.sessions() as session:
            return session.scalars(select(CaseTask.id).where(CaseTask.case_id == case_id,
                                                             CaseTask.bpmn_id == bpmn_id)).one()

    system.engine.complete_task(task(done, "verify_dispatch"), {"outcome": "dispatch", "trapped_count": 2,
                                                                "note": "两人被困"}, actor="dispatcher")
    system.engine.complete_task(task(done, "accept_order"), {"eta_minutes": 15, "technician": "演示维保员"},
                                actor="maint")
    late = start_rescue(system, _other_elevator(system, exclude=demo_elevator(system)))
    system.engine.complete_task(task(late, "verify_dispatch"), {"outcome": "dispatch"}, actor="dispatcher")
    clock.advance(timedelta(minutes=11))
    fire_due_timers(system.engine)
    _register_conflict_and_subscription(system)
    _visits_to_answer(system)
    return {"rescue": done, "escalated": late, "arrival": task(done, "report_arrival"),
            "accept": task(late, "accept_order"), "rectification": _rectification(system)}


def _rectification(system: System) -> int:
    """An inspection institute's failed report: two items, one with evidence and returned, one open."""
    from processes import inspection_results, rectification_items
    from registry.models import Elevator, Organisation, OrgKind

    with system.sessions() as session:
        code = session.get(Elevator, demo_elevator(system)).register_code
        target = inspection_results.find_target(session, code)
        agency = session.scalars(select(Organisation.id).where(Organisation.kind == OrgKind.INSPECTION_AGENCY)).first()
    findings = [rectification_items.Finding("2.8", "轿厢应急照明不亮", "B"),
                rectification_items.Finding("8.3", "制动器制动力不足", "A")]
    result = inspection_results.Result("DZJY-LANG-1", date(2026, 11, 20), "failed", None, findings)
    assert target is not None and agency is not None
    outcome = inspection_results.accept(system, target, result, key="lang:1", agency_id=agency, actor="inspection:t")
    case_id = outcome.case_id
    assert case_id is not None
    with system.sessions() as session:
        first = rectification_items.items_of(session, case_id)[0].id
    rectification_items.add_evidence(system, case_id, first, note="已更换电池", actor="maint", reference="WB-1")
    rectification_items.review(system, case_id, first, accepted=False, note="照片不清", actor="regulator")
    return case_id


def _visits_to_answer(system: System) -> None:
    """Two maintenance visits to the demo elevator for `property` to answer, one already disputed."""
    from processes.maintenance.confirmation import Confirmation
    from processes.maintenance.confirmation_flows import answer_visit
    from processes.maintenance.flows import write_visit
    from processes.maintenance.service import local_day
    from registry.models import Elevator, Organisation, User
    from registry.scope import Scope

    now = system.clock.now()
    with system.sessions() as session, session.begin():
        lift = session.get(Elevator, demo_elevator(system))
        ids = [write_visit(session, lift, maintained_on=local_day(now), results={"A1-01": "ok", "A1-02": "fault"},
                           cycle=15, now=now, actor="maint", technician="演示维保员", photos=["att:1"], note="更换门刀",
                           require_all=False).id for _ in range(2)]
        user = session.scalars(select(User).where(User.username == "property")).one()
        scope = Scope.of(user, session.get(Organisation, user.organisation_id))
    answer_visit(system, scope, ids[1], Confirmation.DISPUTED, reason="当天未见维保人员到场")


def _other_elevator(system: System, *, exclude: int) -> int:
    from registry.models import Elevator, User

    with system.sessions() as session:
        unit = session.scalar(select(User.organisation_id).where(User.username == "maint"))
        return session.scalars(select(Elevator.id).where(Elevator.maintenance_unit_id == unit,
                                                         Elevator.id != exclude).order_by(Elevator.id)).first()


def _register_conflict_and_subscription(system: System) -> None:
    """A conflict in the regulator's district (an admin's edit against the provincial export) and a
    feed subscription that owes an event, so those pages show their rows."""
    from connectors.feed import service as feed_service
    from processes import administration, register_sync
    from registry.models import Elevator

    now, lift_id = system.clock.now(), demo_elevator(system)
    with system.sessions() as session, session.begin():
        feed_service.create_subscription(session, {"name": "省平台", "url": "http://127.0.0.1:9/feed",
                                                   "secret": "s" * 32, "kinds": ["register", "rescue"],
                                                   "districts": ["511702"]}, actor="admin", now=now)
        lift = session.get(Elevator, lift_id)
        administration.update_elevator(session, lift, {"place_category": "hospital"}, actor="admin", now=now)
        rows = [{"register_code": lift.register_code, "place_category": "住宅"}]
        register_sync.import_source(session, rows, source="provincial", filename="p.csv", actor="admin", now=now)


# user -> the pages they open (path, a selector that is there once the page's data arrived)
def journeys(c: dict[str, int], elevator_id: int) -> dict[str, list[tuple[str, str]]]:
    return {
        "dispatcher": [
            ("/console/", "#home-tasks li"),
            ("/console/inbox?scope=org", "#task-list[data-loaded]"),
            (f"/console/cases/{c['rescue']}", "#diagram[data-rendered]"),
            ("/console/cases", "#case-table tbody tr[data-case-id]"),
            ("/console/notifications", "#notification-list li"),
            ("/console/screens/dispatch", "#map[data-points]"),
            ("/console/screens/equipment", "#equipment-screen[data-updated]"),
        ],
        "maint": [
            ("/console/inbox", "#task-list[data-loaded]"),
            (f"/console/tasks/{c['arrival']}", "#form-fields .field"),
            (f"/console/elevators/{elevator_id}", "#el-facts tr"),
            (f"/console/cases/{c['rectification']}", "#items tr[data-state=rejected]"),
            (f"/console/checkin?elevator={elevator_id}", "#checklist fieldset"),
        ],
        "regulator": [
            ("/console/", "#home-escalations tr[data-case-id]"),
            (f"/console/cases/{c['escalated']}", "#timeline li[data-kind=escalated]"),
            (f"/console/cases/{c['rectification']}", "#timeline li[data-kind=item_updated]"),
            ("/console/reports", "#stored-reports tbody tr"),
            ("/console/screens/equipment", "#equipment-screen[data-updated]"),
            (f"/console/cases/new?elevator_id={elevator_id}", "#new-case-form"),
            ("/console/equipment", "#eq-table a[data-open-case]"),
            ("/console/arrivals", "#arrival-table[data-loaded]"),
            ("/console/register/conflicts", "#conflict-table tr[data-conflict-id]"),
        ],
        "property": [
            ("/console/visits", "#visit-list li[data-visit-id]"),
            ("/console/visits?status=disputed", "#visit-list li[data-confirmation=disputed]"),
        ],
        "admin": [
            ("/console/feed/subscriptions", "#sub-table tr[data-subscription-id]"),
            ("/console/register/conflicts?status=all", "#conflict-table tr[data-conflict-id]"),
        ],
        "analyst": [
            ("/console/", "#home-definitions tr"),
            ("/console/modeler?key=rescue", "#modeler-root[data-loaded]"),
        ],
    }


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_every_page_speaks_one_language(system: System, base: str, browser: Any, cases: dict[str, int],
                                        lang: str) -> None:
    found: list[str] = []
    for user, pages in journeys(cases, demo_elevator(system)).items():
        ctx = context(browser, DESKTOP, lang=lang)
        page = ctx.new_page()
        errors = page_errors(page)
        page.goto(f"{base}/console/signin?lang={'en' if lang == 'en' else 'zh-CN'}")
        found += [f"signin: {p}" for p in problems(page.evaluate(VISIBLE_TEXT), lang)]
        assert page.get_attribute("html", "lang") == lang
        sign_in(page, base, user)
        for path, ready in pages:
            page.goto(base + path)
            page.locator(ready).first.wait_for(state="attached")
            page.wait_for_load_state("networkidle")
            assert page.get_attribute("html", "lang") == lang, path
            found += [f"{user} {path}: {p}" for p in problems(page.evaluate(VISIBLE_TEXT), lang)]
        ctx.close()
        assert errors == [], (user, errors)
    assert found == [], "\n".join(found)


@pytest.mark.parametrize(("lang", "wrong_password", "too_many"), [
    ("zh-CN", "用户名或密码错误。", "不能大于 50"),
    ("en", "Wrong username or password.", "Must be at most 50"),
])
def test_sign_in_error_and_form_errors_in_the_readers_language(system: System, base: str, browser: Any,
                                                               cases: dict[str, int], lang: str,
                                                               wrong_password: str, too_many: str) -> None:
    ctx = context(browser, DESKTOP, lang=lang)
    page = ctx.new_page()
    page.goto(f"{base}/console/signin?lang={lang}")
    page.fill("input[name=username]", "dispatcher")
    page.fill("input[name=password]", PASSWORD + "x")
    page.click("button[type=submit]")
    page.locator("#signin-error:not([hidden])").wait_for()
    assert page.inner_text("#signin-error") == wrong_password
    sign_in(page, base, "maint")
    page.goto(f"{base}/console/tasks/{cases['accept']}")
    page.locator("#claim-task, #release-task").first.wait_for()
    if page.locator("#claim-task").count():
        page.click("#claim-task")
        page.locator("#release-task").wait_for()
    page.fill("input[name=eta_minutes]", "999")  # at most 240
    page.click("#submit-task")
    error = page.locator("[data-error-for=eta_minutes]")
    error.wait_for()
    assert error.inner_text() == too_many.replace("50", "240")
    label = page.inner_text("[data-field=eta_minutes] .label")
    assert label.startswith("预计到达" if lang == "zh-CN" else "Arriving in")
    ctx.close()
