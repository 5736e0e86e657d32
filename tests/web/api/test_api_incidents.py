"""Incidents over the HTTP API: a case whose script a limit stopped is listed with status=failed,
its timeline says which element and why, and an operator closes it by cancelling."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from engine.incidents import CaseFailed
from engine.starts import CaseStart
from infra.clock import SimulatedClock
from processes.system import System
from tests.support.api_client import Client, app_for, demo_elevator
from tests.support.bpmn_samples import pre_script
from tests.support.deploys import force_deploy
from tests.support.system import make_system


@pytest.fixture
def api(sqlite_url: str, clock: SimulatedClock) -> Iterator[tuple[System, Flask]]:
    system = make_system(sqlite_url, clock, elevators=40)
    yield system, app_for(system)
    system.db.dispose()


def test_an_incident_is_listed_explained_and_closed_by_an_operator(api: tuple[System, Flask]) -> None:
    system, app = api
    force_deploy(system, pre_script("x = 10**1000\ny = x**1000"), "prescripted")
    start = CaseStart(process_key="prescripted", case_type="rescue", variables={}, elevator_id=demo_elevator(system))
    with pytest.raises(CaseFailed) as err:
        system.engine.start_case(start)
    case_id = err.value.case_id

    dispatcher = Client(app, "dispatcher")
    listed = dispatcher.get("/api/v1/cases?status=failed").get_json()
    assert [(c["id"], c["status"]) for c in listed] == [(case_id, "failed")]
    assert "work" in listed[0]["close_reason"] and "too large" in listed[0]["close_reason"]

    detail = dispatcher.get(f"/api/v1/cases/{case_id}").get_json()
    (entry,) = [e for e in detail["timeline"]["events"] if e["kind"] == "case_failed"]
    assert entry["payload"]["element"] == "work" and entry["payload"]["name"] == "接单"
    assert "work 「接单」" in entry["summary"] and "数据或数值过大" in entry["summary"]
    assert detail["timeline"]["chain"] == "intact"

    closed = dispatcher.post(f"/api/v1/cases/{case_id}/cancel", json={"reason": "已电话处置，流程已修复"})
    assert closed.status_code == 200 and closed.get_json()["status"] == "cancelled"
    assert dispatcher.get("/api/v1/cases?status=failed").get_json() == []
