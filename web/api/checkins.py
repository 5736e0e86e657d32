"""On-site check-in: the technician's check-in (NFC tag UID, the tag's printed code, or the
phone's position), the tag register (admins) and the rescues whose arrival nobody proved (regulators)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from processes.checkin import service as checkins
from processes.checkin import tag_admin
from processes.checkin.flows import CheckinRefused, check_in
from processes.checkin.models import CheckIn
from registry.importing import ImportFileError, read_rows
from registry.models import Role
from registry.tags import service as tags
from registry.tags.models import PLACES, CheckinTag
from registry.tags.service import TAG_ALIASES, TAG_COLUMNS, TagError
from web.api.registry_common import ID, who_and_when, write_or_conflict
from web.http import auth, context

blp = Blueprint("checkins", __name__, description="On-site check-in (NFC tag, QR code, position) and the tag register")
TECHNICIANS = (Role.MAINTENANCE, Role.MAINTENANCE_MANAGER)
OVERSIGHT = (Role.REGULATOR, Role.DISPATCHER, Role.AUDITOR, Role.ADMIN)


class CheckinSchema(Schema):
    uid = fields.String(
        validate=validate.Length(max=40), metadata={"description": "NFC serial number (Web NFC serialNumber)"}
    )
    code = fields.String(
        validate=validate.Length(max=16), metadata={"description": "the code printed on the tag (its QR code)"}
    )
    elevator_id = fields.Integer(validate=ID, metadata={"description": "the elevator you are working on"})
    case_id = fields.Integer(validate=ID, metadata={"description": "the rescue or work order you arrive for"})
    lat = fields.Float(validate=validate.Range(min=-90, max=90))
    lon = fields.Float(validate=validate.Range(min=-180, max=180))


class CheckinOutSchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    elevator_id = fields.Integer()
    case_id = fields.Integer(allow_none=True)
    place = fields.String(allow_none=True)
    method = fields.String(metadata={"description": "tag | qr | position | none"})
    proof = fields.String(metadata={"description": "what it proves: tag | qr | position | none"})
    distance_m = fields.Float(allow_none=True)
    far = fields.Boolean(metadata={"description": "the position was farther from the elevator than allowed"})


class TagSchema(Schema):
    id = fields.Integer(dump_only=True)
    elevator_id = fields.Integer(required=True, validate=ID)
    place = fields.String(required=True, validate=validate.OneOf(PLACES))
    uid = fields.String(required=True, validate=validate.Length(min=8, max=40))
    code = fields.String(
        validate=validate.Length(max=16), metadata={"description": "printed code; made up when left out"}
    )
    replace = fields.Boolean(
        load_only=True, load_default=False, metadata={"description": "retire the active tag at that place"}
    )
    active = fields.Boolean(dump_only=True)
    registered_at = fields.DateTime(dump_only=True)
    retired_at = fields.DateTime(dump_only=True, allow_none=True)
    qr_url = fields.Method("_qr_url", dump_only=True, metadata={"description": "what the tag's QR code encodes"})

    def _qr_url(self, tag: CheckinTag) -> str:
        return f"{context.system().settings.public_base_url}/console/checkin?code={tag.code}"


class TagArgs(Schema):
    elevator_id = fields.Integer(required=True, validate=ID)


class UnprovenArgs(Schema):
    days = fields.Integer(load_default=30, validate=validate.Range(min=1, max=366))


@blp.route("/checkins")
class CheckinsView(MethodView):
    @auth.require_roles(*TECHNICIANS)
    @blp.arguments(CheckinSchema)
    @blp.response(201, CheckinOutSchema)
    @blp.alt_response(422, description="unknown, retired or another elevator's tag; no elevator named")
    def post(self, body: dict[str, Any]) -> CheckIn:
        """Check in at an elevator: `uid` (read by NFC) or `code` (the tag's QR code, scanned or
        typed), and the elevator you expect (a tag of another elevator is refused); or only
        `elevator_id` with your position. With `case_id` the check-in goes on the case's timeline."""
        context.end_reads()
        try:
            return check_in(context.system(), context.scope(), **body)
        except CheckinRefused as err:
            abort(422, message=str(err), errors=err.errors)


@blp.route("/checkin-tags")
class TagsView(MethodView):
    @auth.require_roles(Role.ADMIN)
    @blp.arguments(TagArgs, location="query")
    @blp.response(200, TagSchema(many=True))
    def get(self, args: dict[str, Any]) -> list[CheckinTag]:
        """An elevator's tags, retired ones too."""
        return tags.of_elevator(context.db(), args["elevator_id"])

    @auth.require_roles(Role.ADMIN)
    @blp.arguments(TagSchema)
    @blp.response(201, TagSchema)
    def post(self, body: dict[str, Any]) -> CheckinTag:
        """Register a tag at a place (car, pit, machine_room); `replace` retires the one there."""
        try:
            return write_or_conflict(lambda: tag_admin.register_tag(context.db(), body, **who_and_when()))
        except TagError as err:
            context.db().rollback()
            abort(422, message=str(err), errors=err.errors)


@blp.route("/checkin-tags/<int:tag_id>/retire")
class TagRetireView(MethodView):
    @auth.require_roles(Role.ADMIN)
    @blp.response(200, TagSchema)
    def post(self, tag_id: int) -> CheckinTag:
        """Retire a tag (lost, broken, moved): check-ins with it are refused from now on."""
        db = context.db()
        tag = db.get(CheckinTag, tag_id) or abort(404, message="no such tag")
        return write_or_conflict(lambda: tag_admin.retire_tag(db, tag, **who_and_when()))


@blp.route("/checkin-tags/import")
class TagImportView(MethodView):
    @auth.require_roles(Role.ADMIN)
    @blp.response(200)
    def post(self) -> Any:
        """Tags from CSV or XLSX (multipart `file`; columns register_code, place, uid, code): valid
        rows registered, each invalid row reported with its messages per column."""
        upload = request.files.get("file")
        if upload is None:
            abort(422, message="send the file in the multipart field 'file'", errors={"file": ["required"]})
        filename = upload.filename or "tags.csv"
        try:
            rows = read_rows(
                upload.read(),
                filename,
                columns=TAG_COLUMNS,
                aliases=TAG_ALIASES,
                required=("register_code", "place", "uid"),
            )
        except (ImportFileError, UnicodeDecodeError) as err:
            abort(422, message=str(err), errors={"file": [str(err)]})
        report = write_or_conflict(
            lambda: tag_admin.import_tags(context.db(), rows, filename=filename, **who_and_when())
        )
        return {"rows": report.rows, "created": report.created, "errors": report.errors}


@blp.route("/arrivals/unproven")
class UnprovenArrivalsView(MethodView):
    @auth.require_roles(*OVERSIGHT)
    @blp.arguments(UnprovenArgs, location="query")
    @blp.response(200)
    def get(self, args: dict[str, Any]) -> Any:
        """Rescues in your scope, opened in the last `days`, whose technician reported arrival
        without a tag, code or nearby position (or from too far away)."""
        system = context.system()
        since = system.clock.now() - timedelta(days=args["days"])
        return checkins.unproven_arrivals(context.db(), context.scope(), since, system.settings.checkin_max_distance_m)
