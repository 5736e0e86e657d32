"""The register of special equipment other than elevators (everyone within scope reads; admins add,
edit, retire and import), the classes with their attribute schemas, and the figures and map points
of the special-equipment screen."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from infra.errors import NotFound
from infra.settings import CITY_TZ
from processes import equipment as flows
from processes import expiry_scan
from registry.equipment.classes import CLASSES
from registry.equipment.figures import equipment_figures
from registry.equipment.importing import read_equipment_rows
from registry.equipment.models import Equipment, EquipmentStatus
from registry.equipment.service import listing, record_errors
from registry.importing import ImportFileError
from registry.models import Role
from registry.places import PlaceCategory
from registry.scope import equipment_visible
from web.api.elevator_import import ImportArgs, ImportReportSchema
from web.api.paging import PageArgs, paged
from web.api.registry_common import ID, who_and_when, write_or_conflict
from web.http import auth, context

blp = Blueprint(
    "equipment", __name__, description="Special equipment other than elevators: the register and its figures"
)
MAP_LIMIT = 5000


class EquipmentSchema(Schema):
    id = fields.Integer(dump_only=True)
    equipment_class = fields.String(required=True, validate=validate.OneOf(list(CLASSES)))
    register_code = fields.String(required=True, validate=validate.Length(min=4, max=32))
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    address = fields.String(required=True, validate=validate.Length(min=2, max=200))
    district_code = fields.String(required=True, validate=validate.Length(max=12))
    lat = fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90))
    lon = fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180))
    use_unit_id = fields.Integer(required=True, validate=ID)
    maintenance_unit_id = fields.Integer(allow_none=True, validate=ID)
    manufacturer_id = fields.Integer(allow_none=True, validate=ID)
    installer_id = fields.Integer(allow_none=True, validate=ID)
    model = fields.String(allow_none=True, validate=validate.Length(max=60))
    factory_number = fields.String(allow_none=True, validate=validate.Length(max=40))
    use_certificate_no = fields.String(allow_none=True, validate=validate.Length(max=40))
    place_category = fields.String(allow_none=True, validate=validate.OneOf([c.value for c in PlaceCategory]))
    key_place = fields.Boolean(metadata={"description": "重点场所; when not sent, follows the place category"})
    installed_on = fields.Date(allow_none=True)
    attributes = fields.Dict(
        load_default=dict, metadata={"description": "the class's attributes (GET /equipment-classes has each schema)"}
    )
    inspection_cycle_months = fields.Integer(
        validate=validate.Range(min=1, max=120), metadata={"description": "default: the class's (TSG) cycle"}
    )
    last_inspected_on = fields.Date(allow_none=True)
    next_inspection_due = fields.Date(allow_none=True, metadata={"description": "default: last inspection + cycle"})
    status = fields.String(
        validate=validate.OneOf([EquipmentStatus.IN_USE, EquipmentStatus.STOPPED]),
        metadata={"description": "in_use or stopped; retire through POST /equipment/{id}/retire"},
    )
    retired_at = fields.DateTime(dump_only=True, allow_none=True)
    retired_reason = fields.String(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class EquipmentPatchSchema(EquipmentSchema):
    class Meta:
        exclude = ("register_code", "equipment_class")


class EquipmentArgs(PageArgs):
    equipment_class = fields.String(validate=validate.OneOf(list(CLASSES)))
    district = fields.String(validate=validate.Length(max=12))
    status = fields.String(validate=validate.OneOf([s.value for s in EquipmentStatus]))
    place_category = fields.String(validate=validate.OneOf([c.value for c in PlaceCategory]))
    key_place = fields.Boolean()
    use_unit_id = fields.Integer(validate=ID)
    q = fields.String(validate=validate.Length(max=60), metadata={"description": "code, name or address contains"})
    due_within_days = fields.Integer(
        validate=validate.Range(min=0, max=3650), metadata={"description": "next inspection due by then (expired too)"}
    )


class RetireSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=2, max=200))


class ClassSchema(Schema):
    key = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    cycle_months = fields.Integer()
    attributes = fields.Dict(metadata={"description": "JSON Schema of the class's attributes"})


class ClassFiguresSchema(Schema):
    equipment_class = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    total = fields.Integer(metadata={"description": "not retired"})
    in_use = fields.Integer()
    stopped = fields.Integer()
    retired = fields.Integer()
    expired = fields.Integer(metadata={"description": "past the next inspection date"})
    due_30 = fields.Integer()
    due_60 = fields.Integer()


class CategoryCoverageSchema(Schema):
    place_category = fields.String(allow_none=True)
    label_zh = fields.String()
    key_place = fields.Boolean()
    elevators = fields.Integer()
    key_place_elevators = fields.Integer()
    with_box = fields.Integer()
    ratio = fields.Float(allow_none=True)


class KeyPlaceCoverageSchema(Schema):
    elevators = fields.Integer()
    with_box = fields.Integer()
    ratio = fields.Float(allow_none=True)


class CoverageSchema(Schema):
    elevators = fields.Integer()
    with_box = fields.Integer()
    boxes_per_elevator = fields.Float(allow_none=True)
    key_places = fields.Nested(KeyPlaceCoverageSchema)
    by_place_category = fields.List(fields.Nested(CategoryCoverageSchema))


class DistrictFiguresSchema(Schema):
    equipment_class = fields.String()
    district_code = fields.String()
    total = fields.Integer(metadata={"description": "not retired"})
    expired = fields.Integer()
    due_30 = fields.Integer()


class FiguresSchema(Schema):
    today = fields.String()
    classes = fields.List(fields.Nested(ClassFiguresSchema))
    by_district = fields.List(
        fields.Nested(DistrictFiguresSchema), metadata={"description": "per class and district; adds up to classes"}
    )
    coverage = fields.Nested(CoverageSchema)


class MapPointSchema(Schema):
    id = fields.Integer()
    equipment_class = fields.String()
    name = fields.String()
    lat = fields.Float()
    lon = fields.Float()
    status = fields.String()
    key_place = fields.Boolean()
    next_inspection_due = fields.String(allow_none=True)
    expired = fields.Boolean()


class MapArgs(Schema):
    equipment_class = fields.String(validate=validate.OneOf(list(CLASSES)))


def _today() -> date:
    return context.system().clock.now().astimezone(CITY_TZ).date()


def _prefix() -> str:
    return context.system().settings.city_profile.province_prefix


def _visible(equipment_id: int) -> Equipment:
    row = context.db().scalar(select(Equipment).where(Equipment.id == equipment_id, equipment_visible(context.scope())))
    if row is None:
        raise NotFound(f"equipment {equipment_id} not found")
    return row


def _check(body: dict[str, Any], current: Equipment | None = None) -> None:
    errors = record_errors(context.db(), body, province_prefix=_prefix(), current=current)
    if errors:
        abort(422, message="the record is refused", errors=errors)


@blp.route("/equipment-classes")
class ClassesView(MethodView):
    @blp.response(200, ClassSchema(many=True))
    def get(self) -> list[Any]:
        """The seven classes with their attributes (JSON Schema) and default inspection cycle."""
        return list(CLASSES.values())


@blp.route("/equipment")
class EquipmentListView(MethodView):
    @blp.arguments(EquipmentArgs, location="query")
    @blp.response(200, EquipmentSchema(many=True))
    @blp.paginate()
    def get(self, args: dict[str, Any], pagination_parameters: Any) -> list[Equipment]:
        """Special equipment in my scope (retired records too; filter `status`)."""
        return paged(listing(context.scope(), args, _today()), pagination_parameters, Equipment.id)

    @auth.require_roles(Role.ADMIN)
    @blp.arguments(EquipmentSchema)
    @blp.response(201, EquipmentSchema)
    def post(self, body: dict[str, Any]) -> Equipment:
        """Register a piece of equipment; its attributes are checked against its class's schema, the
        cycle and next due date follow from the class and the last inspection unless given."""
        _check(body)
        return write_or_conflict(lambda: flows.add_equipment(context.db(), body, **who_and_when()))


@blp.route("/equipment/<int:equipment_id>")
class EquipmentView(MethodView):
    @blp.response(200, EquipmentSchema)
    def get(self, equipment_id: int) -> Equipment:
        return _visible(equipment_id)

    @auth.require_roles(Role.ADMIN)
    @blp.arguments(EquipmentPatchSchema(partial=True))
    @blp.response(200, EquipmentSchema)
    def patch(self, body: dict[str, Any], equipment_id: int) -> Equipment:
        """Change the record (a retired one answers 409: it is kept as it was)."""
        row = _visible(equipment_id)
        _check(body, row)
        updated = write_or_conflict(lambda: flows.edit_equipment(context.db(), row, body, **who_and_when()))
        if {"next_inspection_due", "last_inspected_on"} & body.keys():
            # an overtaken expiry case closes now, not at the next scan
            expiry_scan.register_changed(context.system(), equipment_ids=[equipment_id])
        return updated


@blp.route("/equipment/<int:equipment_id>/retire")
class RetireView(MethodView):
    @auth.require_roles(Role.ADMIN)
    @blp.arguments(RetireSchema)
    @blp.response(200, EquipmentSchema)
    def post(self, body: dict[str, Any], equipment_id: int) -> Equipment:
        """Retire (报废/注销) with a reason: never deleted, it leaves the counts and the expiry scan."""
        row = _visible(equipment_id)
        retired = write_or_conflict(
            lambda: flows.retire_equipment(context.db(), row, reason=body["reason"], **who_and_when())
        )
        expiry_scan.equipment_retired(context.system(), equipment_id, context.scope().username)  # nothing to inspect
        return retired


@blp.route("/equipment/import")
class EquipmentImportView(MethodView):
    @auth.require_roles(Role.ADMIN)
    @blp.arguments(ImportArgs, location="query")
    @blp.response(200, ImportReportSchema)
    @blp.alt_response(422, description="the file cannot be read (type, header, missing columns)")
    def post(self, args: dict[str, Any]) -> Any:
        """Bulk import from CSV or XLSX (multipart field `file`), inserted or updated by register code;
        attributes in columns `attr.<name>`. Every invalid row is reported with its messages per column."""
        upload = request.files.get("file")
        if upload is None:
            abort(422, message="send the file in the multipart field 'file'", errors={"file": ["required"]})
        filename = upload.filename or "upload.csv"
        try:
            rows = read_equipment_rows(upload.read(), filename)
        except (ImportFileError, UnicodeDecodeError) as err:
            abort(422, message=str(err), errors={"file": [str(err)]})
        return write_or_conflict(
            lambda: flows.import_equipment_rows(
                context.db(),
                rows,
                dry_run=args["dry_run"],
                filename=filename,
                province_prefix=_prefix(),
                **who_and_when(),
            )
        )


@blp.route("/equipment/figures")
class FiguresView(MethodView):
    @blp.response(200, FiguresSchema)
    def get(self) -> dict[str, Any]:
        """For the special-equipment screen, in my scope: per class (elevators first) the counts by status
        and the expiries (past due, due within 30 and 60 days); coverage: IoT boxes per elevator, per
        place category and at key places."""
        return equipment_figures(context.db(), context.scope(), _today())


@blp.route("/equipment/map")
class MapView(MethodView):
    @blp.arguments(MapArgs, location="query")
    @blp.response(200, MapPointSchema(many=True))
    def get(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        """Points of the equipment in my scope (not retired, with a position) for a map layer per class."""
        today = _today()
        stmt = select(Equipment).where(
            equipment_visible(context.scope()),
            Equipment.status != EquipmentStatus.RETIRED,
            Equipment.lat.is_not(None),
            Equipment.lon.is_not(None),
        )
        if args.get("equipment_class"):
            stmt = stmt.where(Equipment.equipment_class == args["equipment_class"])
        rows = context.db().scalars(stmt.order_by(Equipment.id).limit(MAP_LIMIT))
        return [
            {
                "id": e.id,
                "equipment_class": e.equipment_class,
                "name": e.name,
                "lat": e.lat,
                "lon": e.lon,
                "status": e.status,
                "key_place": e.key_place,
                "next_inspection_due": e.next_inspection_due.isoformat() if e.next_inspection_due else None,
                "expired": bool(e.next_inspection_due and e.next_inspection_due < today),
            }
            for e in rows
        ]
