"""Page arguments and a helper that runs a select for one page (flask-smorest's X-Pagination header)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema
from sqlalchemy import Select, func, select

from web.http import context


class PageArgs(Schema):
    """Base for query-argument schemas of paginated lists (page/page_size come from flask-smorest)."""


def paged(stmt: Select[Any], pagination_parameters: Any, *order: Any) -> list[Any]:
    db = context.db()
    pagination_parameters.item_count = db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    size = pagination_parameters.page_size
    offset = (pagination_parameters.page - 1) * size
    if offset >= pagination_parameters.item_count:  # past the end (page=10**30 must not reach the database)
        return []
    return list(db.scalars(stmt.order_by(*order).limit(size).offset(offset)))
