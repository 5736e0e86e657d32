"""The use unit's answer to maintenance visits (维保记录签字确认): its visits awaiting an answer,
and confirm or dispute (with a reason) one of them. Only the property company that uses the
elevator sees and answers its visits; another company's visit is not found (404)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate

from processes.maintenance.confirmation import LISTED, AnswerConflict, Confirmation, answer_dict, visits_to_answer
from processes.maintenance.confirmation_flows import VisitNotFound, answer_visit
from processes.maintenance.models import MaintenanceVisit
from registry.models import Role
from web.http import auth, context

blp = Blueprint("visit_confirmations", __name__, description="The use unit confirms or disputes maintenance visits")


class ConfirmationArgs(Schema):
    status = fields.String(
        load_default="pending",
        validate=validate.OneOf(LISTED),
        metadata={"description": "pending (awaiting your answer), disputed, confirmed or all"},
    )
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


def _not_blank(value: str) -> None:
    if len(value.strip()) < 2:
        raise ValidationError("Say what is wrong with the visit (at least 2 characters).")


class DisputeSchema(Schema):
    reason = fields.String(
        required=True,
        validate=[validate.Length(max=500), _not_blank],
        metadata={"description": "what is wrong with the visit, for the maintenance unit (e.g. 未见维保人员到场)"},
    )


class AnsweredVisitSchema(Schema):
    id = fields.Integer()
    elevator_id = fields.Integer()
    register_code = fields.String()
    address = fields.String()
    maintenance_unit_id = fields.Integer()
    maintenance_unit = fields.String()
    technician = fields.String()
    maintained_on = fields.String()
    due_on = fields.String(allow_none=True)
    on_time = fields.Boolean()
    periods = fields.List(fields.String())
    items = fields.Integer(metadata={"description": "checklist items answered"})
    faults = fields.List(fields.String(), metadata={"description": "items recorded as a fault"})
    photos = fields.List(fields.String())
    note = fields.String()
    proof = fields.String(metadata={"description": "how presence was proven: tag | qr | position | none"})
    source = fields.String()
    recorded_at = fields.String()
    confirmation = fields.String(metadata={"description": "pending | confirmed | disputed"})
    confirmed_at = fields.String(allow_none=True)
    confirmed_by = fields.String(allow_none=True)
    disputed_at = fields.String(allow_none=True)
    disputed_by = fields.String(allow_none=True)
    dispute_reason = fields.String(allow_none=True)


def _answer(visit_id: int, answer: Confirmation, reason: str | None = None) -> dict[str, Any]:
    context.end_reads()
    try:
        visit: MaintenanceVisit = answer_visit(context.system(), context.scope(), visit_id, answer, reason=reason)
    except VisitNotFound:
        abort(404, message="no such visit of your elevators")
    except AnswerConflict as err:
        abort(409, message=str(err))
    return answer_dict(visit)


@blp.route("/maintenance/confirmations")
class ConfirmationsView(MethodView):
    @auth.require_roles(Role.PROPERTY)
    @blp.arguments(ConfirmationArgs, location="query")
    @blp.response(200, AnsweredVisitSchema(many=True))
    def get(self, args: dict[str, Any]) -> Any:
        """Visits of the elevators your company uses: awaiting your answer (oldest first), or those
        you disputed or confirmed (newest first)."""
        return visits_to_answer(context.db(), context.scope(), status=args["status"], limit=args["limit"])


@blp.route("/maintenance/visits/<int:visit_id>/confirm")
class ConfirmView(MethodView):
    @auth.require_roles(Role.PROPERTY)
    @blp.response(200, AnsweredVisitSchema)
    @blp.alt_response(404, description="no such visit of your elevators")
    @blp.alt_response(409, description="the visit was already answered otherwise")
    def post(self, visit_id: int) -> Any:
        """Confirm the visit (使用单位签字确认). Confirming again changes nothing and answers 200 with
        the first signature; a disputed visit may be confirmed once the unit has put it right."""
        return _answer(visit_id, Confirmation.CONFIRMED)


@blp.route("/maintenance/visits/<int:visit_id>/dispute")
class DisputeView(MethodView):
    @auth.require_roles(Role.PROPERTY)
    @blp.arguments(DisputeSchema)
    @blp.response(200, AnsweredVisitSchema)
    @blp.alt_response(404, description="no such visit of your elevators")
    @blp.alt_response(409, description="the visit was confirmed, or disputed with another reason")
    def post(self, body: dict[str, Any], visit_id: int) -> Any:
        """Dispute the visit with a reason: the maintenance unit's managers and the technician are
        told. The same dispute again changes nothing; a confirmed visit cannot be disputed."""
        return _answer(visit_id, Confirmation.DISPUTED, body["reason"])
