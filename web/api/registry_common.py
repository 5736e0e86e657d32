"""What the register's views share: the id range, the reference check and the answer to a duplicate."""

from __future__ import annotations

from typing import Any

from flask_smorest import abort
from marshmallow import validate
from sqlalchemy.exc import IntegrityError

from registry.references import unknown_references
from web.http import context

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
