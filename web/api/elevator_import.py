"""Elevator bulk import from CSV or XLSX (admins)."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from processes import administration as admin
from registry.importing import ImportFileError, read_rows
from registry.models import Role
from web.api.registry_common import who_and_when, write_or_conflict
from web.http import auth, context

blp = Blueprint("elevator-import", __name__, description="Elevator bulk import (admins)")


class ImportArgs(Schema):
    dry_run = fields.Boolean(load_default=False)


class ImportReportSchema(Schema):
    rows = fields.Integer()
    valid_rows = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()
    errors = fields.List(fields.Dict())


@blp.route("/elevators/import")
class ElevatorImportView(MethodView):
    @auth.require_roles(Role.ADMIN)
    @blp.arguments(ImportArgs, location="query")
    @blp.response(200, ImportReportSchema)
    @blp.alt_response(422, description="the file cannot be read (type, header, missing columns)")
    def post(self, args: dict[str, Any]) -> Any:
        """Bulk import from CSV or XLSX (multipart field `file`). Valid rows are inserted or updated by
        register code; every invalid row is reported with its row number and messages per column.
        `dry_run=true` checks without writing."""
        upload = request.files.get("file")
        if upload is None:
            abort(422, message="send the file in the multipart field 'file'", errors={"file": ["required"]})
        filename = upload.filename or "upload.csv"
        try:
            rows = read_rows(upload.read(), filename)
        except (ImportFileError, UnicodeDecodeError) as err:
            abort(422, message=str(err), errors={"file": [str(err)]})
        return write_or_conflict(
            lambda: admin.import_elevator_rows(
                context.db(),
                rows,
                dry_run=args["dry_run"],
                filename=filename,
                province_prefix=context.system().settings.city_profile.province_prefix,
                **who_and_when(),
            )
        )
