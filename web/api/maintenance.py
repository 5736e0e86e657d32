"""Maintenance supervision (维保监管): plans, the TSG T5002 checklist, visits recorded on the phone
or imported from a paperless maintenance system, on-time rates (the use unit's answer: visit_confirmations.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from infra.settings import CITY_TZ
from processes.maintenance import checklist, service
from processes.maintenance.flows import cycle_days, record_visit
from processes.maintenance.importing import VisitFileError, import_visits, read_visit_rows
from processes.maintenance.ontime import WINDOW_DAYS, unit_on_time
from processes.maintenance.service import VisitRefused
from registry.models import Organisation, OrgKind, Role
from web.api.registry_common import ID
from web.http import auth, context

blp = Blueprint("maintenance", __name__, description="Maintenance supervision: plans, visits, on-time rates")
RECORDERS = (Role.MAINTENANCE, Role.MAINTENANCE_MANAGER, Role.ADMIN)


class PlanArgs(Schema):
    due_within_days = fields.Integer(validate=validate.Range(min=0, max=366))


class VisitArgs(Schema):
    elevator_id = fields.Integer(validate=ID)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class VisitSchema(Schema):
    elevator_id = fields.Integer(required=True, validate=ID)
    maintained_on = fields.Date(metadata={"description": "default: today (Beijing)"})
    results = fields.Dict(
        keys=fields.String(validate=validate.Length(max=10)),
        values=fields.String(validate=validate.OneOf(checklist.RESULTS)),
        required=True,
        metadata={"description": "item code -> ok | adjusted | replaced | fault | na"},
    )
    checkin_id = fields.Integer(validate=ID, metadata={"description": "your check-in at this elevator today"})
    photos = fields.List(
        fields.String(validate=validate.Length(max=200)), load_default=list, validate=validate.Length(max=20)
    )
    note = fields.String(load_default="", validate=validate.Length(max=1000))
    technician = fields.String(validate=validate.Length(max=60))


class ImportArgs(Schema):
    source = fields.String(load_default="paperless", validate=validate.Length(min=1, max=40))


def _refused(err: VisitRefused) -> Any:
    abort(422, message=str(err), errors=err.errors)


@blp.route("/maintenance/checklist")
class ChecklistView(MethodView):
    @blp.response(200)
    def get(self) -> Any:
        """The TSG T5002 items by period (half-monthly, quarterly, half-yearly, yearly), both languages."""
        return checklist.checklist()


@blp.route("/maintenance/plans")
class PlansView(MethodView):
    @blp.arguments(PlanArgs, location="query")
    @blp.response(200)
    def get(self, args: dict[str, Any]) -> Any:
        """Plans of the elevators in your scope, soonest due first, with the periods the next visit
        covers. An elevator without a plan yet shows the one its first visit makes (15-day cycle
        from the last visit on record)."""
        system = context.system()
        now = system.clock.now()
        due = args.get("due_within_days")
        due_before = now.astimezone(CITY_TZ).date() + timedelta(days=due) if due is not None else None
        return service.plans(
            context.db(), context.scope(), cycle_days=cycle_days(system), now=now, due_before=due_before
        )


@blp.route("/maintenance/visits")
class VisitsView(MethodView):
    @blp.arguments(VisitArgs, location="query")
    @blp.response(200)
    def get(self, args: dict[str, Any]) -> Any:
        rows = service.visits(context.db(), context.scope(), elevator_id=args.get("elevator_id"), limit=args["limit"])
        return [service.visit_dict(v) for v in rows]

    @auth.require_roles(*RECORDERS)
    @blp.arguments(VisitSchema)
    @blp.response(201)
    def post(self, body: dict[str, Any]) -> Any:
        """Record a visit: every item of the periods due answered; the register's last-maintenance
        date moves and an open maintenance-overdue case closes."""
        context.end_reads()
        try:
            visit = record_visit(context.system(), context.scope(), **body)
        except VisitRefused as err:
            _refused(err)
        return service.visit_dict(visit)


@blp.route("/maintenance/visits/import")
class VisitImportView(MethodView):
    @auth.require_roles(*RECORDERS)
    @blp.arguments(ImportArgs, location="query")
    @blp.response(200)
    def post(self, args: dict[str, Any]) -> Any:
        """Visit records from a paperless maintenance system: CSV or JSON (multipart `file`, or a
        JSON body). Valid rows written, each invalid row reported with messages per column; rows of
        `source` imported before are skipped."""
        upload = request.files.get("file")
        if upload is not None:
            data, filename = upload.read(), upload.filename or "visits.csv"
        elif request.is_json:
            data, filename = request.get_data(), "visits.json"
        else:
            abort(
                422,
                message="send a CSV or JSON file in the field 'file', or a JSON body",
                errors={"file": ["required"]},
            )
        try:
            rows = read_visit_rows(data, filename)
        except VisitFileError as err:
            abort(422, message=str(err), errors={"file": [str(err)]})
        context.end_reads()
        return import_visits(context.system(), context.scope(), rows, source=args["source"]).as_dict()


@blp.route("/maintenance/on-time")
class OnTimeView(MethodView):
    @auth.require_roles(Role.REGULATOR, Role.DISPATCHER, Role.AUDITOR, Role.ADMIN, Role.MAINTENANCE_MANAGER)
    @blp.response(200)
    def get(self) -> Any:
        """On-time maintenance per maintenance unit over the last 90 days: visits, on time, plans
        overdue now, rate (null: nothing was due). Dispatch ranks backup units by it; the risk
        model reads it per unit. A maintenance manager sees their own unit's."""
        scope = context.scope()
        today = context.system().clock.now().astimezone(CITY_TZ).date()
        figures = unit_on_time(context.db(), today - timedelta(days=WINDOW_DAYS), today)
        names = dict(
            context.db()
            .query(Organisation.id, Organisation.name)
            .filter(Organisation.kind == OrgKind.MAINTENANCE_UNIT)
            .all()
        )
        wide = scope.has(Role.REGULATOR, Role.DISPATCHER, Role.AUDITOR, Role.ADMIN)
        return [
            {
                "unit_id": u,
                "unit": names.get(u),
                "visits": f.visits,
                "on_time": f.on_time,
                "overdue_plans": f.overdue_plans,
                "rate": f.rate,
            }
            for u, f in sorted(figures.items())
            if wide or u == scope.organisation_id
        ]
