"""The plain writer (web.api.plain_dump) writes exactly what marshmallow writes: checked on every
answer of a real rescue worked through the API (start, task lists of every scope and status,
completions, case lists), and on the values where the two could part (a str enum, a bool in an
integer field, a missing attribute, None, a dict instead of an object)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from enum import Enum
from typing import Any

import pytest
from flask import Flask
from marshmallow import Schema, fields, post_dump

from infra.clock import SimulatedClock
from processes.system import System
from tests.support.api_client import Client, app_for, demo_elevator
from tests.support.system import make_system
from web.api import cases as cases_api
from web.api import tasks as tasks_api
from web.api.plain_dump import plain_writer, written_plainly

PLAIN = {
    "task page": tasks_api.TASK_PAGE,
    "completed": tasks_api.COMPLETED,
    "case page": cases_api.CASE_PAGE,
    "case started": cases_api.CASE_STARTED,
}


def same(ours: Any, theirs: Any) -> bool:
    """Equal as JSON, types included (True == 1 in Python, not in an answer)."""
    return json.dumps(ours, sort_keys=True, default=repr) == json.dumps(theirs, sort_keys=True, default=repr)


@pytest.fixture
def api(db_url: str, clock: SimulatedClock) -> Iterator[tuple[System, Flask]]:
    system = make_system(db_url, clock, elevators=80)
    yield system, app_for(system)
    system.db.dispose()


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[tuple[Any, Any]]]:
    """Every answer the plain writers give, beside what marshmallow's own dump gives for it."""
    seen: dict[str, list[tuple[Any, Any]]] = {name: [] for name in PLAIN}
    for name, schema in PLAIN.items():

        def both(obj: Any, *, many: bool | None = None, name: str = name, schema: Schema = schema,
                 plain: Any = schema.dump) -> Any:  # fmt: skip
            ours, theirs = plain(obj), Schema.dump(schema, obj)
            seen[name].append((ours, theirs))
            return ours

        monkeypatch.setattr(schema, "dump", both)
    return seen


def test_every_answer_of_a_worked_rescue_is_what_marshmallow_writes(
    api: tuple[System, Flask], written: dict[str, list[tuple[Any, Any]]]
) -> None:
    system, app = api
    dispatcher, tech, regulator = Client(app, "dispatcher"), Client(app, "maint"), Client(app, "regulator")
    elevator = demo_elevator(system)
    started = dispatcher.post("/api/v1/cases", json={"type": "rescue", "elevator_id": elevator})
    assert started.status_code == 201, started.get_json()
    again = dispatcher.post("/api/v1/cases", json={"type": "rescue", "elevator_id": elevator})
    assert again.status_code == 200 and again.get_json()["joined"] is True  # no next task of mine: null
    task = started.get_json()["next_task"]
    forms = [
        (dispatcher, {"outcome": "dispatch", "trapped_count": 2, "note": "老人被困，情绪稳定"}),
        (tech, {"eta_minutes": 15}),
        (tech, {"on_site": True}),
    ]
    for who, data in forms:
        if task is None:
            task = who.get("/api/v1/tasks?scope=mine").get_json()[0]
        answer = who.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data})
        assert answer.status_code == 200, answer.get_json()
        task = answer.get_json()["next_task"]
    for who in (dispatcher, tech, regulator):
        for query in ("scope=mine", "scope=org", "scope=all&status=any", "scope=all&status=completed"):
            assert who.get(f"/api/v1/tasks?{query}").status_code == 200
        assert who.get("/api/v1/cases?status=open").status_code == 200
        assert who.get("/api/v1/cases").status_code == 200

    for name, pairs in written.items():
        assert pairs, f"no {name} answer was written"
        for ours, theirs in pairs:
            assert same(ours, theirs), name
    pages = [task for ours, _ in written["task page"] for task in ours]
    # the answers held what could differ: tasks done with their data, open ones, a case or none
    assert {t["status"] for t in pages} >= {"open", "completed"}
    assert any(t["data"] for t in pages) and any(t["case"] for t in pages)
    assert any(t["completed_at"] for t in pages) and any(t["due_at"] for t in pages)
    assert {ours["next_task"] is None for ours, _ in written["completed"]} == {True, False}
    assert {ours["joined"] for ours, _ in written["case started"]} == {True, False}


class Colour(str, Enum):  # noqa: UP042 - its str() is "Colour.RED", not its value: the case to get right
    RED = "red"


class Odd(Schema):
    n = fields.Integer(allow_none=True)
    name = fields.String(allow_none=True)
    flag = fields.Boolean(allow_none=True)
    when = fields.DateTime(allow_none=True)
    extra = fields.Dict(allow_none=True)
    renamed = fields.Integer(attribute="other", data_key="shown")
    said = fields.Method("_say")

    def _say(self, obj: Any) -> str:
        return f"hello {obj['name'] if isinstance(obj, dict) else getattr(obj, 'name', None)}"


class Thing:
    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


@pytest.mark.parametrize(
    "values",
    [
        {"n": 3, "name": "梯", "flag": True, "other": 7, "extra": {"a": [1]}},
        {"n": True, "name": Colour.RED, "flag": "false", "other": 2.0},  # marshmallow's int(), str(), truthy sets
        {"n": None, "name": None, "flag": None, "when": None, "extra": None, "other": None},
        {"name": "only a name"},  # the rest missing: left out, as marshmallow leaves them
    ],
)
def test_odd_values_are_written_as_marshmallow_writes_them(values: dict[str, Any]) -> None:
    schema, write = Odd(), plain_writer(Odd())
    for obj in (Thing(**values), dict(values)):
        assert same(write(obj), schema.dump(obj))
    many = written_plainly(Odd(many=True))
    assert same(many.dump([Thing(**values)] * 2), Odd(many=True).dump([Thing(**values)] * 2))


class Hooked(Schema):
    n = fields.Integer()

    @post_dump
    def _more(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return data | {"more": 1}


class Defaulted(Schema):
    n = fields.Integer(dump_default=5)


class Dotted(Schema):
    n = fields.Integer(attribute="a.b")


@pytest.mark.parametrize("schema", [Hooked(), Defaulted(), Dotted(), Odd(only=("n",))])
def test_what_it_cannot_write_the_same_way_is_refused_when_built(schema: Schema) -> None:
    with pytest.raises(TypeError, match="marshmallow's own dump"):
        plain_writer(schema)
