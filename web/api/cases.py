"""Cases: list with filters, detail with timeline and SLA, diagram, comments, escalation, cancel."""

from __future__ import annotations

from typing import Any

from flask import send_file
from flask.views import MethodView
from flask_babel import get_locale
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from engine.models import Case, CaseStatus
from processes import case_flows
from processes import case_service as svc
from processes.attachments import path_of
from processes.case_context import case_contexts
from processes.catalogue import CASE_TYPES
from processes.checkin.service import arrival_proofs
from processes.models import Attachment, CaseComment
from processes.timelines import timeline_of
from registry.equipment.classes import CLASSES
from registry.models import Elevator, Role
from web.api.paging import PageArgs, paged
from web.api.plain_dump import written_plainly
from web.http import auth, context

blp = Blueprint("cases", __name__, description="Cases: list, detail, timeline, SLA, diagram, comments, actions")


class CaseFilterArgs(PageArgs):
    type = fields.String(validate=validate.OneOf(sorted(CASE_TYPES)))
    status = fields.String(validate=validate.OneOf([s.value for s in CaseStatus]))
    district = fields.String(validate=validate.Length(max=12))
    elevator_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    equipment_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    equipment_class = fields.String(
        validate=validate.OneOf([svc.ELEVATOR_CLASS, *CLASSES]),
        metadata={"description": "what the cases are about: elevator, or a class of other special equipment"},
    )
    priority = fields.String(validate=validate.OneOf(["P1", "P2", "P3"]))
    number = fields.String(validate=validate.Length(max=24))
    # Aware datetimes; plain dates are read as Asia/Shanghai midnights by clients (the console sends ISO with offset).
    opened_from = fields.AwareDateTime(data_key="from", default_timezone=None)
    opened_to = fields.AwareDateTime(data_key="to", default_timezone=None)
    overdue = fields.Boolean()


class CaseSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    case_type = fields.String()
    title = fields.Method("_title")
    status = fields.String()
    priority = fields.String(allow_none=True)
    escalation_level = fields.Integer()
    elevator_id = fields.Integer(allow_none=True)
    equipment_id = fields.Integer(allow_none=True)
    district_code = fields.String(allow_none=True)
    opened_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    close_reason = fields.String(allow_none=True)
    milestones = fields.Dict()

    def _title(self, case: Case) -> str:
        ct = CASE_TYPES.get(case.case_type)
        return ct.title if ct else case.case_type


class TaskBriefSchema(Schema):
    id = fields.Integer()
    bpmn_id = fields.String()
    title = fields.String()
    role = fields.String()
    organisation_id = fields.Integer(allow_none=True)
    assignee_id = fields.Integer(allow_none=True)
    status = fields.String()
    created_at = fields.DateTime()
    due_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)
    data = fields.Dict(allow_none=True)
    form = fields.String(allow_none=True)


class NextTaskSchema(TaskBriefSchema):
    """The caller's next open task on a case, as a start or a completion answers it."""

    case_id = fields.Integer()


class MilestoneSchema(Schema):
    milestone = fields.String()
    task = fields.String()
    due_at = fields.DateTime(allow_none=True)
    reached_at = fields.DateTime(allow_none=True)
    state = fields.String()
    seconds_left = fields.Integer(allow_none=True)


class CommentSchema(Schema):
    id = fields.Integer(dump_only=True)
    author = fields.String(dump_only=True)
    body = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    created_at = fields.DateTime(dump_only=True)


class AttachmentSchema(Schema):
    id = fields.Integer()
    task_id = fields.Integer(allow_none=True)
    kind = fields.String()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    uploaded_by = fields.String()
    created_at = fields.DateTime()


class ElevatorBriefSchema(Schema):
    id = fields.Integer()
    register_code = fields.String()
    address = fields.String()
    district_code = fields.String()
    lat = fields.Float()
    lon = fields.Float()


class CaseDetailSchema(CaseSchema):
    variables = fields.Dict()
    elevator = fields.Nested(ElevatorBriefSchema, allow_none=True, attribute="_elevator")
    tasks = fields.List(fields.Nested(TaskBriefSchema), attribute="_tasks")
    sla = fields.List(fields.Nested(MilestoneSchema), attribute="_sla")
    participants = fields.List(fields.Dict(), attribute="_participants")
    comments = fields.List(fields.Nested(CommentSchema), attribute="_comments")
    attachments = fields.List(fields.Nested(AttachmentSchema), attribute="_attachments")
    timeline = fields.Dict(attribute="_timeline")
    context = fields.Dict(attribute="_context")
    arrival_proof = fields.Dict(
        attribute="_arrival_proof",
        allow_none=True,
        metadata={"description": "a rescue's reported arrival: proof (tag | qr | position | none), far, proven"},
    )


class DiagramSchema(Schema):
    process_key = fields.String()
    version = fields.Integer()
    xml = fields.String()
    completed = fields.List(fields.String())
    active = fields.List(fields.String())


class EscalateSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=2, max=500))
    roles = fields.List(
        fields.String(
            validate=validate.OneOf(
                ["district_regulator", "city_regulator", "maintenance_manager", "backup_maintenance", "rescue_centre"]
            )
        ),
        load_default=None,
    )


class CaseStartSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(sorted(case_flows.STARTED_BY_HAND)))
    elevator_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    equipment_id = fields.Integer(
        validate=validate.Range(min=1, max=2**31 - 1),
        metadata={"description": "instead of elevator_id: other special equipment (expiry, rectification)"},
    )
    reason = fields.String(
        validate=validate.Length(min=2, max=500),
        metadata={"description": "why the case is opened by hand; its first comment"},
    )
    phone = fields.String(validate=validate.Regexp(r"^[0-9+\-]{5,20}$"))
    trapped_count = fields.Integer(validate=validate.Range(min=0, max=50))
    injured = fields.Boolean()
    note = fields.String(validate=validate.Length(max=1000))
    report_no = fields.String(validate=validate.Length(max=60), metadata={"description": "rectification"})
    findings = fields.List(fields.String(validate=validate.Length(max=500)), validate=validate.Length(max=50))
    deadline = fields.AwareDateTime(metadata={"description": "rectification deadline (default 30 days)"})
    category = fields.String(validate=validate.Length(max=40), metadata={"description": "complaint"})
    text = fields.String(validate=validate.Length(max=2000), metadata={"description": "complaint"})
    kind = fields.String(
        validate=validate.OneOf(["inspection", "maintenance"]), metadata={"description": "expiry (default inspection)"}
    )
    due_date = fields.Date(metadata={"description": "expiry: inspection due date (default: the register's)"})

    @validates_schema
    def _one_subject(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if ("elevator_id" in data) == ("equipment_id" in data):
            raise ValidationError("give elevator_id or equipment_id (one of them)", "elevator_id")
        if "equipment_id" in data and data.get("type") not in case_flows.EQUIPMENT_CASES:
            allowed = ", ".join(sorted(case_flows.EQUIPMENT_CASES))
            raise ValidationError(f"cases about other special equipment: {allowed}", "equipment_id")


class CaseStartedSchema(Schema):
    case_id = fields.Integer()
    number = fields.String(allow_none=True)
    joined = fields.Boolean()
    next_task = fields.Nested(NextTaskSchema, allow_none=True, metadata={"description": "my next open task"})


# The answers written most often, by the plain writer (web.api.plain_dump)
CASE_PAGE = written_plainly(CaseSchema(many=True))
CASE_STARTED = written_plainly(CaseStartedSchema())


# Who may open which case by hand: the 96933 seat takes rescue and complaint calls by phone,
# a regulator registers an inspection report with nonconformities (and complaints) and opens an
# expiry case the daily scan has not (yet) opened.
STARTERS = {
    "rescue": {Role.DISPATCHER},
    "complaint": {Role.DISPATCHER, Role.REGULATOR},
    "rectification": {Role.REGULATOR},
    "expiry": {Role.REGULATOR},
}


class CancelSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=2, max=200))


def case_filters(args: dict[str, Any]) -> svc.CaseFilters:
    return svc.CaseFilters(
        case_type=args.get("type"),
        status=args.get("status"),
        district=args.get("district"),
        elevator_id=args.get("elevator_id"),
        opened_from=args.get("opened_from"),
        opened_to=args.get("opened_to"),
        overdue=args.get("overdue"),
        number=args.get("number"),
        priority=args.get("priority"),
        equipment_class=args.get("equipment_class"),
        equipment_id=args.get("equipment_id"),
    )


@blp.route("/cases")
class CasesView(MethodView):
    @blp.arguments(CaseFilterArgs, location="query")
    @blp.response(200, CASE_PAGE)
    @blp.paginate()
    def get(self, args: dict[str, Any], pagination_parameters: Any) -> list[Case]:
        """Cases in my scope, newest first. Filters: type, status, district, elevator or other
        equipment (one piece, or a class), time range, overdue."""
        stmt = svc.case_query(context.scope(), case_filters(args), context.system().clock.now())
        return paged(stmt, pagination_parameters, Case.opened_at.desc(), Case.id.desc())

    @blp.arguments(CaseStartSchema())
    @blp.response(201, CASE_STARTED)
    @blp.alt_response(200, schema=CaseStartedSchema, description="joined the elevator's open case of that type")
    def post(self, body: dict[str, Any]) -> Any:
        """Open a case by hand: a rescue or complaint phoned in to 96933, an inspection report with
        nonconformities, an inspection or maintenance expiry a regulator found. A second call for an
        elevator with an open case of that type joins it."""
        scope, system = context.scope(), context.system()
        if not scope.has(*STARTERS[body["type"]]):
            abort(403, message=f"opening a {body['type']} case needs one of: {', '.join(STARTERS[body['type']])}")
        if "equipment_id" in body:
            svc.visible_equipment(context.db(), scope, body["equipment_id"])
        else:
            svc.visible_elevator(context.db(), scope, body["elevator_id"])
        fields = {k: v for k, v in body.items() if k not in ("type", "elevator_id", "equipment_id", "reason")}
        context.end_reads()
        try:
            result = case_flows.open_by_hand(
                system,
                body["type"],
                elevator_id=body.get("elevator_id"),
                equipment_id=body.get("equipment_id"),
                fields=fields,
                actor=scope.username,
                reason=body.get("reason"),
                author_id=scope.user_id,
            )
        except case_flows.CannotOpen as err:
            abort(422, message=str(err))
        out = {
            "case_id": result.case_id,
            "number": result.number,
            "joined": result.joined,
            "next_task": svc.next_task_among(context.db(), scope, result.case_id, result.opened),
        }
        return (out, 200) if result.joined else out


@blp.route("/cases/<int:case_id>")
class CaseView(MethodView):
    @blp.response(200, CaseDetailSchema)
    def get(self, case_id: int) -> Case:
        """One case with its tasks, SLA state per milestone, participants, comments, attachments and
        timeline (with the hash-chain check)."""
        db, now = context.db(), context.system().clock.now()
        case = svc.visible_case(db, context.scope(), case_id)
        tasks = svc.case_tasks(db, case.id)
        extra = {
            "elevator": db.get(Elevator, case.elevator_id) if case.elevator_id else None,
            "tasks": tasks,
            "sla": svc.sla_of(case, tasks, now),
            "participants": svc.participants(db, case, tasks),
            "comments": svc.comments(db, case.id),
            "attachments": svc.attachments(db, case.id),
            "timeline": timeline_of(db, case, str(get_locale() or "")),
            "context": case_contexts(db, [case]).get(case.id, {}),
            "arrival_proof": arrival_proofs(db, [case], context.system().settings.checkin_max_distance_m).get(case.id),
        }
        for name, value in extra.items():  # plain attributes for the schema; never persisted
            setattr(case, f"_{name}", value)
        return case


@blp.route("/cases/by-number/<string:number>")
class CaseByNumberView(MethodView):
    @blp.response(200, CaseSchema)
    def get(self, number: str) -> Case:
        """Look a case up by its number (JY-20261123-0001)."""
        return svc.case_by_number(context.db(), context.scope(), number)


@blp.route("/cases/<int:case_id>/sla")
class CaseSlaView(MethodView):
    @blp.response(200, MilestoneSchema(many=True))
    def get(self, case_id: int) -> list[dict[str, Any]]:
        """Time left or overdue per milestone."""
        db = context.db()
        case = svc.visible_case(db, context.scope(), case_id)
        return svc.sla_of(case, svc.case_tasks(db, case.id), context.system().clock.now())


@blp.route("/cases/<int:case_id>/diagram")
class CaseDiagramView(MethodView):
    @blp.response(200, DiagramSchema)
    def get(self, case_id: int) -> dict[str, Any]:
        """The BPMN XML of the case's version with its completed and active element ids."""
        db = context.db()
        return svc.diagram(db, svc.visible_case(db, context.scope(), case_id))


@blp.route("/cases/<int:case_id>/comments")
class CaseCommentsView(MethodView):
    @blp.response(200, CommentSchema(many=True))
    def get(self, case_id: int) -> list[CaseComment]:
        db = context.db()
        return svc.comments(db, svc.visible_case(db, context.scope(), case_id).id)

    @blp.arguments(CommentSchema)
    @blp.response(201, CommentSchema)
    def post(self, body: dict[str, Any], case_id: int) -> CaseComment:
        """Add a comment; it is also written to the case timeline. Auditors only read."""
        scope = context.scope()
        if scope.roles <= {Role.AUDITOR, Role.ANALYST}:
            abort(403, message="auditors and analysts read cases; they do not comment")
        case = svc.visible_case(context.db(), scope, case_id)
        user = auth.current_user()
        author, author_id = user.username, user.id
        context.end_reads()
        return case_flows.add_comment(context.system(), case.id, body["body"], author=author, author_id=author_id)


@blp.route("/cases/<int:case_id>/escalate")
class CaseEscalateView(MethodView):
    @auth.require_roles(Role.REGULATOR)
    @blp.arguments(EscalateSchema)
    @blp.response(200, CaseSchema)
    def post(self, body: dict[str, Any], case_id: int) -> Case:
        """A regulator raises the case one level and tells the next level (district → city)."""
        db, system, scope = context.db(), context.system(), context.scope()
        case = svc.visible_case(db, scope, case_id)
        if case.status != CaseStatus.OPEN:
            abort(409, message=f"case {case.number} is {case.status}")
        roles = body.get("roles") or (
            ["city_regulator"] if scope.organisation_kind == "district_regulator" else ["district_regulator"]
        )
        context.end_reads()
        return case_flows.escalate(system, case.id, roles=roles, reason=body["reason"], actor=scope.username)


@blp.route("/cases/<int:case_id>/cancel")
class CaseCancelView(MethodView):
    @auth.require_roles(Role.DISPATCHER, Role.REGULATOR)
    @blp.arguments(CancelSchema)
    @blp.response(200, CaseSchema)
    def post(self, body: dict[str, Any], case_id: int) -> Case:
        """Cancel a case (false alarm) with a reason; open tasks and timers end, the timeline says why."""
        db, system, scope = context.db(), context.system(), context.scope()
        case = svc.visible_case(db, scope, case_id)
        context.end_reads()
        return case_flows.cancel(system, case.id, reason=body["reason"], actor=scope.username)


@blp.route("/cases/<int:case_id>/attachments/<int:attachment_id>")
class CaseAttachmentView(MethodView):
    @blp.response(200, description="the file")
    def get(self, case_id: int, attachment_id: int) -> Any:
        """Download an attachment of a case in my scope. Only a photo re-encoded on upload is shown
        inline; any other file (a PDF, a photo stored before re-encoding) is a download."""
        db, system = context.db(), context.system()
        case = svc.visible_case(db, context.scope(), case_id)
        row = db.get(Attachment, attachment_id)
        if row is None or row.case_id != case.id:
            abort(404, message="no such attachment")
        response = send_file(
            path_of(system.settings.upload_dir, row),
            mimetype=row.content_type,
            as_attachment=not (row.reencoded and row.content_type.startswith("image/")),
            download_name=row.filename,
            max_age=3600,
        )
        response.headers["X-Content-Type-Options"] = "nosniff"  # the stored type, never a browser's guess
        return response
