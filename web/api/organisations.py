"""Organisations (within scope), my colleagues, and user administration (admins)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from sqlalchemy import or_, select

from processes import administration as admin
from registry.models import Organisation, OrgKind, Role, User
from web.api.paging import PageArgs, paged
from web.api.registry_common import ID, check_refs, who_and_when, write_or_conflict
from web.http import auth, context

blp = Blueprint("organisations", __name__, description="Organisations, colleagues and users")


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
        check_refs(body)
        return write_or_conflict(lambda: admin.create_organisation(context.db(), body, **who_and_when()))


@blp.route("/organisations/<int:org_id>")
class OrganisationView(MethodView):
    @auth.require_roles(Role.ADMIN)
    @blp.arguments(OrganisationPatchSchema(partial=True))
    @blp.response(200, OrganisationSchema)
    def patch(self, body: dict[str, Any], org_id: int) -> Organisation:
        check_refs(body)
        db = context.db()
        org = db.get(Organisation, org_id)
        if org is None:
            abort(404, message="no such organisation")
        return write_or_conflict(lambda: admin.update_organisation(db, org, body, **who_and_when()))


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
        check_refs(body)
        password = body.pop("password", None)
        return write_or_conflict(lambda: admin.create_user(context.db(), body, password=password, **who_and_when()))


@blp.route("/users/<int:user_id>")
class UserView(MethodView):
    @auth.require_roles(Role.ADMIN)
    @blp.arguments(UserPatchSchema(partial=True))
    @blp.response(200, UserSchema)
    def patch(self, body: dict[str, Any], user_id: int) -> User:
        """Change roles, organisation, contact, duty, or reset the password; `active=false` disables.
        409 when it would disable or demote yourself, or the last active admin."""
        check_refs(body)
        db = context.db()
        user = db.get(User, user_id)
        if user is None:
            abort(404, message="no such user")
        password = body.pop("password", None)
        actor_id = context.scope().user_id
        write_or_conflict(
            lambda: admin.update_user(db, user, body, password=password, actor_id=actor_id, **who_and_when())
        )
        return user
