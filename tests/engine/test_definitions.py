"""Deploying analysts' BPMN: versions only on change, invalid files refused with reasons, nothing deployed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.definitions import DefinitionError
from engine.models import Case, ProcessDefinition
from engine.starts import CaseStart
from processes.system import System
from tests.support.bpmn_samples import one_task
from tests.support.deploys import lint_deploy
from tests.support.helpers import open_tasks


def _versions(system: System, key: str) -> list[int]:
    with system.sessions() as session:
        return list(
            session.scalars(
                select(ProcessDefinition.version)
                .where(ProcessDefinition.key == key)
                .order_by(ProcessDefinition.version)
            )
        )


def test_redeploying_the_same_content_makes_no_new_version(sqlite_system: System) -> None:
    assert lint_deploy(sqlite_system, one_task()).created
    assert not lint_deploy(sqlite_system, one_task()).created
    assert lint_deploy(sqlite_system, one_task(timer="'PT20M'")).created
    assert _versions(sqlite_system, "sample") == [1, 2]
    again = sqlite_system.deploy_processes()
    assert again and not any(d.created for d in again)


def test_a_case_stays_on_the_version_it_started_with(sqlite_system: System) -> None:
    system = sqlite_system
    lint_deploy(system, one_task(timer="'PT10M'"))
    start = CaseStart(process_key="sample", case_type="rescue", variables={}, elevator_id=1)
    old = system.engine.start_case(start)
    lint_deploy(system, one_task(timer="'PT20M'"))
    new = system.engine.start_case(start)
    with system.sessions() as session:
        versions = dict(
            session.execute(
                select(Case.id, ProcessDefinition.version).join(
                    ProcessDefinition, Case.definition_id == ProcessDefinition.id
                )
            ).all()
        )
    assert versions == {old.id: 1, new.id: 2}
    system.engine.fire_timers(old.id)
    assert open_tasks(system, old.id) == ["work"]


BAD = [
    (one_task(lane="janitor"), "lane/role 'janitor' is not a known role"),
    (one_task(form="missing.json"), "form missing.json not found"),
    (one_task(form="../pyproject.toml"), "not found in forms/"),
    (one_task(timer="'in ten minutes'"), "is not ISO 8601"),
    (one_task(timer="__import__('os')"), "invalid variable name"),
    (one_task(script="import os"), "script refused"),
    (one_task(script="x = ().__class__"), "invalid attribute name"),
    (one_task(condition="open('/etc/passwd')"), ""),  # compiles; fails only at run time, in the sandbox
    ("<bpmn:definitions", "not well-formed XML"),
    (
        """<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</bpmn:definitions>""",
        "DOCTYPE declarations are not allowed",
    ),
    (one_task().replace("<bpmn:startEvent", "<bpmn:starEvent"), ""),
    (one_task().replace('id="notify"', 'id="rm_rf"'), "unknown service operator 'rm_rf'"),
]


@pytest.mark.parametrize(("xml", "reason"), [b for b in BAD if b[1]])
def test_invalid_bpmn_is_refused_with_the_reason_and_nothing_is_deployed(
    sqlite_system: System, xml: str, reason: str
) -> None:
    with sqlite_system.sessions() as session:
        before = session.scalar(select(func.count()).select_from(ProcessDefinition))
    with pytest.raises(DefinitionError) as err:
        lint_deploy(sqlite_system, xml)
    assert reason in str(err.value)
    assert err.value.problems
    with sqlite_system.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ProcessDefinition)) == before


def test_schema_invalid_xml_is_refused(sqlite_system: System) -> None:
    with pytest.raises(DefinitionError):
        lint_deploy(sqlite_system, one_task().replace("<bpmn:startEvent", "<bpmn:starEvent"))


def test_a_condition_that_tries_to_escape_fails_at_run_time_and_nothing_is_persisted(sqlite_system: System) -> None:
    system = sqlite_system
    lint_deploy(system, one_task(condition="open('/etc/passwd')"))
    with system.sessions() as session:
        before = session.scalar(select(func.count()).select_from(Case))
    with pytest.raises(Exception, match="open"):
        system.engine.start_case(CaseStart(process_key="sample", case_type="rescue", variables={}, elevator_id=1))
    with system.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == before


def test_an_endless_script_is_stopped(sqlite_system: System) -> None:
    lint_deploy(sqlite_system, one_task(script="while True:\n    pass"))
    with pytest.raises(Exception, match="time limit"):
        sqlite_system.engine.start_case(CaseStart(process_key="sample", case_type="rescue", variables={}))
