"""Elevators (everyone, within scope: list, detail, risk, history; admins register and change them)
and the IoT boxes bound to them (admins)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate, validates
from sqlalchemy import func, or_, select

from detectors.risk.service import risk_of
from engine.models import Case, CaseStatus
from processes import administration as admin
from processes import case_service as svc
from processes import elevator_facts, expiry_scan
from registry.codes import validate_register_code
from registry.models import Device, Elevator, Organisation, Role
from registry.places import PlaceCategory
from registry.scope import elevators_visible
from web.api.paging import PageArgs, paged
from web.api.registry_common import ID, check_refs, who_and_when, write_or_conflict
from web.http import auth, context

blp = Blueprint("elevators", __name__, description="Elevators: list, detail, risk, history; devices (admins)")


class ElevatorSchema(Schema):
    id = fields.Integer(dump_only=True)
    register_code = fields.String(required=True)
    qr_code = fields.String(dump_only=True)
    kind = fields.String(dump_only=True)
    address = fields.String(required=True, validate=validate.Length(min=2, max=200))
    district_code = fields.String(required=True, validate=validate.Length(max=12))
    lat = fields.Float(required=True, validate=validate.Range(min=20, max=45))
    lon = fields.Float(required=True, validate=validate.Range(min=95, max=125))
    floors = fields.Integer(load_default=6, validate=validate.Range(min=2, max=200))
    installed_on = fields.Date(allow_none=True)
    use_unit_id = fields.Integer(required=True, validate=ID)
    maintenance_unit_id = fields.Integer(required=True, validate=ID)
    next_inspection_due = fields.Date(allow_none=True)
    last_maintenance_at = fields.DateTime(dump_only=True, allow_none=True)
    device_id = fields.String(dump_only=True, allow_none=True)
    stop_use = fields.Boolean(dump_only=True)
    manufacturer_id = fields.Integer(
        allow_none=True, validate=ID, metadata={"description": "a `manufacturer` organisation"}
    )
    model = fields.String(allow_none=True, validate=validate.Length(max=60))
    factory_number = fields.String(
        allow_none=True, validate=validate.Length(max=40), metadata={"description": "出厂编号"}
    )
    installer_id = fields.Integer(allow_none=True, validate=ID, metadata={"description": "an `installer` organisation"})
    use_certificate_no = fields.String(
        allow_none=True, validate=validate.Length(max=40), metadata={"description": "使用登记证编号"}
    )
    place_category = fields.String(allow_none=True, validate=validate.OneOf([c.value for c in PlaceCategory]))
    key_place = fields.Boolean(
        metadata={
            "description": "重点场所; when not sent, follows the place category (school, hospital, station, mall, "
            "elderly home)"
        }
    )
    rated_load_kg = fields.Integer(allow_none=True, validate=validate.Range(min=100, max=20_000))
    rated_speed = fields.Float(
        allow_none=True, validate=validate.Range(min=0.1, max=10), metadata={"description": "m/s"}
    )

    @validates("register_code")
    def _code(self, value: str, **_: Any) -> None:
        problems = validate_register_code(value, context.system().settings.city_profile.province_prefix)
        if problems:
            raise ValidationError(problems)


class ElevatorPatchSchema(ElevatorSchema):
    class Meta:
        exclude = ("register_code",)


class ElevatorDetailSchema(ElevatorSchema):
    use_unit = fields.String(attribute="_use_unit")
    maintenance_unit = fields.String(attribute="_maintenance_unit")
    maintenance_phone = fields.String(attribute="_maintenance_phone", allow_none=True)
    manufacturer = fields.String(attribute="_manufacturer", allow_none=True)
    installer = fields.String(attribute="_installer", allow_none=True)
    open_cases = fields.Integer(attribute="_open_cases")
    cases_total = fields.Integer(attribute="_cases_total")


class ElevatorArgs(PageArgs):
    district = fields.String(validate=validate.Length(max=12))
    q = fields.String(validate=validate.Length(max=60), metadata={"description": "register code or address contains"})
    has_device = fields.Boolean()
    maintenance_unit_id = fields.Integer(validate=ID)
    use_unit_id = fields.Integer(validate=ID)
    place_category = fields.String(validate=validate.OneOf([c.value for c in PlaceCategory]))
    key_place = fields.Boolean()


class DeviceSchema(Schema):
    id = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{3,40}$"))
    elevator_id = fields.Integer(allow_none=True, validate=ID)
    model = fields.String(load_default="", validate=validate.Length(max=60))
    online = fields.Boolean(dump_only=True)
    last_seen_at = fields.DateTime(dump_only=True, allow_none=True)


# -- elevators -----------------------------------------------------------------------------------


@blp.route("/elevators")
class ElevatorsView(MethodView):
    @blp.arguments(ElevatorArgs, location="query")
    @blp.response(200, ElevatorSchema(many=True))
    @blp.paginate()
    def get(self, args: dict[str, Any], pagination_parameters: Any) -> list[Elevator]:
        """Elevators in my scope."""
        stmt = select(Elevator).where(elevators_visible(context.scope()))
        if args.get("district"):
            stmt = stmt.where(Elevator.district_code == args["district"])
        if args.get("q"):
            like = f"%{args['q']}%"
            stmt = stmt.where(or_(Elevator.register_code.like(like), Elevator.address.like(like)))
        if args.get("has_device") is not None:
            stmt = stmt.where(Elevator.device_id.is_not(None) if args["has_device"] else Elevator.device_id.is_(None))
        for key in ("maintenance_unit_id", "use_unit_id", "place_category"):
            if args.get(key):
                stmt = stmt.where(getattr(Elevator, key) == args[key])
        if args.get("key_place") is not None:
            stmt = stmt.where(Elevator.key_place.is_(args["key_place"]))
        return paged(stmt, pagination_parameters, Elevator.id)

    @auth.require_roles(Role.ADMIN)
    @blp.arguments(ElevatorSchema)
    @blp.response(201, ElevatorSchema)
    def post(self, body: dict[str, Any]) -> Elevator:
        """Register an elevator (admins); the register code is checked, the QR code derived from it."""
        check_refs(body)
        return write_or_conflict(lambda: admin.register_elevator(context.db(), body, **who_and_when()))


@blp.route("/elevators/<int:elevator_id>")
class ElevatorView(MethodView):
    @blp.response(200, ElevatorDetailSchema)
    def get(self, elevator_id: int) -> Elevator:
        """One elevator with its units and case counts."""
        db = context.db()
        elevator = svc.visible_elevator(db, context.scope(), elevator_id)
        use_unit = db.get(Organisation, elevator.use_unit_id)
        unit = db.get(Organisation, elevator.maintenance_unit_id)
        elevator._use_unit = use_unit.name if use_unit else ""
        elevator._maintenance_unit = unit.name if unit else ""
        elevator._maintenance_phone = unit.phone if unit else None
        for attr, org_id in (("_manufacturer", elevator.manufacturer_id), ("_installer", elevator.installer_id)):
            org = db.get(Organisation, org_id) if org_id else None
            setattr(elevator, attr, org.name if org else None)
        counts = db.execute(
            select(func.count(), func.count().filter(Case.status == CaseStatus.OPEN)).where(
                Case.elevator_id == elevator.id
            )
        ).one()
        elevator._cases_total, elevator._open_cases = int(counts[0]), int(counts[1])
        return elevator

    @auth.require_roles(Role.ADMIN)
    @blp.arguments(ElevatorPatchSchema(partial=True))
    @blp.response(200, ElevatorSchema)
    def patch(self, body: dict[str, Any], elevator_id: int) -> Elevator:
        check_refs(body)
        db = context.db()
        elevator = svc.visible_elevator(db, context.scope(), elevator_id)
        updated = write_or_conflict(lambda: admin.update_elevator(db, elevator, body, **who_and_when()))
        if "next_inspection_due" in body:
            expiry_scan.register_changed(context.system(), [elevator_id])  # an overtaken expiry case closes
        return updated


class RiskFactorSchema(Schema):
    factor = fields.String()
    name = fields.String(attribute="label")
    value = fields.Raw()
    contribution = fields.Float()


class RiskSchema(Schema):
    score = fields.Float()
    level = fields.String()
    scored_at = fields.DateTime()
    model_version = fields.String()
    factors = fields.List(fields.Nested(RiskFactorSchema))


class HistorySchema(Schema):
    maintenance = fields.List(fields.Dict())
    inspections = fields.List(fields.Dict())


@blp.route("/elevators/<int:elevator_id>/risk")
class ElevatorRiskView(MethodView):
    @blp.response(200, RiskSchema)
    def get(self, elevator_id: int) -> Any:
        """The elevator's latest risk score (0-100), level and the factors that weigh most."""
        db = context.db()
        svc.visible_elevator(db, context.scope(), elevator_id)
        risk = risk_of(db, elevator_id)
        if risk is None:
            abort(404, message="no risk score yet for this elevator (scored nightly, or `liftcase risk score`)")
        return risk


@blp.route("/elevators/<int:elevator_id>/history")
class ElevatorHistoryView(MethodView):
    @blp.response(200, HistorySchema)
    def get(self, elevator_id: int) -> dict[str, Any]:
        """Maintenance records and inspection results, newest first."""
        db = context.db()
        svc.visible_elevator(db, context.scope(), elevator_id)
        return elevator_facts.history(db, elevator_id)


# -- devices -------------------------------------------------------------------------------------


@blp.route("/devices")
class DevicesView(MethodView):
    @auth.require_roles(Role.ADMIN)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, DeviceSchema(many=True))
    @blp.paginate()
    def get(self, _args: dict[str, Any], pagination_parameters: Any) -> list[Device]:
        return paged(select(Device), pagination_parameters, Device.id)

    @auth.require_roles(Role.ADMIN)
    @blp.arguments(DeviceSchema)
    @blp.response(201, DeviceSchema)
    def post(self, body: dict[str, Any]) -> Device:
        """Register an IoT box, optionally bound to an elevator (one box per elevator)."""
        check_refs(body)
        db = context.db()
        if db.get(Device, body["id"]) is not None:
            abort(409, message=f"device {body['id']} is already registered")
        elevator = db.get(Elevator, body["elevator_id"]) if body.get("elevator_id") else None
        if elevator is not None and elevator.device_id:
            abort(409, message=f"elevator {elevator.id} already has device {elevator.device_id}")
        return write_or_conflict(lambda: admin.register_device(db, body, elevator, **who_and_when()))
