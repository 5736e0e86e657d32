"""Elevators (everyone, within scope) and administration: organisations, users, devices,
elevator bulk import (admins)."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate, validates
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from detectors.risk.service import risk_of
from engine.models import Case, CaseStatus
from processes import case_service as svc
from processes import elevator_facts
from registry.accounts import sessions
from registry.accounts.service import hash_password
from registry.codes import KIND_BY_CATEGORY, make_qr_code, validate_register_code
from registry.importing import ImportFileError, import_elevators, read_rows
from registry.models import Device, District, Elevator, Organisation, OrgKind, Role, User
from registry.scope import elevators_visible
from web.api.paging import PageArgs, paged
from web.http import auth, context

blp = Blueprint("registry", __name__, description="Elevators, organisations, users and devices")
ID = validate.Range(min=1, max=2**31 - 1)


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

    @validates("register_code")
    def _code(self, value: str, **_: Any) -> None:
        problems = validate_register_code(value)
        if problems:
            raise ValidationError(problems)


class ElevatorPatchSchema(ElevatorSchema):
    class Meta:
        exclude = ("register_code",)


class ElevatorDetailSchema(ElevatorSchema):
    use_unit = fields.String(attribute="_use_unit")
    maintenance_unit = fields.String(attribute="_maintenance_unit")
    maintenance_phone = fields.String(attribute="_maintenance_phone", allow_none=True)
    open_cases = fields.Integer(attribute="_open_cases")
    cases_total = fields.Integer(attribute="_cases_total")


class ElevatorArgs(PageArgs):
    district = fields.String(validate=validate.Length(max=12))
    q = fields.String(validate=validate.Length(max=60), metadata={"description": "register code or address contains"})
    has_device = fields.Boolean()
    maintenance_unit_id = fields.Integer(validate=ID)
    use_unit_id = fields.Integer(validate=ID)


class OrganisationSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=validate.Length(min=2, max=40))
    name = fields.String(required=True, validate=validate.Length(min=2, max=120))
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in OrgKind]))
    district_code = fields.String(allow_none=True, validate=validate.Length(max=12))
    phone = fields.String(allow_none=True, validate=validate.Regexp(r"^[0-9+\-]{3,30}$"))
    lat = fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90))
    lon = fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180))


class OrganisationPatchSchema(OrganisationSchema):
    """Any subset of an organisation's fields (used with partial=True)."""


class UserSchema(Schema):
    id = fields.Integer(dump_only=True)
    username = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{2,60}$"))
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    roles = fields.List(
        fields.String(validate=validate.OneOf([r.value for r in Role])), required=True, validate=validate.Length(min=1)
    )
    organisation_id = fields.Integer(required=True, validate=ID)
    phone = fields.String(allow_none=True, validate=validate.Regexp(r"^[0-9+\-]{5,30}$"))
    email = fields.Email(allow_none=True)
    on_call = fields.Boolean(load_default=False)
    active = fields.Boolean(load_default=True)
    password = fields.String(load_only=True, validate=validate.Length(min=10, max=200))


class UserPatchSchema(UserSchema):
    class Meta:
        exclude = ("username",)


class ColleagueSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    roles = fields.List(fields.String())
    on_call = fields.Boolean()


class DeviceSchema(Schema):
    id = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_-]{3,40}$"))
    elevator_id = fields.Integer(allow_none=True, validate=ID)
    model = fields.String(load_default="", validate=validate.Length(max=60))
    online = fields.Boolean(dump_only=True)
    last_seen_at = fields.DateTime(dump_only=True, allow_none=True)


class ImportArgs(Schema):
    dry_run = fields.Boolean(load_default=False)


class ImportReportSchema(Schema):
    rows = fields.Integer()
    valid_rows = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()
    errors = fields.List(fields.Dict())


def _integrity(err: IntegrityError) -> None:
    context.db().rollback()
    abort(409, message="that would duplicate an existing record (code, username or device id already in use)")


def _check_refs(body: dict[str, Any]) -> None:
    db = context.db()
    errors: dict[str, list[str]] = {}
    if "district_code" in body and body["district_code"] and db.get(District, body["district_code"]) is None:
        errors["district_code"] = [f"unknown district {body['district_code']}"]
    for key, kind in (
        ("use_unit_id", OrgKind.USE_UNIT),
        ("maintenance_unit_id", OrgKind.MAINTENANCE_UNIT),
        ("organisation_id", None),
    ):
        if key in body:
            org = db.get(Organisation, body[key])
            if org is None or (kind is not None and org.kind != kind):
                errors[key] = [f"no {kind or 'organisation'} with id {body[key]}"]
    if "elevator_id" in body and body["elevator_id"] and db.get(Elevator, body["elevator_id"]) is None:
        errors["elevator_id"] = [f"no elevator with id {body['elevator_id']}"]
    if errors:
        abort(422, message="unknown references", errors=errors)


# -- elevators ------------------------------------------------------------------------------------


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
        for key in ("maintenance_unit_id", "use_unit_id"):
            if args.get(key):
                stmt = stmt.where(getattr(Elevator, key) == args[key])
        return paged(stmt, pagination_parameters, Elevator.id)

    @auth.require_roles(Role.ADMIN)
    @blp.arguments(ElevatorSchema)
    @blp.response(201, ElevatorSchema)
    def post(self, body: dict[str, Any]) -> Elevator:
        """Register an elevator (admins); the register code is checked, the QR code derived from it."""
        _check_refs(body)
        db = context.db()
        elevator = Elevator(
            qr_code=make_qr_code(body["register_code"]),
            kind=KIND_BY_CATEGORY.get(body["register_code"][:4], "traction"),
            **body,
        )
        db.add(elevator)
        try:
            db.commit()
        except IntegrityError as err:
            _integrity(err)
        return elevator


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
        _check_refs(body)
        db = context.db()
        elevator = svc.visible_elevator(db, context.scope(), elevator_id)
        for key, value in body.items():
            setattr(elevator, key, value)
        db.commit()
        return elevator


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
        try:
            rows = read_rows(upload.read(), upload.filename or "upload.csv")
        except (ImportFileError, UnicodeDecodeError) as err:
            abort(422, message=str(err), errors={"file": [str(err)]})
        db = context.db()
        report = import_elevators(db, rows, dry_run=args["dry_run"])
        try:
            db.commit()
        except IntegrityError as err:
            _integrity(err)
        return report


# -- organisations, users, devices ------------------------------------------------------------------


@blp.route("/organisations")
class OrganisationsView(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, OrganisationSchema(many=True))
    @blp.paginate()
    def get(self, _args: dict[str, Any], pagination_parameters: Any) -> list[Organisation]:
        """Admins and city-wide users see every organisation; others their own and those of their district."""
        scope = context.scope()
        stmt = select(Organisation)
        if not (scope.city_wide or scope.has(Role.ADMIN)):
            stmt = stmt.where(
                or_(Organisation.id == scope.organisation_id, Organisation.district_code == scope.district_code)
            )
        return paged(stmt, pagination_parameters, Organisation.id)

    @auth.require_roles(Role.ADMIN)
    @blp.arguments(OrganisationSchema)
    @blp.response(201, OrganisationSchema)
    def post(self, body: dict[str, Any]) -> Organisation:
        _check_refs(body)
        db = context.db()
        org = Organisation(**body)
        db.add(org)
        try:
            db.commit()
        except IntegrityError as err:
            _integrity(err)
        return org


@blp.route("/organisations/<int:org_id>")
class OrganisationView(MethodView):
    @auth.require_roles(Role.ADMIN)
    @blp.arguments(OrganisationPatchSchema(partial=True))
    @blp.response(200, OrganisationSchema)
    def patch(self, body: dict[str, Any], org_id: int) -> Organisation:
        _check_refs(body)
        db = context.db()
        org = db.get(Organisation, org_id)
        if org is None:
            abort(404, message="no such organisation")
        for key, value in body.items():
            setattr(org, key, value)
        try:
            db.commit()
        except IntegrityError as err:
            _integrity(err)
        return org


@blp.route("/organisations/mine/users")
class ColleaguesView(MethodView):
    @blp.response(200, ColleagueSchema(many=True))
    def get(self) -> list[User]:
        """The active people of my organisation (to hand a task to)."""
        scope = context.scope()
        return list(
            context.db().scalars(
                select(User)
                .where(User.organisation_id == scope.organisation_id, User.active.is_(True))
                .order_by(User.id)
            )
        )


@blp.route("/users")
class UsersView(MethodView):
    @auth.require_roles(Role.ADMIN)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, UserSchema(many=True))
    @blp.paginate()
    def get(self, _args: dict[str, Any], pagination_parameters: Any) -> list[User]:
        return paged(select(User), pagination_parameters, User.id)

    @auth.require_roles(Role.ADMIN)
    @blp.arguments(UserSchema)
    @blp.response(201, UserSchema)
    def post(self, body: dict[str, Any]) -> User:
        """Create a user; the password is stored hashed."""
        _check_refs(body)
        password = body.pop("password", None)
        db = context.db()
        user = User(password_hash=hash_password(password) if password else None, **body)
        db.add(user)
        try:
            db.commit()
        except IntegrityError as err:
            _integrity(err)
        return user


@blp.route("/users/<int:user_id>")
class UserView(MethodView):
    @auth.require_roles(Role.ADMIN)
    @blp.arguments(UserPatchSchema(partial=True))
    @blp.response(200, UserSchema)
    def patch(self, body: dict[str, Any], user_id: int) -> User:
        """Change roles, organisation, contact, duty, or reset the password; `active=false` disables."""
        _check_refs(body)
        db = context.db()
        user = db.get(User, user_id)
        if user is None:
            abort(404, message="no such user")
        revoked = sessions.revoking_change(user, body)
        if "password" in body:
            user.password_hash = hash_password(body.pop("password"))
        for key, value in body.items():
            setattr(user, key, value)
        if revoked is not None:  # signed out everywhere, at once: sessions are checked on every request
            sessions.end_all(db, user.id, reason=revoked, now=context.system().clock.now())
        db.commit()
        return user


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
        _check_refs(body)
        db = context.db()
        if db.get(Device, body["id"]) is not None:
            abort(409, message=f"device {body['id']} is already registered")
        elevator = db.get(Elevator, body["elevator_id"]) if body.get("elevator_id") else None
        if elevator is not None and elevator.device_id:
            abort(409, message=f"elevator {elevator.id} already has device {elevator.device_id}")
        db.add(Device(**body))
        if elevator is not None:
            elevator.device_id = body["id"]
        try:
            db.commit()
        except IntegrityError as err:
            _integrity(err)
        return db.get(Device, body["id"])
