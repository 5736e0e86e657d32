"""Saved case-list filters of the signed-in user (the console's case list offers them)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from web.console import service
from web.console.models import SavedFilter
from web.http import auth, context

blp = Blueprint("saved_filters", __name__, description="Saved case-list filters of the signed-in user")

_SCALAR = fields.Raw(validate=lambda v: isinstance(v, str | int | bool) and len(str(v)) <= 60)


class SavedFilterSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    query = fields.Dict(
        keys=fields.String(validate=validate.OneOf(service.FILTER_KEYS)),
        values=_SCALAR,
        required=True,
        metadata={"description": "the case list's query arguments, e.g. {\"type\": \"rescue\", \"overdue\": true}"},
    )
    created_at = fields.DateTime(dump_only=True)


@blp.route("/saved-filters")
class SavedFiltersView(MethodView):
    @blp.response(200, SavedFilterSchema(many=True))
    def get(self) -> list[SavedFilter]:
        """My saved filters, by name."""
        return service.saved_filters(context.db(), user_id=auth.current_user().id)

    @blp.arguments(SavedFilterSchema)
    @blp.response(201, SavedFilterSchema)
    def post(self, body: dict[str, Any]) -> SavedFilter:
        """Save the current filters under a name (the same name replaces them)."""
        db = context.db()
        row = service.save_filter(
            db, user_id=auth.current_user().id, name=body["name"], query=body["query"],
            now=context.system().clock.now(),
        )
        db.commit()
        return row


@blp.route("/saved-filters/<int:filter_id>")
class SavedFilterView(MethodView):
    @blp.response(204)
    def delete(self, filter_id: int) -> None:
        """Delete one of my saved filters."""
        db = context.db()
        if not service.delete_filter(db, user_id=auth.current_user().id, filter_id=filter_id):
            abort(404, message="no such saved filter")
        db.commit()
