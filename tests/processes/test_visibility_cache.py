"""Scope conditions and task queries are built once per scope and reused: an equal scope gets the
same statement, a scope differing in any field (here only the organisation or a role) never does,
and what each reuses still selects only that scope's rows (the API scope tests run many users
through one process on both databases)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from engine.models import Case
from processes.case_service import task_query
from processes.visibility import cases_visible, tasks_actionable
from registry.models import OrgKind, Role
from registry.scope import Scope


def _unit(org: int, *roles: str) -> Scope:
    return Scope(1, "tech", frozenset(roles or {Role.MAINTENANCE}), org, OrgKind.MAINTENANCE_UNIT, None)


def _sql(stmt: object) -> str:
    return str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))  # type: ignore[attr-defined]


def test_an_equal_scope_reuses_the_statement_and_another_scope_never_does() -> None:
    mine, again = _unit(7), _unit(7)
    assert mine is not again and mine == again
    assert cases_visible(mine) is cases_visible(again)
    assert tasks_actionable(mine) is tasks_actionable(again)
    assert task_query(mine, "mine", None) is task_query(again, "mine", None)

    for other in (_unit(8), _unit(7, Role.MAINTENANCE, Role.MAINTENANCE_MANAGER)):
        assert task_query(other, "mine", None) is not task_query(mine, "mine", None)
    assert "organisation_id = 7" in _sql(select(Case.id).where(cases_visible(mine)))
    assert "organisation_id = 8" in _sql(select(Case.id).where(cases_visible(_unit(8))))
    assert "organisation_id = 7" not in _sql(select(Case.id).where(cases_visible(_unit(8))))
    assert task_query(mine, "mine", "open") is not task_query(mine, "mine", None)
