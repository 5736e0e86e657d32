"""The console's server side without a browser: pages need a session (and send the browser to
sign-in), the npm packages are served from web/node_modules and nothing else is, the language
switch, the zh-CN catalog covers every message, saved filters belong to their owner."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from processes.system import System
from tests.support.console_harness import PASSWORD, set_passwords
from tests.support.system import make_system
from web.app import create_app
from web.console.assets import NODE_MODULES

needs_npm = pytest.mark.skipif(
    not (NODE_MODULES / "bpmn-js").is_dir() and os.environ.get("CI") != "true",
    reason="web/node_modules missing (make install runs npm ci)",
)


@pytest.fixture
def app(sqlite_url: str, clock: Any, tmp_path: Any) -> Iterator[Flask]:
    system: System = make_system(sqlite_url, clock, elevators=40, upload_dir=tmp_path / "uploads")
    set_passwords(system)
    app = create_app(system)
    app.config["TESTING"] = True
    yield app
    system.db.dispose()


def signed_in(app: Flask, username: str) -> tuple[Any, str]:
    client = app.test_client()
    r = client.post("/api/v1/session", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200
    return client, r.get_json()["csrf_token"]


def test_pages_send_strangers_to_sign_in_and_come_back(app: Flask) -> None:
    client = app.test_client()
    r = client.get("/console/cases?type=rescue")
    assert r.status_code == 302
    assert r.headers["Location"] == "/console/signin?next=/console/cases?type%3Drescue"
    assert client.get("/console/signin").status_code == 200
    assert client.get("/").headers["Location"] == "/console/"
    for outside in ("//evil.example/x", "/\\evil.example/x", "https://evil.example/"):  # no open redirect
        assert 'data-next=""' in client.get("/console/signin", query_string={"next": outside}).get_data(as_text=True)
    assert 'data-next="/console/cases"' in client.get("/console/signin?next=/console/cases").get_data(as_text=True)
    # The API keeps its JSON 401 (the console's redirect is for pages only).
    assert client.get("/api/v1/cases").status_code == 401


def test_every_page_renders_for_its_roles(app: Flask) -> None:
    client, _ = signed_in(app, "regulator")
    for path in ("/console/", "/console/inbox", "/console/tasks/1", "/console/cases", "/console/cases/1",
                 "/console/elevators/1", "/console/screens/dispatch", "/console/screens/equipment",
                 "/console/notifications"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert 'name="csrf-token"' in r.get_data(as_text=True)
    assert client.get("/console/modeler").status_code == 403  # analysts and admins edit processes
    analyst, _ = signed_in(app, "analyst")
    assert analyst.get("/console/modeler").status_code == 200


def test_chinese_by_default_english_by_switch(app: Flask) -> None:
    client = app.test_client()
    assert "登录" in client.get("/console/signin").get_data(as_text=True)
    english = client.get("/console/signin?lang=en")
    assert "Sign in" in english.get_data(as_text=True) and "登录" not in english.get_data(as_text=True)
    assert "Sign in" in client.get("/console/signin").get_data(as_text=True)  # remembered in a cookie


def test_catalog_translates_every_console_message() -> None:
    from web.console.i18n.build import messages, translation

    assert [(m, c) for _file, _line, m, c in messages() if translation(m, c) is None] == []


@needs_npm
def test_npm_packages_are_served_and_nothing_else(app: Flask) -> None:
    client = app.test_client()  # public: the sign-in page and the API docs need them before a session
    r = client.get("/static/npm/bpmn-js/bpmn-navigated-viewer.production.min.js")
    assert r.status_code == 200 and b"BpmnJS" in r.data
    assert client.get("/static/npm/leaflet/leaflet.css").status_code == 200
    assert client.get("/static/npm/swagger-ui-dist/swagger-ui-bundle.js").status_code == 200
    assert client.get("/static/npm/bpmn-moddle/dist/index.js").status_code == 404  # not a served package
    assert client.get("/static/npm/bpmn-js/../package.json").status_code == 404
    assert client.get("/static/npm/leaflet/%2e%2e/package.json").status_code == 404
    docs = client.get("/api/docs").get_data(as_text=True)
    assert "/static/npm/swagger-ui-dist/swagger-ui-bundle.js" in docs


def test_saved_filters_belong_to_their_owner(app: Flask) -> None:
    regulator, csrf = signed_in(app, "regulator")
    r = regulator.post("/api/v1/saved-filters", json={"name": "超时救援", "query": {"type": "rescue", "overdue": True}},
                       headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201 and r.get_json()["query"] == {"type": "rescue", "overdue": True}
    again = regulator.post("/api/v1/saved-filters", json={"name": "超时救援", "query": {"type": "warning"}},
                           headers={"X-CSRF-Token": csrf})
    assert again.status_code == 201 and again.get_json()["id"] == r.get_json()["id"]  # same name: replaced
    bad = regulator.post("/api/v1/saved-filters", json={"name": "x", "query": {"password": "1"}},
                         headers={"X-CSRF-Token": csrf})
    assert bad.status_code == 422
    assert regulator.post("/api/v1/saved-filters", json={"name": "x", "query": {}}).status_code == 403  # no CSRF

    other, other_csrf = signed_in(app, "dispatcher")
    assert other.get("/api/v1/saved-filters").get_json() == []
    fid = r.get_json()["id"]
    assert other.delete(f"/api/v1/saved-filters/{fid}", headers={"X-CSRF-Token": other_csrf}).status_code == 404
    assert [f["name"] for f in regulator.get("/api/v1/saved-filters").get_json()] == ["超时救援"]
    assert regulator.delete(f"/api/v1/saved-filters/{fid}", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert regulator.get("/api/v1/saved-filters").get_json() == []


def test_no_console_message_is_translated_differently_by_another_catalog() -> None:
    """Flask-Babel merges the packages' catalogs, so a shared message would show the other package's words."""
    from babel.messages.pofile import read_po

    from web.http.i18n import TRANSLATION_DIRS

    ours = TRANSLATION_DIRS[0] / "zh_CN" / "LC_MESSAGES" / "messages.po"
    with ours.open("rb") as f:
        console = read_po(f)
    clashes = []
    for directory in TRANSLATION_DIRS[1:]:
        for po in directory.glob("zh_CN/LC_MESSAGES/messages.po"):
            with po.open("rb") as f:
                other = read_po(f)
            clashes += [m.id for m in console if m.id and m.context is None and m.id in other
                        and other[m.id].string != m.string]
    assert clashes == []


@needs_npm
@pytest.mark.parametrize(
    "name", ["complaint", "device_offline", "expiry", "rectification", "rescue", "supervision", "warning"]
)
def test_the_modeler_saves_every_process_as_it_read_it(name: str) -> None:
    """What the modeler's bpmn-moddle (with our spiffworkflow descriptor) writes back parses to the same
    process: tasks, lanes/roles, forms, due times, service operators and their parameters."""
    import shutil
    import subprocess

    from engine.definitions import parse_process
    from infra.settings import ROOT

    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node is missing (make installs the front-end packages with npm)")
        pytest.skip("node is missing")
    source = (ROOT / "bpmn" / f"{name}.bpmn").read_text(encoding="utf-8")
    saved = subprocess.run(
        [node, str(ROOT / "web" / "scripts" / "roundtrip-bpmn.mjs"), str(ROOT / "bpmn" / f"{name}.bpmn")],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout

    def essence(xml: str) -> dict[str, Any]:
        parsed = parse_process(xml)
        specs = [parsed.spec, *parsed.subprocess_specs.values()]
        return {
            "tasks": sorted(t for spec in specs for t in spec.task_specs),
            "human": {k: (v.role, v.form, v.due_in) for k, v in parsed.human_tasks.items()},
            "services": sorted(
                (t.bpmn_id, t.operation_name, sorted((k, v.get("value")) for k, v in t.operation_params.items()))
                for spec in specs for t in spec.task_specs.values() if getattr(t, "operation_name", None)
            ),
        }

    assert "<bpmndi:BPMNDiagram" in saved
    assert essence(saved) == essence(source)


@needs_npm
def test_the_committed_diagram_layout_is_what_the_layout_script_makes(tmp_path: Any) -> None:
    """`node web/scripts/layout-bpmn.mjs --force` on a copy reproduces each bpmn/*.bpmn byte for byte: the
    layout is generated (bpmn-auto-layout), and the script only adds <bpmndi:BPMNDiagram> elements."""
    import shutil
    import subprocess

    from infra.settings import ROOT

    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node is missing")
        pytest.skip("node is missing")
    files = sorted((ROOT / "bpmn").glob("*.bpmn"))
    copies = [shutil.copy(f, tmp_path / f.name) for f in files]
    subprocess.run([node, str(ROOT / "web" / "scripts" / "layout-bpmn.mjs"), "--force", *map(str, copies)],
                   check=True, capture_output=True, timeout=120)
    for original in files:
        assert (tmp_path / original.name).read_bytes() == original.read_bytes(), (
            f"{original.name}: its diagram is stale; run `node web/scripts/layout-bpmn.mjs --force bpmn/*.bpmn`"
        )


@needs_npm
def test_the_process_files_pass_bpmnlint_recommended() -> None:
    """bpmnlint with `bpmnlint:recommended` (the project's .bpmnlintrc turns off only no-bpmndi: the
    layout draws no pool or lanes; a lane names a role and the console tags each task with it) finds
    no problem in bpmn/*.bpmn: every node connected both ways, events and gateway branches labelled,
    no overlapping boundary events, no implicit start, end or join."""
    import subprocess

    from infra.settings import ROOT

    lint = ROOT / "web" / "node_modules" / ".bin" / "bpmnlint"
    if not lint.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("bpmnlint is missing (make install runs npm ci)")
        pytest.skip("bpmnlint is missing")
    files = sorted(str(p) for p in (ROOT / "bpmn").glob("*.bpmn"))
    done = subprocess.run([str(lint), *files], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_modelers_chinese_covers_every_word_bpmn_js_translates() -> None:
    """web/scripts/check-bpmn-zh.mjs reads the installed bpmn-js and diagram-js for every string they
    pass to `translate` (palette, context pad, replace menu, element names, errors) and fails on one
    that web/console/static/bpmn-zh.js leaves without Chinese: an upgrade that adds words fails here."""
    import shutil
    import subprocess

    from infra.settings import ROOT

    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node is missing (make installs the front-end packages with npm)")
        pytest.skip("node is missing")
    checked = subprocess.run(
        [node, str(ROOT / "web" / "scripts" / "check-bpmn-zh.mjs")], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert int(checked.stdout.split()[0]) > 100  # the sources were read (bpmn-js 18 translates ~130 strings)
