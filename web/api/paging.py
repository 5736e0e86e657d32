"""Page arguments and a helper that runs a select for one page (flask-smorest's X-Pagination header)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from web.http import context


class PageArgs(Schema):
    """Base for query-argument schemas of paginated lists (page/page_size come from flask-smorest)."""


def paged(stmt: Select[Any], pagination_parameters: Any, *order: Any) -> list[Any]:
    """One page of `stmt` in `order`, and the item count for the header. The first page, when it
    is not full, is the whole list: its length is the count (an inbox or a case's tasks, the
    common answer, take one query instead of two)."""
    db = context.db()
    size = pagination_parameters.page_size
    if pagination_parameters.page == 1:
        rows = list(db.scalars(stmt.order_by(*order).limit(size)))
        if len(rows) < size:
            pagination_parameters.item_count = len(rows)
            return rows
        pagination_parameters.item_count = _count(db, stmt)
        return rows
    pagination_parameters.item_count = _count(db, stmt)
    offset = (pagination_parameters.page - 1) * size
    if offset >= pagination_parameters.item_count:  # past the end (page=10**30 must not reach the database)
        return []
    return list(db.scalars(stmt.order_by(*order).limit(size).offset(offset)))


def _count(db: Session, stmt: Select[Any]) -> int:
    return db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
