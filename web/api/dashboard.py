"""Dashboard figures: open cases, overdue, today's response/arrival/release times, the 30-minute
arrival rate, the maintenance-unit ranking, and open cases on the map."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from processes import dashboard, elevator_facts
from processes.case_context import active_rescues
from registry.scope import Scope
from web.http import context

blp = Blueprint("dashboard", __name__, description="Live figures for role home pages and the dispatch screen")


CACHE_SECONDS = 5.0


def _key(name: str, scope: Scope) -> tuple[Any, ...]:
    """Everyone with the same view of the city shares one cached answer."""
    return (name, scope.city_wide, scope.organisation_kind, scope.organisation_id, scope.district_code)


def _cached(key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
    _cache = current_app.extensions.setdefault("liftcase.dashboard", {})  # one per app (and database)
    hit = _cache.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    value = compute()
    _cache[key] = (time.monotonic() + CACHE_SECONDS, value)
    return value


class SummarySchema(Schema):
    at = fields.DateTime()
    open_by_type = fields.Dict(keys=fields.String(), values=fields.Integer())
    open_total = fields.Integer()
    overdue = fields.Integer()
    today_by_type = fields.Dict(keys=fields.String(), values=fields.Integer())
    today = fields.Dict()
    ranking = fields.List(fields.Dict())


class PointSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    case_type = fields.String()
    priority = fields.String(allow_none=True)
    escalation_level = fields.Integer()
    opened_at = fields.DateTime()
    elevator_id = fields.Integer(allow_none=True)
    equipment_id = fields.Integer(allow_none=True)
    equipment_class = fields.String(allow_none=True)  # null: an elevator
    lat = fields.Float()
    lon = fields.Float()
    address = fields.String()


@blp.route("/dashboard/summary")
class SummaryView(MethodView):
    @blp.response(200, SummarySchema)
    def get(self) -> dict[str, Any]:
        """Figures within my scope (a district regulator sees their district, the city all)."""
        scope = context.scope()
        # Figures are the same for everyone with the same view of the city; a few seconds old is
        # live enough for a wall screen, and 200 open screens then cost one query set per interval.
        return _cached(
            _key("summary", scope), lambda: dashboard.summary(context.db(), scope, context.system().clock.now())
        )


class InspectionSchema(Schema):
    as_of = fields.Date()
    total = fields.Integer()
    expired = fields.Integer()
    due_7 = fields.Integer()
    due_30 = fields.Integer()
    due_60 = fields.Integer()
    stop_use = fields.Integer()
    by_district = fields.List(fields.Dict())


class WarningArgs(Schema):
    since = fields.AwareDateTime()
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class WarningSchema(Schema):
    id = fields.Integer()
    source = fields.String()
    kind = fields.String()
    received_at = fields.DateTime()
    case_id = fields.Integer(allow_none=True)
    joined = fields.Boolean()
    elevator_id = fields.Integer()
    address = fields.String()
    district_code = fields.String()


@blp.route("/dashboard/inspection")
class InspectionView(MethodView):
    @blp.response(200, InspectionSchema)
    def get(self) -> dict[str, Any]:
        """Inspection status of the elevators in scope: expired, due within 7/30/60 days, stopped."""
        scope = context.scope()
        now = context.system().clock.now()
        return _cached(_key("inspection", scope), lambda: elevator_facts.inspection_overview(context.db(), scope, now))


@blp.route("/dashboard/warnings")
class WarningsView(MethodView):
    @blp.arguments(WarningArgs, location="query")
    @blp.response(200, WarningSchema(many=True))
    def get(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        """The live warning feed: signals from boxes, cameras and QR calls in scope, newest first."""
        return elevator_facts.recent_warnings(context.db(), context.scope(), args.get("since"), args["limit"])


@blp.route("/dashboard/map")
class MapView(MethodView):
    @blp.response(200, PointSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Open cases with their positions."""
        scope = context.scope()
        return _cached(_key("map", scope), lambda: dashboard.open_case_points(context.db(), scope))


class RescueSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    escalation_level = fields.Integer()
    milestones = fields.List(fields.String())
    maintenance_unit = fields.String(allow_none=True)
    context = fields.Dict()


@blp.route("/dashboard/rescues")
class RescuesView(MethodView):
    @blp.response(200, RescueSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Open rescues, the longest trapped first: where, how many, level, unit, technician and ETA."""
        scope = context.scope()
        return _cached(_key("rescues", scope), lambda: active_rescues(context.db(), scope))
