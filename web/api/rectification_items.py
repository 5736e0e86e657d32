"""A rectification case's nonconformities, item by item: listed for everyone who sees the case;
evidence added by the use unit and its maintenance unit; accepted or returned by a reviewer (a
regulator or the inspection institute)."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from processes import case_service as svc
from processes import rectification_items as items
from processes.attachments import AttachmentRejected
from registry.models import Role
from web.http import auth, context

blp = Blueprint("rectification-items", __name__, description="Rectification items (nonconformities) of a case")


class EvidenceSchema(Schema):
    id = fields.Integer()
    attachment_id = fields.Integer(allow_none=True)
    reference = fields.String(allow_none=True)
    note = fields.String()
    by = fields.String()
    at = fields.String()


class ItemSchema(Schema):
    id = fields.Integer()
    position = fields.Integer()
    code = fields.String()
    description = fields.String()
    severity = fields.String()
    state = fields.String()
    evidence = fields.List(fields.Nested(EvidenceSchema))
    review_note = fields.String(allow_none=True)
    reviewed_by = fields.String(allow_none=True)
    reviewed_at = fields.String(allow_none=True)


class EvidenceArgs(Schema):
    note = fields.String(required=True, validate=validate.Length(2, 1000))
    reference = fields.String(validate=validate.Length(1, 200), allow_none=True)
    attachment_id = fields.Integer(allow_none=True)


class ReviewArgs(Schema):
    accepted = fields.Boolean(required=True)
    note = fields.String(load_default="", validate=validate.Length(0, 500))


def _case_id(case_id: int) -> int:
    return svc.visible_case(context.db(), context.scope(), case_id).id


@blp.route("/cases/<int:case_id>/items")
class ItemsView(MethodView):
    @blp.response(200, ItemSchema(many=True))
    def get(self, case_id: int) -> Any:
        """The case's items in report order, with their state, evidence and review."""
        return [items.item_view(i) for i in items.items_of(context.db(), _case_id(case_id))]


@blp.route("/cases/<int:case_id>/items/<int:item_id>/evidence")
class EvidenceView(MethodView):
    @auth.require_roles(Role.PROPERTY, Role.MAINTENANCE)
    @blp.arguments(EvidenceArgs, location="form")
    @blp.response(200, ItemSchema)
    def post(self, args: dict[str, Any], case_id: int, item_id: int) -> Any:
        """Evidence for one item (multipart: `note`, and a photo or file in `file`, or the id of an
        attachment of this case, or a `reference` to a file kept elsewhere)."""
        cid, actor = _case_id(case_id), context.scope().username
        upload = request.files.get("file")
        data = (upload.read(), upload.filename or "evidence") if upload is not None else None
        if data is None and not args.get("attachment_id") and not args.get("reference"):
            message = "attach a file, an attachment of the case or a reference"
            abort(422, message=message, errors={"file": [message]})
        context.end_reads()
        try:
            item = items.add_evidence(
                context.system(),
                cid,
                item_id,
                note=args["note"],
                actor=actor,
                attachment_id=args.get("attachment_id"),
                reference=args.get("reference"),
                upload=data,
            )
        except AttachmentRejected as err:
            abort(422, message=str(err), errors={"file": [str(err)]})
        return items.item_view(item)


@blp.route("/cases/<int:case_id>/items/<int:item_id>/review")
class ReviewView(MethodView):
    @auth.require_roles(Role.REGULATOR)
    @blp.arguments(ReviewArgs)
    @blp.response(200, ItemSchema)
    def post(self, args: dict[str, Any], case_id: int, item_id: int) -> Any:
        """Accept (closes the item) or return it with a note. Judging the last item while the
        review task is open completes that task: approved when every item is accepted."""
        cid, actor = _case_id(case_id), context.scope().username
        context.end_reads()
        item = items.review(context.system(), cid, item_id, accepted=args["accepted"], note=args["note"], actor=actor)
        return items.item_view(item)
