"""The analyst's modeler in Debian's Chromium, in both languages (issue 15 §6): bpmnlint with the
project's .bpmnlintrc marks problems while drawing; Deploy shows the server's diff against the
running version and asks for a change note, which the version list then shows with its audit entry;
a refused diagram answers in the analyst's language and selects the element it names."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from sqlalchemy import select

from engine.models import ProcessDefinition
from processes.models import AdminAuditEntry
from processes.system import System
from tests.support.console_harness import CHROMIUM, DESKTOP, context, page_errors, shot, sign_in
from tests.web.console.test_console_language import VISIBLE_TEXT, problems
from web.console.assets import BUILD_DIR, NODE_MODULES

if os.environ.get("CI") == "true":
    assert os.path.exists(CHROMIUM) and (NODE_MODULES / "bpmn-js-bpmnlint").is_dir()
    assert (BUILD_DIR / "modeler-lint.js").is_file(), "the modeler's lint bundle is built by make"
else:
    pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM) or not (BUILD_DIR / "modeler-lint.js").is_file():
        pytest.skip("needs /usr/bin/chromium and the lint bundle (make install)", allow_module_level=True)
pytestmark = pytest.mark.timeout(300)

WORDS = {
    "zh-CN": {"clean": "BPMN 检查未发现问题", "nameless": "元素缺少名称", "errors": "错误 1 个",
              "name": "维保单位接单", "timer": "'PT15M'"},
    "en": {"clean": "No problems found by the BPMN check", "nameless": "Element has no name", "errors": "Errors: 1,",
           "name": "Maintenance unit accepts", "timer": "'PT20M'"},
}


def _set(page: Any, element: str, selector: str, value: str) -> None:
    page.select_option("#jump", element)
    page.fill(selector, value)
    page.press(selector, "Enter")


def _running(system: System) -> int:
    with system.sessions() as session:
        return max(session.scalars(select(ProcessDefinition.version).where(ProcessDefinition.key == "warning")))


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_analyst_sees_lint_confirms_the_diff_with_a_note_and_refusals_select_the_element(
    system: System, base: str, browser: Any, lang: str
) -> None:
    words = WORDS[lang]
    running = _running(system)
    ctx = context(browser, DESKTOP, lang=lang)
    page = ctx.new_page()
    errors = page_errors(page)
    page.goto(f"{base}/console/signin?lang={'en' if lang == 'en' else 'zh-CN'}")
    sign_in(page, base, "analyst")
    page.goto(f"{base}/console/modeler?key=warning")
    page.wait_for_selector(f"#modeler-root[data-loaded='warning:{running}']")

    # bpmnlint while drawing: the shipped file passes (make test lints it too); a nameless task does not.
    button = page.locator(".bjsl-button")
    button.wait_for()
    assert words["clean"] in button.inner_text()
    _set(page, "accept_order", "#prop-name", "")
    page.wait_for_function("(w) => document.querySelector('.bjsl-button').textContent.includes(w)", arg=words["errors"])
    issue = page.locator(".djs-overlay [data-rule='label-required'] .message").first
    assert issue.text_content().strip() == words["nameless"]

    # Rename the task, change its timer: Deploy shows exactly these changes and wants a note.
    _set(page, "accept_order", "#prop-name", words["name"])
    page.wait_for_function("(w) => document.querySelector('.bjsl-button').textContent.includes(w)", arg=words["clean"])
    _set(page, "t_accept", "#prop-timer", words["timer"])
    page.click("#deploy")
    dialog = page.locator("#deploy-dialog[open]")
    dialog.wait_for()
    rows = page.locator("#deploy-diff tr[data-element]")
    changed = {(r.get_attribute("data-element"), r.get_attribute("data-property")) for r in rows.all()}
    assert changed == {("accept_order", "name"), ("t_accept", "timer")}
    assert words["name"] in page.inner_text("#deploy-diff tr[data-property=name] .after")
    assert words["timer"] in page.inner_text("#deploy-diff tr[data-property=timer] .after")
    assert problems(page.evaluate(VISIBLE_TEXT), lang) == []
    shot(page, f"modeler-deploy-diff-{lang}")
    page.click("#deploy-confirm")  # no note yet: the dialog stays and says why
    assert page.inner_text("#deploy-note-error").strip() and dialog.is_visible()
    note = f"接单时限缩短（{lang}）" if lang == "zh-CN" else f"Shorter accept time ({lang})"
    page.fill("#deploy-note", note)
    page.click("#deploy-confirm")
    page.wait_for_selector("#result[data-result=deployed]")
    card = page.locator(f".version-card[data-version='{running + 1}']")
    card.wait_for()
    assert note in card.locator(".change-note").inner_text()
    assert card.locator(".audit-seq").inner_text().strip()
    with system.sessions() as session:
        warning = ProcessDefinition.key == "warning"
        version = session.scalar(select(ProcessDefinition).where(warning, ProcessDefinition.version == running + 1))
        assert version.change_note == note and {c["element"] for c in version.changes} == {"accept_order", "t_accept"}
        entry = session.scalars(
            select(AdminAuditEntry).where(AdminAuditEntry.kind == "definition.deployed").order_by(AdminAuditEntry.seq)
        ).all()[-1]
        assert entry.payload["changes"]["note"] == note and entry.payload["target"]["id"] == version.id
    assert problems(page.evaluate(VISIBLE_TEXT), lang) == []

    # A timer the engine can never run: refused in the analyst's language, the element selected.
    _set(page, "t_accept", "#prop-timer", "'ten minutes'")
    page.select_option("#jump", "accept_order")  # elsewhere, so selecting t_accept is the refusal's doing
    page.click("#deploy")
    page.wait_for_selector("#result[data-result=invalid]")
    assert page.locator("#deploy-dialog[open]").count() == 0
    assert page.locator("#result .problem-element[data-element=t_accept]").count() >= 1
    assert "t_accept" in page.get_attribute("#modeler-root", "data-marked").split(",")
    assert "deploy-problem" in page.get_attribute("g.djs-element[data-element-id=t_accept]", "class")
    assert page.inner_text("#props-body code").strip() == "t_accept"
    messages = " ".join(page.locator("#result .problem-message").all_inner_texts())
    assert "ten minutes" in messages  # the analyst's own value, quoted; the rest in their language
    assert problems([re.sub(r"'[^']*'", "", messages)], lang) == [], messages
    assert _running(system) == running + 1  # nothing deployed
    shot(page, f"modeler-refusal-selected-{lang}")
    ctx.close()
    assert errors == []


# Everything bpmn-js itself writes in its palette, context pad and popup menus: labels and the
# titles and placeholders shown on hover.
BPMN_JS_TEXT = """() => {
  const out = [];
  for (const el of document.querySelectorAll('.djs-palette, .djs-context-pad, .djs-popup')) {
    if (el.innerText.trim()) out.push(el.innerText.trim());
    for (const node of el.querySelectorAll('[title], [placeholder], [aria-label]')) {
      for (const name of ['title', 'placeholder', 'aria-label']) {
        if (node.getAttribute(name)) out.push(node.getAttribute(name));
      }
    }
  }
  return out;
}"""
BPMN_JS_WORDS = {
    "zh-CN": {"palette": "创建任务", "pad": "添加结束事件", "menu": "服务任务"},
    "en": {"palette": "Create task", "pad": "Append end event", "menu": "Service task"},
}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_bpmn_js_palette_context_pad_and_replace_menu_speak_the_page_language(
    system: System, base: str, browser: Any, lang: str
) -> None:
    words = BPMN_JS_WORDS[lang]
    ctx = context(browser, DESKTOP, lang=lang)
    page = ctx.new_page()
    errors = page_errors(page)
    page.goto(f"{base}/console/signin?lang={'en' if lang == 'en' else 'zh-CN'}")
    sign_in(page, base, "analyst")
    page.goto(f"{base}/console/modeler?key=warning")
    page.wait_for_selector("#modeler-root[data-loaded^='warning:']")

    # The palette, hovered: its entries' titles.
    page.hover(".djs-palette .entry[data-action='create.task']")
    palette = page.evaluate(BPMN_JS_TEXT)
    assert words["palette"] in palette

    # A task's context pad, then its replace menu (with its search box).
    page.select_option("#jump", "accept_order")  # selects it on the canvas, which opens its pad
    page.locator(".djs-context-pad.open .entry[data-action='append.end-event']").wait_for()
    page.hover(".djs-context-pad.open .entry[data-action='append.end-event']")
    pad = page.evaluate(BPMN_JS_TEXT)
    assert words["pad"] in pad
    page.click(".djs-context-pad.open .entry[data-action='replace']")
    page.locator(".djs-popup .entry").first.wait_for()
    menu = page.evaluate(BPMN_JS_TEXT)
    assert any(words["menu"] in text for text in menu), menu
    shot(page, f"modeler-replace-menu-{lang}")

    found = problems(palette + pad + menu, lang)
    if lang == "en":  # English stays bpmn-js's own English: no Chinese slipped in
        found += [text for text in palette + pad + menu if re.search(r"[\u3400-\u9fff]", text)]
    assert found == []
    ctx.close()
    assert errors == []
