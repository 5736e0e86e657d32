"""The console under its Content-Security-Policy in a real browser (Debian's Chromium via
Playwright): every page, the diagram viewer and modeler, the map screens, the phone menu and the
API docs render without one CSP violation in the browser's console."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from infra.clock import SimulatedClock
from processes.system import System
from tests.support.console_harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    PHONE,
    demo_elevator,
    serve,
    set_passwords,
    sign_in,
    start_rescue,
)
from tests.support.system import START, make_system
from web.console.assets import NODE_MODULES

if os.environ.get("CI") == "true":  # CI must drive the real browser: nothing missing may pass as a skip
    import playwright.sync_api as playwright_api

    assert os.path.exists(CHROMIUM) and (NODE_MODULES / "bpmn-js").is_dir()
else:
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM) or not (NODE_MODULES / "bpmn-js").is_dir():
        pytest.skip("needs /usr/bin/chromium and web/node_modules (make install)", allow_module_level=True)
pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    tmp = tmp_path_factory.mktemp("csp")
    system = make_system(f"sqlite:///{tmp / 'csp.sqlite3'}", SimulatedClock(START), elevators=40,
                         upload_dir=tmp / "uploads")
    set_passwords(system)
    yield system
    system.db.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def watch(page: Any) -> list[str]:
    """CSP violations as Chromium logs them ("Refused to ... Content Security Policy"), and the
    page's own securitypolicyviolation events (an init script runs outside the page's CSP)."""
    found: list[str] = []
    page.on("console", lambda msg: found.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.on("pageerror", lambda exc: found.append(f"page error: {exc}"))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "console.error(`Content Security Policy violation: ${e.violatedDirective} ${e.blockedURI}`));"
    )
    return found


def test_console_pages_log_no_csp_violation(system: System, browser: Any) -> None:
    case_id = start_rescue(system, demo_elevator(system))
    with serve(system) as base:
        ctx = browser.new_context(locale="zh-CN", **DESKTOP)
        ctx.set_default_timeout(15_000)
        page = ctx.new_page()
        found = watch(page)
        page.goto(f"{base}/console/signin")
        sign_in(page, base, "admin")
        visits = {
            "/console/": "main",
            "/console/inbox": "main",
            "/console/cases": "main",
            f"/console/cases/{case_id}": "#diagram[data-rendered]",
            f"/console/elevators/{demo_elevator(system)}": "main",
            "/console/notifications": "main",
            "/console/modeler?key=rescue": "#modeler-root[data-loaded='rescue:1']",
            "/console/screens/dispatch": "#map[data-points]",
            "/console/screens/equipment": "#equipment-screen[data-updated]",
            "/api/docs": ".swagger-ui .opblock",
        }
        for path, ready in visits.items():
            page.goto(f"{base}{path}")
            page.wait_for_selector(ready)
            page.wait_for_load_state("networkidle")
        ctx.close()

        phone = browser.new_context(locale="zh-CN", **PHONE)
        page = phone.new_page()
        found += watch(page)
        sign_in(page, base, "maint")
        page.click(".menu-toggle")  # was an inline onclick, which the CSP refuses
        menu_open = "menu-open" in (page.get_attribute("body", "class") or "")
        phone.close()

        owner = browser.new_context(locale="zh-CN", **PHONE)  # the property company's sign-off page
        page = owner.new_page()
        found += watch(page)
        sign_in(page, base, "property")
        page.goto(f"{base}/console/visits")
        page.wait_for_selector("#visit-list[data-loaded]", state="attached")
        page.wait_for_load_state("networkidle")
        owner.close()
    assert found == []
    assert menu_open
