"""Register sync (数据治理): a source's export in (admins), the conflicts between sources in scope
(regulators, admins, auditors) and a regulator's decision on one, and a record's field provenance."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from processes import register_sync as flows
from registry.importing import ImportFileError
from registry.models import Organisation, Role
from registry.scope import elevators_visible, equipment_visible
from registry.sync import service
from registry.sync.fields import ELEVATOR, IMPORTED_SOURCES, ORGANISATION_FIELDS, RECORDS, TRACKED
from registry.sync.models import FieldProvenance, RegisterConflict, SourceValue
from registry.sync.reading import read_export
from web.api.paging import PageArgs, paged
from web.api.registry_common import who_and_when, write_or_conflict
from web.http import auth, context

blp = Blueprint("register-sync", __name__, description="Register sync: sources, provenance, conflicts")
READERS = (Role.REGULATOR, Role.ADMIN, Role.AUDITOR)
RECORD_TYPES = validate.OneOf(tuple(RECORDS))
COLUMNS = tuple(c.key for c in RegisterConflict.__table__.columns if c.key not in ("open_key", "fingerprint"))


class SyncImportArgs(Schema):
    source = fields.String(load_default="provincial", validate=validate.OneOf(IMPORTED_SOURCES))


class SyncReportSchema(Schema):
    source = fields.String()
    rows = fields.Integer()
    records = fields.Integer(metadata={"description": "rows matched to a record of the register"})
    updated = fields.Integer(metadata={"description": "records whose register values changed"})
    fields_set = fields.Integer()
    unmatched = fields.List(fields.Dict(), metadata={"description": "rows whose register code is not registered"})
    errors = fields.List(fields.Dict())
    conflicts_opened = fields.Integer()
    conflicts_updated = fields.Integer()


class ConflictArgs(PageArgs):
    status = fields.String(load_default="open", validate=validate.OneOf(("open", "resolved", "settled", "all")))
    record_type = fields.String(validate=RECORD_TYPES)
    field = fields.String(validate=validate.Length(max=40))
    district = fields.String(validate=validate.Length(max=12))
    register_code = fields.String(validate=validate.Length(max=32))


class ConflictSchema(Schema):
    id = fields.Integer()
    record_type = fields.String()
    record_id = fields.Integer()
    register_code = fields.String()
    district_code = fields.String()
    field = fields.String()
    status = fields.String()
    candidates = fields.Dict(metadata={"description": "{source: {value, reported_at}}"})
    register_value = fields.Raw(allow_none=True)
    names = fields.Dict(metadata={"description": "organisation id -> name, for the organisation fields"})
    detected_at = fields.DateTime()
    updated_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    chosen_source = fields.String(allow_none=True)
    chosen_value = fields.Raw(allow_none=True)
    reason = fields.String(allow_none=True)


class ResolveSchema(Schema):
    source = fields.String(
        required=True,
        validate=validate.Length(min=1, max=20),
        metadata={"description": "the source whose value the register takes, or `register` to keep its own"},
    )
    reason = fields.String(required=True, validate=validate.Length(min=2, max=500))


class ProvenanceSchema(Schema):
    field = fields.String()
    value = fields.Raw(allow_none=True)
    source = fields.String(allow_none=True, metadata={"description": "who set the value the register holds"})
    set_at = fields.DateTime(allow_none=True)
    set_by = fields.String(allow_none=True)
    sources = fields.Dict(metadata={"description": "{source: {value, reported_at}}: every source's word"})


def _shown(rows: list[RegisterConflict]) -> list[dict[str, Any]]:
    db = context.db()
    named = service.records_named(db, rows)
    org_ids = {
        v
        for r in rows
        if r.field in ORGANISATION_FIELDS
        for v in [r.register_value, r.chosen_value, *(c["value"] for c in r.candidates.values())]
        if isinstance(v, int)
    }
    orgs = {i: n for i, n in db.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(org_ids)))}
    out = []
    for r in rows:
        code, district = named.get((r.record_type, r.record_id), ("", ""))
        values = [r.register_value, *(c["value"] for c in r.candidates.values())]
        names = (
            {str(v): orgs[v] for v in values if isinstance(v, int) and v in orgs}
            if r.field in ORGANISATION_FIELDS
            else {}
        )
        out.append({**{c: getattr(r, c) for c in COLUMNS}, "register_code": code, "district_code": district,
                    "names": names})  # fmt: skip
    return out


@blp.route("/register-sync/import")
class SyncImportView(MethodView):
    @auth.require_roles(Role.ADMIN)
    @blp.arguments(SyncImportArgs, location="query")
    @blp.response(200, SyncReportSchema)
    @blp.alt_response(422, description="the file cannot be read (type, header, missing register code)")
    def post(self, args: dict[str, Any]) -> Any:
        """A source's register export (multipart field `file`: CSV, XLSX or JSON, the register's column
        names or the provincial template's Chinese ones). Each field stated is kept as the source's
        word with its provenance; a field the register holds from another source or a local edit is
        not overwritten: it becomes a conflict."""
        upload = request.files.get("file")
        if upload is None:
            abort(422, message="send the file in the multipart field 'file'", errors={"file": ["required"]})
        filename = upload.filename or "upload.csv"
        try:
            rows = read_export(upload.read(), filename)
        except (ImportFileError, UnicodeDecodeError) as err:
            abort(422, message=str(err), errors={"file": [str(err)]})
        prefix = context.system().settings.city_profile.province_prefix
        return write_or_conflict(
            lambda: flows.import_source(
                context.db(), rows, source=args["source"], filename=filename, province_prefix=prefix, **who_and_when()
            )
        )


@blp.route("/register-sync/conflicts")
class ConflictsView(MethodView):
    @auth.require_roles(*READERS)
    @blp.arguments(ConflictArgs, location="query")
    @blp.response(200, ConflictSchema(many=True))
    @blp.paginate()
    def get(self, args: dict[str, Any], pagination_parameters: Any) -> list[dict[str, Any]]:
        """Conflicts between sources about records in your scope, newest first (default: open ones)."""
        stmt = service.listing(context.scope(), args)
        return _shown(
            paged(stmt, pagination_parameters, RegisterConflict.updated_at.desc(), RegisterConflict.id.desc())
        )


@blp.route("/register-sync/conflicts/<int:conflict_id>/resolve")
class ResolveView(MethodView):
    @auth.require_roles(Role.REGULATOR, Role.ADMIN)
    @blp.arguments(ResolveSchema)
    @blp.response(200, ConflictSchema)
    def post(self, body: dict[str, Any], conflict_id: int) -> dict[str, Any]:
        """Decide a conflict: the register takes the chosen source's value (`register` keeps its own),
        with your reason; the change is audited and sent in the outbound feed."""
        db = context.db()
        stmt = select(RegisterConflict).where(RegisterConflict.id == conflict_id, service.visible(context.scope()))
        conflict = db.scalar(stmt.with_for_update()) or abort(404, message="no such conflict in your scope")
        if body["source"] != "register" and body["source"] not in conflict.candidates:
            choices = ["register", *sorted(conflict.candidates)]
            abort(422, message="unknown source", errors={"source": [f"choose one of: {', '.join(choices)}"]})
        done = write_or_conflict(
            lambda: flows.resolve(db, conflict, source=body["source"], reason=body["reason"], **who_and_when())
        )
        return _shown([done])[0]


@blp.route("/register-sync/provenance/<record_type>/<int:record_id>")
class ProvenanceView(MethodView):
    @auth.require_roles(*READERS)
    @blp.response(200, ProvenanceSchema(many=True))
    def get(self, record_type: str, record_id: int) -> list[dict[str, Any]]:
        """Field by field: the register's value, which source set it and when, and what every source says."""
        if record_type not in RECORDS:
            abort(404, message="record type is elevator or equipment")
        db = context.db()
        model = RECORDS[record_type]
        rule = elevators_visible if record_type == ELEVATOR else equipment_visible
        record = db.scalar(select(model).where(model.id == record_id, rule(context.scope())))
        if record is None:
            abort(404, message="not found, or not in your scope")
        held = service.provenance(db, record_type, [record_id])
        said: dict[str, dict[str, Any]] = {}
        for row in db.scalars(
            select(SourceValue).where(SourceValue.record_type == record_type, SourceValue.record_id == record_id)
        ):
            said.setdefault(row.field, {})[row.source] = {
                "value": row.value,
                "reported_at": row.reported_at.isoformat(),
            }
        out = []
        for name in TRACKED[record_type]:
            origin: FieldProvenance | None = held.get((record_id, name))
            value = getattr(record, name)
            out.append({
                "field": name, "value": value.isoformat() if hasattr(value, "isoformat") else value,
                "source": origin.source if origin else None, "set_at": origin.set_at if origin else None,
                "set_by": origin.set_by if origin else None, "sources": said.get(name, {}),
            })  # fmt: skip
        return out
