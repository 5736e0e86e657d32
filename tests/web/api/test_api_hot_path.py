"""The rescue's hot path over HTTP (issue 16): a start and each completion answer the caller's next
task on the case, the prebuilt form of the "may act on this task" rule selects exactly what the
per-request one does, and an API token's principal comes from one query with its last-used time
written at most once a minute."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import event, select, update

from engine.models import CaseTask
from infra.clock import SimulatedClock
from processes.intake import open_or_join
from processes.system import System
from processes.visibility import TASK_ACTIONABLE, actionable_params, tasks_actionable
from registry.accounts.models import ApiToken
from registry.models import Organisation, User
from registry.scope import Scope
from tests.support.api_client import Client, app_for, demo_elevator, other_elevator
from tests.support.system import make_system


@pytest.fixture
def api(db_url: str, clock: SimulatedClock) -> Iterator[tuple[System, Flask]]:
    system = make_system(db_url, clock, elevators=80)
    yield system, app_for(system)
    system.db.dispose()


def _mine_first(client: Client, case_id: int) -> dict | None:
    listed = client.get(f"/api/v1/tasks?scope=mine&case_id={case_id}").get_json()
    return listed[0] if listed else None


def test_start_and_completions_answer_the_callers_next_task(api: tuple[System, Flask]) -> None:
    system, app = api
    dispatcher, tech = Client(app, "dispatcher"), Client(app, "maint")
    started = dispatcher.post("/api/v1/cases", json={"type": "rescue", "elevator_id": demo_elevator(system)})
    assert started.status_code == 201, started.get_json()
    case_id = started.get_json()["case_id"]
    offered = started.get_json()["next_task"]
    # what the start offers is what the dispatcher's own list shows first for the case
    assert offered["bpmn_id"] == "verify_dispatch" and offered["case_id"] == case_id
    listed = _mine_first(dispatcher, case_id)
    assert offered == {k: listed[k] for k in offered}

    done = dispatcher.post(
        f"/api/v1/tasks/{offered['id']}/complete", json={"data": {"outcome": "dispatch", "trapped_count": 1}}
    )
    assert done.status_code == 200 and done.get_json()["id"] == case_id
    assert done.get_json()["next_task"] is None  # the next step is the technician's, not the dispatcher's
    assert _mine_first(dispatcher, case_id) is None

    accept = _mine_first(tech, case_id)
    assert accept is not None and accept["bpmn_id"] == "accept_order"
    for bpmn_id, data in [
        ("accept_order", {"eta_minutes": 15}),
        ("report_arrival", {"on_site": True}),
        ("report_release", {"released_count": 1, "method": "leveling_and_open"}),
    ]:
        assert accept["bpmn_id"] == bpmn_id
        answer = tech.post(f"/api/v1/tasks/{accept['id']}/complete", json={"data": data})
        assert answer.status_code == 200, answer.get_json()
        listed = _mine_first(tech, case_id)
        accept = answer.get_json()["next_task"]
        # the same as asking for the list, every field shown (times as the database gives them back)
        assert accept == (listed and {k: listed[k] for k in accept})
    # a task someone completed first still answers 409, whoever asks with the stale id
    stale = tech.post(f"/api/v1/tasks/{offered['id']}/complete", json={"data": {"outcome": "dispatch"}})
    assert stale.status_code in (403, 409)


def test_task_list_etag_answers_304_until_the_list_changes(api: tuple[System, Flask]) -> None:
    system, app = api
    tech = Client(app, "maint")
    case_id = open_or_join(
        system.engine, system.settings.sla_file, "rescue", elevator_id=demo_elevator(system), signal={"source": "qr"}
    ).case_id
    url = "/api/v1/tasks?scope=org"
    first = tech.get(url)
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag
    same = tech.get(url, headers={"If-None-Match": etag})
    assert same.status_code == 304 and not same.get_data()
    dispatcher = Client(app, "dispatcher")
    verify = _mine_first(dispatcher, case_id)
    assert verify is not None
    done = dispatcher.post(
        f"/api/v1/tasks/{verify['id']}/complete", json={"data": {"outcome": "dispatch", "trapped_count": 1}}
    )
    assert done.status_code == 200
    changed = tech.get(url, headers={"If-None-Match": etag})  # the accept task arrived in the unit's list
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_a_completion_out_of_scope_is_refused_as_before(api: tuple[System, Flask]) -> None:
    system, app = api
    case_id = open_or_join(
        system.engine, system.settings.sla_file, "rescue", elevator_id=other_elevator(system), signal={"source": "qr"}
    ).case_id
    with system.sessions() as s:
        task_id = s.scalar(select(CaseTask.id).where(CaseTask.case_id == case_id, CaseTask.status == "open"))
    # the demo unit's technician cannot see the case: 404, exactly like a task that does not exist
    tech = Client(app, "maint")
    assert tech.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {}}).status_code == 404
    assert tech.post("/api/v1/tasks/99999999/complete", json={"data": {}}).status_code == 404
    # the city regulator sees it but the task is the 96933 seat's: 403
    regulator = Client(app, "city_regulator")
    assert regulator.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {}}).status_code == 403


def test_prebuilt_actionable_rule_selects_what_the_per_request_rule_does(api: tuple[System, Flask]) -> None:
    system, _ = api
    for elevator in (demo_elevator(system), other_elevator(system)):
        open_or_join(system.engine, system.settings.sla_file, "rescue", elevator_id=elevator, signal={"source": "qr"})
    with system.sessions() as s:
        # one task held by a person, so the "assigned to me" half of the rule is exercised too
        some = s.scalar(select(CaseTask).where(CaseTask.status == "open").order_by(CaseTask.id))
        maint = s.scalar(select(User).where(User.username == "maint"))
        s.execute(update(CaseTask).where(CaseTask.id == some.id).values(assignee_id=maint.id))
        s.commit()
        users = list(
            s.execute(select(User, Organisation).outerjoin(Organisation, Organisation.id == User.organisation_id))
        )
        assert len(users) > 5
        for user, org in users:
            scope = Scope.of(user, org)
            per_request = set(s.scalars(select(CaseTask.id).where(tasks_actionable(scope))))
            prebuilt = set(s.scalars(select(CaseTask.id).where(TASK_ACTIONABLE), actionable_params(scope)))
            assert prebuilt == per_request, user.username


def test_token_principal_in_one_query_last_use_written_once_a_minute(
    api: tuple[System, Flask], clock: SimulatedClock
) -> None:
    system, app = api
    admin = Client(app, "admin")
    made = admin.post("/api/v1/tokens", json={"name": "对接"}).get_json()
    bearer = {"Authorization": f"Bearer {made['secret']}"}
    robot = app.test_client()

    def last_used() -> object:
        with system.sessions() as s:
            return s.scalar(select(ApiToken.last_used_at).where(ApiToken.id == made["id"]))

    assert last_used() is None
    assert robot.get("/api/v1/session", headers=bearer).get_json()["username"] == "admin"
    first = last_used()
    assert first == clock.now()
    clock.advance(timedelta(seconds=30))
    assert robot.get("/api/v1/elevators", headers=bearer).status_code == 200
    assert last_used() == first  # within the minute: no write
    clock.advance(timedelta(seconds=31))
    assert robot.get("/api/v1/elevators", headers=bearer).status_code == 200
    assert last_used() == clock.now()
    # a deactivated user's token signs nobody in
    with system.sessions() as s, s.begin():
        s.execute(update(User).where(User.username == "admin").values(active=False))
    assert robot.get("/api/v1/elevators", headers=bearer).status_code == 401


def test_page_counts_are_right_with_and_without_the_count_query(api: tuple[System, Flask]) -> None:
    """A first page that is not full takes its length as the count; a full page and later pages ask."""
    system, app = api
    for elevator in (demo_elevator(system), other_elevator(system)):
        open_or_join(system.engine, system.settings.sla_file, "rescue", elevator_id=elevator, signal={"source": "qr"})
    regulator = Client(app, "city_regulator")
    with system.sessions() as s:
        total = len(list(s.scalars(select(CaseTask.id))))
    assert total >= 2

    def page(size: int, number: int) -> tuple[int, dict]:
        r = regulator.get(f"/api/v1/tasks?scope=all&status=any&page_size={size}&page={number}")
        assert r.status_code == 200
        return len(r.get_json()), json.loads(r.headers["X-Pagination"])

    shown, header = page(50, 1)  # not full: no count query
    assert shown == total and header["total"] == total
    shown, header = page(1, 1)  # full: counted
    assert shown == 1 and header["total"] == total and header["total_pages"] == total
    shown, header = page(1, 2)
    assert shown == 1 and header["total"] == total
    shown, header = page(1, total + 1)  # past the end
    assert shown == 0 and header["total"] == total


def test_case_lists_and_task_pages_do_not_read_the_workflow_state(api: tuple[System, Flask]) -> None:
    system, app = api
    case_id = open_or_join(
        system.engine, system.settings.sla_file, "rescue", elevator_id=demo_elevator(system), signal={"source": "qr"}
    ).case_id
    dispatcher = Client(app, "dispatcher")
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(system.db, "before_cursor_execute", seen)
    try:
        assert dispatcher.get("/api/v1/cases?status=open").status_code == 200
        assert dispatcher.get(f"/api/v1/cases/{case_id}").status_code == 200
        assert dispatcher.get(f"/api/v1/tasks?scope=mine&case_id={case_id}").status_code == 200
        assert not [s for s in statements if "cases.state" in s]
        diagram = dispatcher.get(f"/api/v1/cases/{case_id}/diagram")  # the one view that needs it loads it
        assert diagram.status_code == 200 and diagram.get_json()["active"]
        assert [s for s in statements if "cases.state" in s]
    finally:
        event.remove(system.db, "before_cursor_execute", seen)
