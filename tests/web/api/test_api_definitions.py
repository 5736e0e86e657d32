"""Process definitions over the API: versions with case counts, validate, deploy, refusal."""

from __future__ import annotations

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
