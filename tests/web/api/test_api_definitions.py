"""Process definitions over the API: versions with case counts, validate, deploy, refusal."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from infra.clock import SimulatedClock
from infra.settings import ROOT
from processes.intake import open_or_join
from processes.system import System
from tests.support.api_client import Client, app_for, demo_elevator
from tests.support.system import make_system

WARNING_XML = (ROOT / "bpmn" / "warning.bpmn").read_text(encoding="utf-8")


@pytest.fixture
def api(sqlite_url: str, clock: SimulatedClock) -> Iterator[tuple[System, Flask]]:
    system = make_system(sqlite_url, clock, elevators=60)
    yield system, app_for(system)
    system.db.dispose()


def test_analyst_validates_and_deploys_a_new_version(api: tuple[System, Flask]) -> None:
    system, app = api
    open_or_join(
        system.engine,
        system.settings.sla_file,
        "warning",
        elevator_id=demo_elevator(system),
        signal={"source": "iot", "warning_type": "door_lock_fault"},
    )
    analyst = Client(app, "analyst")
    listed = {p["key"]: p for p in analyst.get("/api/v1/process-definitions").get_json()}
    # every shipped process, the seven case types of the catalogue
    assert set(listed) == {p.stem for p in Path(system.settings.bpmn_dir).glob("*.bpmn")}
    assert {"rescue", "warning", "rectification", "expiry", "complaint", "device_offline", "supervision"} <= set(listed)
    assert listed["warning"]["versions"][0]["cases_open"] == 1

    changed = WARNING_XML.replace('value="accept_within"', "value=\"'PT20M'\"", 1)
    assert changed != WARNING_XML
    check = analyst.post("/api/v1/process-definitions/validate", json={"xml": changed}).get_json()
    assert check["valid"] and check["key"] == "warning" and check["user_tasks"]
    assert len(analyst.get("/api/v1/process-definitions/warning/versions").get_json()) == 1  # validate deploys nothing

    made = analyst.post("/api/v1/process-definitions", json={"xml": changed})
    assert made.status_code == 201 and made.get_json()["created"] and made.get_json()["definition"]["version"] == 2
    same = analyst.post("/api/v1/process-definitions", json={"xml": changed}).get_json()
    assert same["created"] is False and same["definition"]["version"] == 2
    versions = analyst.get("/api/v1/process-definitions/warning/versions").get_json()
    assert [(v["version"], v["cases_open"]) for v in versions] == [(1, 1), (2, 0)]
    xml = analyst.get("/api/v1/process-definitions/warning/versions/2/xml")
    assert xml.mimetype == "application/xml" and b"PT20M" in xml.data


def _unknown_lane(xml: str) -> str:
    return xml.replace("<bpmn:lane ", '<bpmn:lane name="nobody" ', 1).replace('name="maintenance"', 'name="janitor"')


def _unknown_element(xml: str) -> str:
    return xml.replace("</bpmn:definitions>", "<bpmn:oops/></bpmn:definitions>")


def _external_entity(xml: str) -> str:
    return '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + xml.split("?>", 1)[1]


def _import_in_expression(xml: str) -> str:
    return xml.replace('value="accept_within"', "value=\"__import__('os')\"", 1)


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [(_unknown_lane, ""), (_unknown_element, ""), (_external_entity, "DOCTYPE"), (_import_in_expression, "")],
)
def test_invalid_bpmn_is_refused_and_nothing_deployed(api: tuple[System, Flask], mutation, expected: str) -> None:
    _, app = api
    analyst = Client(app, "analyst")
    bad = mutation(WARNING_XML)
    check = analyst.post("/api/v1/process-definitions/validate", json={"xml": bad}).get_json()
    assert check["valid"] is False and check["problems"]
    if expected:
        assert any(expected in p["message"] for p in check["problems"])
    refused = analyst.post("/api/v1/process-definitions", json={"xml": bad})
    assert refused.status_code == 422 and refused.get_json()["errors"]["problems"]
    assert len(analyst.get("/api/v1/process-definitions/warning/versions").get_json()) == 1


def test_only_analysts_and_admins_deploy(api: tuple[System, Flask]) -> None:
    _, app = api
    for user in ("dispatcher", "regulator", "auditor", "maint"):
        assert Client(app, user).post("/api/v1/process-definitions", json={"xml": WARNING_XML}).status_code == 403


@pytest.fixture
def api_on(db_url: str, clock: SimulatedClock) -> Iterator[tuple[System, Flask]]:
    system = make_system(db_url, clock, elevators=60)
    yield system, app_for(system)
    system.db.dispose()


def test_preview_names_the_changes_and_the_note_is_kept_with_the_version_and_its_audit(
    api_on: tuple[System, Flask],
) -> None:
    _, app = api_on
    analyst = Client(app, "analyst")
    changed = WARNING_XML.replace('name="维保接单"', 'name="维保单位接单"').replace(
        "<bpmn:timeDuration>accept_within</bpmn:timeDuration>", "<bpmn:timeDuration>'PT15M'</bpmn:timeDuration>"
    )
    preview = analyst.post("/api/v1/process-definitions/preview", json={"xml": changed}).get_json()
    assert preview["valid"] and preview["running_version"] == 1 and preview["unchanged"] is False
    by_id = {c["element"]: c for c in preview["changes"]}
    assert set(by_id) == {"accept_order", "t_accept"}
    assert by_id["accept_order"]["properties"] == [{"property": "name", "before": "维保接单", "after": "维保单位接单"}]
    assert len(analyst.get("/api/v1/process-definitions/warning/versions").get_json()) == 1  # preview writes nothing
    same = analyst.post("/api/v1/process-definitions/preview", json={"xml": WARNING_XML}).get_json()
    assert same["unchanged"] is True and same["changes"] == []

    note = "接单时限改为 15 分钟（2026 年演练复盘）"
    made = analyst.post("/api/v1/process-definitions", json={"xml": changed, "note": note}).get_json()
    assert made["created"] and made["definition"]["change_note"] == note
    assert {c["element"] for c in made["definition"]["changes"]} == {"accept_order", "t_accept"}
    v2 = analyst.get("/api/v1/process-definitions/warning/versions").get_json()[-1]
    assert v2["version"] == 2 and v2["change_note"] == note and v2["audit_seq"]
    admin = Client(app, "admin")
    entries = admin.get("/api/v1/admin-audit?kind=definition.deployed").get_json()
    (entry,) = [e for e in entries if e["seq"] == v2["audit_seq"]]
    changes = entry["changes"]
    assert changes["note"] == note and changes["previous_version"] == 1
    assert changes["changed_elements"] == ["accept_order", "t_accept"]
    assert changes["elements"] == {"added": 0, "removed": 0, "changed": 2}


def test_refusals_speak_the_analysts_language_and_name_the_element(api: tuple[System, Flask]) -> None:
    _, app = api
    analyst = Client(app, "analyst")
    bad = _import_in_expression(WARNING_XML)
    zh = analyst.post("/api/v1/process-definitions", json={"xml": bad}).get_json()["errors"]["problems"]
    en = analyst.post("/api/v1/process-definitions?lang=en", json={"xml": bad}).get_json()["errors"]["problems"]
    assert zh and all(p["element"] for p in zh)
    assert any(p["element"] == "accept_order" for p in zh)
    assert all(re.search(r"[\u4e00-\u9fff]", p["message"]) for p in zh)
    assert not any(re.search(r"[\u4e00-\u9fff]", p["message"]) for p in en)
    janitor = WARNING_XML.replace('name="maintenance"', 'name="janitor"')
    lane = analyst.post("/api/v1/process-definitions/validate?lang=zh-CN", json={"xml": janitor}).get_json()
    assert any("不是已知角色" in p["message"] for p in lane["problems"])
