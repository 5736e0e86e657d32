"""Page arguments and a helper that runs a select for one page (flask-smorest's X-Pagination header)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema
from sqlalchemy import Select, func, select

from web import context

MAX_OFFSET = 10_000_000


class PageArgs(Schema):
    """Base for query-argument schemas of paginated lists (page/page_size come from flask-smorest)."""


def paged(stmt: Select[Any], pagination_parameters: Any, *order: Any) -> list[Any]:
    db = context.db()
    pagination_parameters.item_count = db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    size = pagination_parameters.page_size
    if pagination_parameters.page * size > MAX_OFFSET:
        return []  # past any real list; also keeps absurd page numbers away from the database
    return list(db.scalars(stmt.order_by(*order).limit(size).offset((pagination_parameters.page - 1) * size)))
