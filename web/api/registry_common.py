"""What the register's views share: the id range, the reference check, the answer to a duplicate, and
who and when for the admin flows (processes/administration.py) that write the changes and their audit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask_smorest import abort
from marshmallow import validate
from sqlalchemy.exc import IntegrityError

from registry.references import unknown_references
from web.http import context

T = TypeVar("T")
ID = validate.Range(min=1, max=2**31 - 1)


def check_refs(body: dict[str, Any]) -> None:
    """422 naming each field whose district, organisation or elevator does not exist."""
    errors = unknown_references(context.db(), body)
    if errors:
        abort(422, message="unknown references", errors=errors)


def commit_or_conflict() -> None:
    """Commit the request's session; a unique key already taken answers 409."""
    db = context.db()
    try:
        db.commit()
    except IntegrityError:
        db.rollback()
        abort(409, message="that would duplicate an existing record (code, username or device id already in use)")


def write_or_conflict(change: Callable[[], T]) -> T:
    """Run an admin flow on the request's session and commit; a unique key already taken answers
    409 whether the flow's flush or the commit finds it."""
    try:
        result = change()
    except IntegrityError:
        context.db().rollback()
        abort(409, message="that would duplicate an existing record (code, username or device id already in use)")
    commit_or_conflict()
    return result


def who_and_when() -> dict[str, Any]:
    """The actor and time an admin flow records."""
    return {"actor": context.scope().username, "now": context.system().clock.now()}
