"""Tasks: mine and my organisation's; claim, release, assign, complete with the form; evidence files."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from engine.models import CaseTask, TaskStatus
from processes import case_service as svc
from processes import task_flows
from processes.attachments import AttachmentRejected
from processes.case_context import case_contexts
from registry.models import Role, User
from web.api.cases import AttachmentSchema, CaseSchema, NextTaskSchema, TaskBriefSchema
from web.api.paging import PageArgs, paged
from web.api.plain_dump import written_plainly
from web.http import auth, context

blp = Blueprint("tasks", __name__, description="Tasks: inbox, claim, assign, complete with a form, evidence")


class TaskListArgs(PageArgs):
    scope = fields.String(load_default="mine", validate=validate.OneOf(["mine", "org", "all"]))
    status = fields.String(load_default="open", validate=validate.OneOf([s.value for s in TaskStatus] + ["any"]))
    case_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    claim = fields.String(
        validate=validate.OneOf(["me", "unclaimed"]), metadata={"description": "claimed by me, or by nobody yet"}
    )


class TaskSchema(TaskBriefSchema):
    case_id = fields.Integer()
    case = fields.Nested(CaseSchema)
    form_schema = fields.Dict(allow_none=True)
    can_act = fields.Boolean()
    can_assign = fields.Boolean(metadata={"description": "I may hand it to a colleague"})
    context = fields.Dict(allow_none=True, metadata={"description": "where, who called, who is coming"})


class CompleteSchema(Schema):
    data = fields.Dict(required=True, metadata={"description": "the form's fields, checked against its JSON Schema"})


class CompletedSchema(CaseSchema):
    next_task = fields.Nested(NextTaskSchema, allow_none=True, metadata={"description": "my next open task"})


# The answers written most often, by the plain writer (web.api.plain_dump)
TASK_PAGE = written_plainly(TaskSchema(many=True))
COMPLETED = written_plainly(CompletedSchema())


class AssignSchema(Schema):
    user_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**31 - 1))


def _annotate(tasks: list[CaseTask], *, with_form: bool, all_actionable: bool = False) -> list[CaseTask]:
    """Add what the schema shows beside the row — its case (when visible to me) and its context,
    whether I may act, the form — in a few queries for the whole page, not per task."""
    db, scope = context.db(), context.scope()
    if not tasks:
        return tasks
    cases = svc.visible_cases(db, scope, list({t.case_id for t in tasks}))
    contexts = case_contexts(db, cases.values())
    actionable = {t.id for t in tasks} if all_actionable else svc.actionable_among(db, scope, [t.id for t in tasks])
    for task in tasks:  # plain attributes for the schema; never persisted
        task.case = cases.get(task.case_id)  # type: ignore[attr-defined]
        task.context = contexts.get(task.case_id)  # type: ignore[attr-defined]
        task.can_act = (  # type: ignore[attr-defined]
            task.status == TaskStatus.OPEN and task.id in actionable and task.assignee_id in (None, scope.user_id)
        )
        task.can_assign = (  # type: ignore[attr-defined]
            task.status == TaskStatus.OPEN
            and task.id in actionable
            and (task.assignee_id in (None, scope.user_id) or scope.has(*REASSIGNERS))
        )
        task.form_schema = svc.task_form(db, task) if with_form else None  # type: ignore[attr-defined]
    return tasks


def _task_out(task: CaseTask, *, with_form: bool) -> CaseTask:
    return _annotate([task], with_form=with_form)[0]


# Who may hand over a task a colleague holds: the unit's manager (a technician off sick, on leave).
REASSIGNERS = (Role.MAINTENANCE_MANAGER, Role.ADMIN)


def _actionable(task_id: int, *, reassign: bool = False) -> CaseTask:
    scope = context.scope()
    task, may_act = svc.task_for_action(context.db(), scope, task_id)
    if not may_act:
        abort(403, message="this task is for another organisation or role")
    held_by_other = task.assignee_id not in (None, scope.user_id)
    if held_by_other and not (reassign and scope.has(*REASSIGNERS)):
        abort(409, message="someone else has claimed this task")
    return task


@blp.route("/tasks")
class TasksView(MethodView):
    # An ETag over the listed data: a client polling its inbox sends If-None-Match and gets a
    # bodiless 304 while nothing changed.
    @blp.etag
    # Argument schemas as instances on the hot routes: given a class, webargs builds it on every request.
    @blp.arguments(TaskListArgs(), location="query")
    @blp.response(200, TASK_PAGE)
    @blp.paginate()
    def get(self, args: dict[str, Any], pagination_parameters: Any) -> list[CaseTask]:
        """My tasks (scope=mine), my organisation's (org) or every task I can see (all); soonest due first."""
        status = None if args["status"] == "any" else args["status"]
        stmt = svc.task_query(context.scope(), args["scope"], status)
        if args.get("case_id"):
            stmt = stmt.where(CaseTask.case_id == args["case_id"])
        if args.get("claim") == "me":
            stmt = stmt.where(CaseTask.assignee_id == context.scope().user_id)
        elif args.get("claim") == "unclaimed":
            stmt = stmt.where(CaseTask.assignee_id.is_(None))
        rows = paged(stmt, pagination_parameters, CaseTask.due_at.is_(None), CaseTask.due_at, CaseTask.id)
        # "mine" and "org" select only tasks I may act on (tasks_actionable): no need to ask again
        return _annotate(rows, with_form=False, all_actionable=args["scope"] != "all")


@blp.route("/tasks/<int:task_id>")
class TaskView(MethodView):
    @blp.response(200, TaskSchema)
    def get(self, task_id: int) -> CaseTask:
        """One task with its form's JSON Schema."""
        return _task_out(svc.visible_task(context.db(), context.scope(), task_id), with_form=True)


@blp.route("/tasks/<int:task_id>/claim")
class TaskClaimView(MethodView):
    @blp.response(200, TaskSchema)
    def post(self, task_id: int) -> CaseTask:
        """Take the task: others of my organisation see it is mine."""
        task, scope = _actionable(task_id), context.scope()
        context.end_reads()
        task_flows.claim(context.system(), task.id, user_id=scope.user_id, actor=scope.username)
        return _task_out(svc.visible_task(context.db(), context.scope(), task_id), with_form=False)


class ReleaseSchema(Schema):
    undo = fields.Boolean(
        load_default=False, metadata={"description": "withdraw my claim just made (the timeline says so)"}
    )


@blp.route("/tasks/<int:task_id>/release")
class TaskReleaseView(MethodView):
    @blp.arguments(ReleaseSchema, required=False)
    @blp.response(200, TaskSchema)
    def post(self, body: dict[str, Any] | None, task_id: int) -> CaseTask:
        """Give the task back to my organisation (undo=true: withdraw my own claim)."""
        task, scope = _actionable(task_id), context.scope()
        undo = bool((body or {}).get("undo"))
        if undo and task.assignee_id != scope.user_id:
            abort(409, message="only your own claim can be withdrawn")
        context.end_reads()
        task_flows.release(context.system(), task.id, actor=scope.username, undo=undo)
        return _task_out(svc.visible_task(context.db(), context.scope(), task_id), with_form=False)


@blp.route("/tasks/<int:task_id>/assign")
class TaskAssignView(MethodView):
    @blp.arguments(AssignSchema)
    @blp.response(200, TaskSchema)
    def post(self, body: dict[str, Any], task_id: int) -> CaseTask:
        """Hand the task to a colleague of the task's organisation (a manager may also take it from
        the colleague who holds it)."""
        task = _actionable(task_id, reassign=True)
        db = context.db()
        user = db.scalar(select(User).where(User.id == body["user_id"], User.active.is_(True)))
        if user is None or user.organisation_id != task.organisation_id:
            abort(
                422,
                message="the assignee must be an active user of the task's organisation",
                errors={"user_id": ["not a member of the task's organisation"]},
            )
        context.end_reads()
        task_flows.hand_over(context.system(), task.id, to_user_id=user.id, actor=context.scope().username)
        return _task_out(svc.visible_task(db, context.scope(), task_id), with_form=False)


@blp.route("/tasks/<int:task_id>/complete")
class TaskCompleteView(MethodView):
    @blp.arguments(CompleteSchema())
    @blp.response(200, COMPLETED)
    @blp.alt_response(422, description="the form has errors: one message per field")
    @blp.alt_response(409, description="the task was completed by someone else first")
    def post(self, body: dict[str, Any], task_id: int) -> Any:
        """Submit the task's form; the server checks it against the form's JSON Schema. Answers the
        case and my next open task on it (`next_task`, null when none), so a client goes on
        without asking for its task list."""
        task = _actionable(task_id)
        task_flows.check_submission(context.db(), task, body["data"])
        context.end_reads()
        scope = context.scope()
        outcome = task_flows.complete_and_next(
            context.system(), task.id, body["data"], actor=scope.username, checked=True
        )
        case = outcome.case
        case.next_task = svc.next_task_after(context.db(), scope, outcome)  # type: ignore[attr-defined]
        return case


@blp.route("/tasks/<int:task_id>/attachments")
class TaskAttachmentsView(MethodView):
    @blp.response(201, AttachmentSchema)
    @blp.alt_response(413, description="the file is too large")
    @blp.alt_response(422, description="empty file or a type that is not accepted")
    def post(self, task_id: int) -> Any:
        """Upload evidence (multipart field `file`): a photo (JPEG/PNG/WebP) or a PDF, size-limited."""
        task = _actionable(task_id)
        upload = request.files.get("file")
        if upload is None:
            abort(422, message="send the file in the multipart field 'file'", errors={"file": ["required"]})
        system, username = context.system(), auth.current_user().username
        data = upload.read(system.settings.max_upload_bytes + 1)
        context.end_reads()
        try:
            return task_flows.attach_evidence(
                system, task, data, filename=upload.filename or "upload", uploaded_by=username
            )
        except AttachmentRejected as err:
            abort(422, message=str(err), errors={"file": [str(err)]})
