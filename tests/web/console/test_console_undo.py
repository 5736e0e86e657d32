"""Undo where it is safe, in Debian's Chromium and both languages (issue 15 §3): a dispatcher who
claimed the wrong task withdraws the claim (the timeline keeps the claim and records its undo); a
cancel is held back a few seconds in the page, so Undo sends nothing, and without Undo it is sent."""

from __future__ import annotations

import os
from typing import Any

import pytest
from sqlalchemy import select

from engine.models import Case, CaseTask, TimelineEvent
from processes.system import System
from registry.models import Elevator, User
from tests.support.console_harness import CHROMIUM, DESKTOP, context, page_errors, sign_in, start_rescue
from tests.web.console.test_console_language import VISIBLE_TEXT, problems
from web.console.assets import NODE_MODULES

if os.environ.get("CI") == "true":
    assert os.path.exists(CHROMIUM) and (NODE_MODULES / "bpmn-js").is_dir()
else:
    pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM) or not (NODE_MODULES / "bpmn-js").is_dir():
        pytest.skip("needs /usr/bin/chromium and web/node_modules (make install)", allow_module_level=True)
pytestmark = pytest.mark.timeout(300)

WITHDRAWN = {"zh-CN": "撤销认领任务", "en": "withdrawn: back to the unit"}


def _idle_elevator(system: System) -> int:
    with system.sessions() as session:
        busy = select(Case.elevator_id).where(Case.status == "open", Case.elevator_id.is_not(None))
        idle = Elevator.id.not_in(busy) & (Elevator.district_code == "511702")
        found = session.scalar(select(Elevator.id).where(idle).order_by(Elevator.id))
        assert found is not None
        return found


def _events(system: System, case_id: int, kind: str) -> list[TimelineEvent]:
    with system.sessions() as session:
        return list(
            session.scalars(
                select(TimelineEvent).where(TimelineEvent.case_id == case_id, TimelineEvent.kind == kind)
                .order_by(TimelineEvent.seq)
            )
        )


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_claim_is_withdrawn_and_a_cancel_is_held_back(system: System, base: str, browser: Any, lang: str) -> None:
    case_id = start_rescue(system, _idle_elevator(system))
    with system.sessions() as session:
        dispatcher = session.scalar(select(User).where(User.username == "dispatcher"))
        of_case = CaseTask.case_id == case_id
        verify = session.scalar(select(CaseTask).where(of_case, CaseTask.bpmn_id == "verify_dispatch"))
        task_id, on_call = verify.id, verify.assignee_id
    if on_call is not None:  # given to the seat on call: give it back so the dispatcher can claim it
        system.engine.assign_task(task_id, None, actor="system")
    before = len(_events(system, case_id, "task_assigned"))

    ctx = context(browser, DESKTOP, lang=lang)
    page = ctx.new_page()
    errors = page_errors(page)
    page.goto(f"{base}/console/signin?lang={'en' if lang == 'en' else 'zh-CN'}")
    sign_in(page, base, "dispatcher")

    # Claim, then Undo: the task is the unit's again; the claim and its undo are both on the timeline.
    page.goto(f"{base}/console/tasks/{task_id}")
    page.click("#claim-task")
    page.wait_for_selector("#undo-bar[data-state=offered]")
    page.locator("#release-task").wait_for()
    assert problems(page.evaluate(VISIBLE_TEXT), lang) == []
    page.click("#undo-action")
    page.locator("#claim-task").wait_for()
    assert page.locator("#undo-bar").count() == 0
    with system.sessions() as session:
        assert session.get(CaseTask, task_id).assignee_id is None
    claim, undo = [e.payload for e in _events(system, case_id, "task_assigned")[before:]]
    assert claim["assignee_id"] == dispatcher.id and "undo" not in claim
    assert undo["assignee_id"] is None and undo["undo"] is True
    page.goto(f"{base}/console/cases/{case_id}")
    page.locator("#timeline li[data-kind=task_assigned]").first.wait_for()
    assert WITHDRAWN[lang] in page.inner_text("#timeline")

    # Cancel: confirmed, then held back; Undo sends nothing.
    page.fill("#cancel-form [name=reason]", "误报：测试" if lang == "zh-CN" else "false alarm: a test")
    page.click("#cancel-form button[type=submit]")
    page.click("#confirm-yes")
    page.wait_for_selector("#undo-bar[data-state=holding]")
    assert problems(page.evaluate(VISIBLE_TEXT), lang) == []
    page.click("#undo-action")
    assert page.locator("#undo-bar").count() == 0
    page.wait_for_timeout(6_000)  # past the hold: still nothing sent
    with system.sessions() as session:
        assert session.get(Case, case_id).status == "open"
    assert _events(system, case_id, "case_cancelled") == []

    # Without Undo, the cancel goes out when the hold ends.
    page.fill("#cancel-form [name=reason]", "误报：测试" if lang == "zh-CN" else "false alarm: a test")
    page.click("#cancel-form button[type=submit]")
    page.click("#confirm-yes")
    page.wait_for_selector("#undo-bar[data-state=holding]")
    page.locator("#undo-bar").wait_for(state="detached", timeout=30_000)
    page.locator("#timeline li[data-kind=case_cancelled]").wait_for(timeout=30_000)
    with system.sessions() as session:
        assert session.get(Case, case_id).status == "cancelled"
    ctx.close()
    assert errors == []
