"""axe-core (npm, web/node_modules) over the main console pages in Chromium: no violation of
serious or critical impact (WCAG 2 A/AA rules), on the desktop and on a phone."""

from __future__ import annotations

import os
from typing import Any

import pytest

from processes.system import System
from tests.support.console_harness import CHROMIUM, DESKTOP, PHONE, demo_elevator, sign_in, start_rescue
from web.console.assets import NODE_MODULES

AXE = NODE_MODULES / "axe-core" / "axe.min.js"
if os.environ.get("CI") == "true":
    assert os.path.exists(CHROMIUM) and AXE.exists(), "needs /usr/bin/chromium and npm's axe-core (make install)"
else:
    pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM) or not AXE.exists():
        pytest.skip("needs /usr/bin/chromium and web/node_modules/axe-core", allow_module_level=True)
pytestmark = pytest.mark.timeout(300)

RUN_AXE = """async () => {
  const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } });
  return result.violations.filter((v) => ['serious', 'critical'].includes(v.impact))
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
}"""


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_main_pages_have_no_serious_accessibility_violations(system: System, base: str, browser: Any,
                                                              device: str) -> None:
    case_id = start_rescue(system, demo_elevator(system), source="qr", phone="13912345678", trapped_count=2)
    ctx = browser.new_context(locale="zh-CN", bypass_csp=True, **(DESKTOP if device == "desktop" else PHONE))
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    axe = AXE.read_text(encoding="utf-8")
    found: list[str] = []

    def check(name: str) -> None:
        page.wait_for_load_state("networkidle")
        page.evaluate(axe)
        found.extend(f"{name}: {v}" for v in page.evaluate(RUN_AXE))

    page.goto(f"{base}/console/signin")
    check("signin")
    sign_in(page, base, "dispatcher")
    pages = [("/console/", "#home-tasks li"), ("/console/inbox?scope=unclaimed", "#task-list[data-loaded]"),
             (f"/console/cases/{case_id}", "#diagram[data-rendered]"), ("/console/cases", "#case-table tbody tr"),
             ("/console/notifications", "#notification-list li")]
    for path, ready in pages:
        page.goto(base + path)
        page.locator(ready).first.wait_for(state="attached")
        check(path)
    page.goto(f"{base}/console/inbox?scope=unclaimed")
    page.locator("#task-list [data-task-id] .task-main").first.click()
    page.locator("#form-fields .field").first.wait_for()
    check("task")
    ctx.close()
    assert found == [], "\n".join(found)
