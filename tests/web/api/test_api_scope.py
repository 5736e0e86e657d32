"""The scope matrix: every case/task/elevator endpoint × every role × a resource in and out of the
user's scope. Out-of-scope reads answer 404 (nothing leaks); refused actions answer 403."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import select

from engine.models import CaseTask
from infra.clock import SimulatedClock
from processes.intake import open_or_join
from processes.system import System
from tests.support.api_client import Client, app_for, demo_elevator, other_elevator
from tests.support.system import START, make_system

ROLES = [
    "dispatcher",
    "maint",
    "maint_manager",
    "property",
    "regulator",
    "city_regulator",
    "analyst",
    "auditor",
    "admin",
]
# Who sees the case on the demo elevator (in 通川区, demo maintenance unit, demo property) ...
SEES_IN = {"dispatcher", "maint", "maint_manager", "property", "regulator", "city_regulator", "auditor", "admin"}
# ... and the case on an elevator of another district, other units.
SEES_OUT = {"dispatcher", "city_regulator", "auditor", "admin"}


@dataclass
class World:
    system: System
    app: Flask
    clients: dict[str, Client]
    case_in: int
    case_out: int
    elevator_in: int
    elevator_out: int
    task_in: int
    task_out: int


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    url = f"sqlite:///{tmp_path_factory.mktemp('scope') / 'db.sqlite3'}"
    system = make_system(url, SimulatedClock(START), elevators=120)
    app = app_for(system)
    e_in, e_out = demo_elevator(system), other_elevator(system)
    sla = system.settings.sla_file
    c_in = open_or_join(system.engine, sla, "rescue", elevator_id=e_in, signal={"source": "qr"}).case_id
    c_out = open_or_join(system.engine, sla, "rescue", elevator_id=e_out, signal={"source": "qr"}).case_id
    with system.sessions() as s:
        t_in = s.scalar(select(CaseTask.id).where(CaseTask.case_id == c_in))
        t_out = s.scalar(select(CaseTask.id).where(CaseTask.case_id == c_out))
    clients = {role: Client(app, role) for role in ROLES}
    yield World(system, app, clients, c_in, c_out, e_in, e_out, t_in, t_out)
    system.db.dispose()


READS = [
    "/api/v1/cases/{case}",
    "/api/v1/cases/{case}/sla",
    "/api/v1/cases/{case}/diagram",
    "/api/v1/cases/{case}/comments",
    "/api/v1/tasks/{task}",
    "/api/v1/tasks?scope=all&case_id={case}&status=any",
    "/api/v1/elevators/{elevator}",
    "/api/v1/cases?elevator_id={elevator}",
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("url", READS)
def test_reads_in_and_out_of_scope(world: World, role: str, url: str) -> None:
    client = world.clients[role]
    for where, case, task, elevator, allowed in (
        ("in", world.case_in, world.task_in, world.elevator_in, role in SEES_IN),
        ("out", world.case_out, world.task_out, world.elevator_out, role in SEES_OUT),
    ):
        r = client.get(url.format(case=case, task=task, elevator=elevator))
        if "?" in url:  # lists: the resource is in the list or it is not; never an error
            assert r.status_code == 200, (role, where, r.get_json())
            assert (len(r.get_json()) > 0) == allowed, (role, where, url)
        else:
            assert r.status_code == (200 if allowed else 404), (role, where, url, r.get_json())
            if not allowed:  # indistinguishable from a resource that does not exist
                missing = client.get(url.format(case=999_999, task=999_999, elevator=999_999)).get_json()
                shown = r.get_json()["message"]
                for n in (case, task, elevator):
                    shown = shown.replace(f" {n} ", " 999999 ")
                assert shown == missing["message"], (shown, missing)


WRITES = [
    # (url, body, roles allowed to act when the resource is in scope)
    (
        "/api/v1/cases/{case}/comments",
        {"body": "到场情况?"},
        {"dispatcher", "maint", "maint_manager", "property", "regulator", "city_regulator", "admin"},
    ),
    ("/api/v1/cases/{case}/escalate", {"reason": "manual check"}, {"regulator", "city_regulator"}),
    ("/api/v1/tasks/{task}/claim", None, {"dispatcher"}),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("url", "body", "actors"), WRITES)
def test_actions_in_and_out_of_scope(world: World, role: str, url: str, body: object, actors: set[str]) -> None:
    client = world.clients[role]
    out = client.post(url.format(case=world.case_out, task=world.task_out), json=body)
    if role in SEES_OUT and role in actors:
        assert out.status_code in (200, 201), (role, out.get_json())
    else:
        assert out.status_code in (403, 404), (role, out.status_code)
        if role not in SEES_OUT and role in actors:
            assert out.status_code == 404, (role, "out-of-scope action must not reveal the resource")
    r = client.post(url.format(case=world.case_in, task=world.task_in), json=body)
    expected_ok = role in actors and role in SEES_IN
    assert (r.status_code in (200, 201)) == expected_ok, (role, url, r.status_code, r.get_json())
    if "claim" in url and expected_ok:
        client.post(url.format(case=world.case_in, task=world.task_in).replace("claim", "release"))


ADMIN_ONLY = [
    ("get", "/api/v1/users", None),
    ("get", "/api/v1/devices", None),
    ("post", "/api/v1/devices", {"id": "dev-scope-1"}),
    ("post", "/api/v1/organisations", {"code": "X-1", "name": "测试单位", "kind": "use_unit"}),
]


@pytest.mark.parametrize("role", ROLES)
def test_administration_is_for_admins(world: World, role: str) -> None:
    client = world.clients[role]
    for method, url, body in ADMIN_ONLY:
        r = getattr(client, method)(url, json=body) if body is not None else getattr(client, method)(url)
        assert (r.status_code in (200, 201, 409)) == (role == "admin"), (role, method, url, r.status_code)
        if role != "admin":
            assert r.status_code == 403


def test_every_api_route_needs_sign_in(world: World) -> None:
    anonymous = world.app.test_client()
    checked = 0
    for rule in world.app.url_map.iter_rules():
        # the session routes are signing in itself
        if not rule.rule.startswith("/api/v1") or rule.rule in ("/api/v1/session", "/api/v1/session/sso"):
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = url.replace(f"<int:{arg}>", "1").replace(f"<string:{arg}>", "x").replace(f"<{arg}>", "x")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            r = anonymous.open(url, method=method, json={})
            assert r.status_code == 401, (method, url, r.status_code)
            checked += 1
    assert checked >= 30


def test_cookie_writes_need_the_csrf_token(world: World) -> None:
    client = world.clients["regulator"]
    r = client.http.post(f"/api/v1/cases/{world.case_in}/comments", json={"body": "no token"})
    assert r.status_code == 403 and "CSRF" in r.get_json()["message"]
