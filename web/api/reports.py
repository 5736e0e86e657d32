"""Reports: stored (scheduled) PDFs, on-demand PDFs, case list and timeline exports (CSV/XLSX) and
audit packages, all within the signed-in user's scope (out of scope: 404)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time
from typing import Any

from flask import Response, send_file
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate, validates_schema
from marshmallow import ValidationError as SchemaError
from sqlalchemy import select

from infra.settings import CITY_TZ
from registry.models import Role
from reports import exports, render, service
from reports.audit import build_package
from reports.flows import cycle_days, previous_period
from reports.models import StoredReport
from web.api.cases import CaseFilterArgs, case_filters
from web.http import auth, context

blp = Blueprint("reports", __name__, description="Reports (PDF), exports (CSV/XLSX) and audit packages")
READERS = (Role.REGULATOR, Role.AUDITOR, Role.ADMIN)
MEDIA = {
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "zip": "application/zip",
}


class StoredReportSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    period = fields.String()
    period_start = fields.Date()
    period_end = fields.Date()
    district_code = fields.String(allow_none=True)
    scope_label = fields.String()
    title = fields.String()
    filename = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    pages = fields.Integer()
    created_at = fields.DateTime()
    url = fields.Function(lambda r: f"/api/v1/reports/{r.id}/file")


class ListArgs(Schema):
    kind = fields.String(validate=validate.OneOf(["rescue", "inspection", "risk"]))
    period = fields.String(validate=validate.OneOf(["week", "month"]))


class MonthArgs(Schema):
    month = fields.String(validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$"))


class ExportArgs(CaseFilterArgs):
    format = fields.String(load_default="xlsx", validate=validate.OneOf(exports.FORMATS))


class AuditArgs(Schema):
    start = fields.Date(required=True, data_key="from", metadata={"description": "local (Beijing) date, inclusive"})
    end = fields.Date(required=True, data_key="to", metadata={"description": "local (Beijing) date, exclusive"})
    district = fields.String(validate=validate.Length(max=12))

    @validates_schema
    def _range(self, data: dict[str, Any], **_: Any) -> None:
        if data["start"] >= data["end"]:
            raise SchemaError("from must be before to", "from")


def _file(data: bytes, kind: str, name: str) -> Response:
    return send_file(io.BytesIO(data), mimetype=MEDIA[kind], as_attachment=True, download_name=name)


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=CITY_TZ).astimezone(UTC)


@blp.route("/reports")
class ReportsView(MethodView):
    @auth.require_roles(*READERS)
    @blp.arguments(ListArgs, location="query")
    @blp.response(200, StoredReportSchema(many=True))
    def get(self, args: dict[str, Any]) -> list[StoredReport]:
        """Stored weekly and monthly reports of my district (city regulators and auditors: all), newest first."""
        stmt = select(StoredReport).where(service.stored_reports_visible(context.scope()))
        if args.get("kind"):
            stmt = stmt.where(StoredReport.kind == args["kind"])
        if args.get("period"):
            stmt = stmt.where(StoredReport.period == args["period"])
        return list(context.db().scalars(stmt.order_by(StoredReport.period_start.desc(), StoredReport.id).limit(500)))


@blp.route("/reports/<int:report_id>/file")
class ReportFileView(MethodView):
    @auth.require_roles(*READERS)
    def get(self, report_id: int) -> Response:
        """The stored PDF (its SHA-256 is in the listing)."""
        report = service.visible_report(context.db(), context.scope(), report_id)
        return _file(report.content, "pdf", report.filename)


@blp.route("/reports/cases/<int:case_id>.pdf")
class CaseReportView(MethodView):
    def get(self, case_id: int) -> Response:
        """One case's report: facts, SLA per milestone, timeline with its hash check, forms and photos."""
        system = context.system()
        data = service.case_report(
            context.db(), context.scope(), case_id, now=system.clock.now(), upload_dir=system.settings.upload_dir
        )
        rendered = render.case_pdf(
            data, generated=system.clock.now(), header=system.settings.city_profile.report_header
        )
        return _file(rendered.pdf, "pdf", f"case-{data.case.number}.pdf")


@blp.route("/reports/rescue.pdf")
class RescueReportView(MethodView):
    @auth.require_roles(*READERS)
    @blp.arguments(MonthArgs, location="query")
    def get(self, args: dict[str, Any]) -> Response:
        """The monthly rescue report in my scope (default: last month)."""
        system, db, scope = context.system(), context.db(), context.scope()
        if args.get("month"):
            start = date.fromisoformat(f"{args['month']}-01")
            end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
        else:
            start, end = previous_period("month", system.clock.now().astimezone(CITY_TZ).date())
        figures = service.rescue_report(db, scope, start, end)
        rendered = render.rescue_pdf(
            figures,
            scope_label=service.scope_label(db, scope),
            period="month",
            generated=system.clock.now(),
            header=system.settings.city_profile.report_header,
        )
        return _file(rendered.pdf, "pdf", f"rescue-{start:%Y%m}.pdf")


@blp.route("/reports/risk.pdf")
class RiskReportView(MethodView):
    @auth.require_roles(*READERS)
    def get(self) -> Response:
        """风险监测报告: the highest-risk elevators in my scope with their factors."""
        system, db, scope = context.system(), context.db(), context.scope()
        data = service.risk_report(db, scope)
        rendered = render.risk_pdf(
            data,
            scope_label=service.scope_label(db, scope),
            generated=system.clock.now(),
            header=system.settings.city_profile.report_header,
        )
        return _file(rendered.pdf, "pdf", "risk.pdf")


@blp.route("/reports/inspection.pdf")
class InspectionReportView(MethodView):
    @auth.require_roles(*READERS)
    def get(self) -> Response:
        """Inspection and expiry status of the elevators in my scope, as of today (Beijing)."""
        system, db, scope = context.system(), context.db(), context.scope()
        today = system.clock.now().astimezone(CITY_TZ).date()
        data = service.inspection_report(
            db, scope, today=today, maintenance_cycle_days=cycle_days(system.settings.sla_file)
        )
        rendered = render.inspection_pdf(
            data,
            scope_label=service.scope_label(db, scope),
            generated=system.clock.now(),
            header=system.settings.city_profile.report_header,
        )
        return _file(rendered.pdf, "pdf", f"inspection-{today:%Y%m%d}.pdf")


@blp.route("/reports/exports/cases")
class CaseExportView(MethodView):
    @blp.arguments(ExportArgs, location="query")
    def get(self, args: dict[str, Any]) -> Response:
        """The case list with the console's filters as XLSX (default) or CSV."""
        fmt = args["format"]
        data = exports.export_cases(
            context.db(), context.scope(), case_filters(args), fmt=fmt, now=context.system().clock.now()
        )
        return _file(data, fmt, f"cases.{fmt}")


@blp.route("/reports/exports/timelines")
class TimelineExportView(MethodView):
    @blp.arguments(ExportArgs, location="query")
    def get(self, args: dict[str, Any]) -> Response:
        """Every timeline event (with prev_hash and hash) of the filtered cases, XLSX or CSV."""
        fmt = args["format"]
        data = exports.export_timelines(
            context.db(), context.scope(), case_filters(args), fmt=fmt, now=context.system().clock.now()
        )
        return _file(data, fmt, f"timelines.{fmt}")


@blp.route("/reports/audit-package")
class AuditPackageView(MethodView):
    @auth.require_roles(Role.AUDITOR, Role.REGULATOR, Role.ADMIN)
    @blp.arguments(AuditArgs, location="query")
    def get(self, args: dict[str, Any]) -> Response:
        """A zip of every event of the cases active in [from, to) in my scope, with the hash chains and a
        manifest; its digest is in the X-Manifest-Digest header (keep it to verify the package later)."""
        system, scope = context.system(), context.scope()
        district = args.get("district")
        if district and not scope.city_wide and district != scope.district_code:
            abort(404, message=f"district {district} not found")
        data, manifest = build_package(
            system.sessions,
            scope,
            _local_midnight(args["start"]),
            _local_midnight(args["end"]),
            district=district,
            now=system.clock.now(),
            created_by=scope.username,
        )
        response = _file(data, "zip", f"audit-{args['start']:%Y%m%d}-{args['end']:%Y%m%d}.zip")
        response.headers["X-Manifest-Digest"] = manifest["digest"]
        return response
