"""Inspection reports by file (CSV/XLSX), for inspection institutes' staff and admins: the same
reports the signed webhook takes (connectors/inspection), one row per nonconformity."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields
from sqlalchemy import select

from connectors.inspection import flows, service
from connectors.inspection.models import InspectionSource
from connectors.inspection.schema import ALIASES, COLUMNS, REQUIRED
from registry.importing import ImportFileError, read_rows
from registry.models import OrgKind, Role
from web.http import context

blp = Blueprint("inspection-reports", __name__, description="Inspection results by file (inspection institutes)")


class ImportArgs(Schema):
    source = fields.String(
        metadata={"description": "the source's name (admins; institutes' staff import as their own)"}
    )


class ImportSummarySchema(Schema):
    rows = fields.Integer()
    reports = fields.Integer()
    accepted = fields.Integer()
    duplicates = fields.Integer()
    cases_opened = fields.List(fields.String())
    errors = fields.List(fields.Dict())


def _source() -> InspectionSource:
    scope, db = context.scope(), context.db()
    if scope.has(Role.ADMIN) and request.args.get("source"):
        found = db.scalar(select(InspectionSource).where(InspectionSource.name == request.args["source"]))
    elif scope.has(Role.REGULATOR, Role.ADMIN) and scope.organisation_kind == OrgKind.INSPECTION_AGENCY:
        found = service.source_of_organisation(db, scope.organisation_id) if scope.organisation_id else None
    else:
        abort(403, message="imports inspection reports: an inspection institute's staff, or an admin naming the source")
    if found is None or not found.active:
        abort(422, message="no active inspection source", errors={"source": ["no active inspection source"]})
    return found


@blp.route("/inspection-reports/import")
class InspectionImportView(MethodView):
    @blp.arguments(ImportArgs, location="query")
    @blp.response(200, ImportSummarySchema)
    @blp.alt_response(422, description="the file cannot be read (type, header, missing columns)")
    def post(self, _args: dict[str, Any]) -> Any:
        """Reports from CSV or XLSX (multipart field `file`), one row per nonconformity (a passing
        report: one row without an item). Each good report is accepted as the webhook would; each
        bad row is listed with its number and messages per column, and its report is left out."""
        source = _source()
        source_id, source_name = source.id, source.name
        upload = request.files.get("file")
        if upload is None:
            abort(422, message="send the file in the multipart field 'file'", errors={"file": ["required"]})
        try:
            rows = read_rows(
                upload.read(), upload.filename or "upload.csv", columns=COLUMNS, aliases=ALIASES, required=REQUIRED
            )
        except (ImportFileError, UnicodeDecodeError) as err:
            abort(422, message=str(err), errors={"file": [str(err)]})
        actor = context.scope().username
        context.end_reads()
        return flows.import_rows(context.system(), source_id, source_name, rows, actor=actor)
