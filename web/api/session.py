"""Sign-in, sign-out, who am I, sessions, personal API tokens, the sign-in trail."""

from __future__ import annotations

import math
from datetime import UTC, timedelta
from typing import Any

from flask import g, jsonify, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from connectors.sso.flows import end_session_url
from infra.settings import Settings
from registry.accounts import service, sessions, throttle
from registry.accounts.models import ApiToken, SignInEvent, UserSession
from registry.models import Organisation, Role, User
from registry.scope import Scope
from web.api.paging import PageArgs, paged
from web.http import auth, context

blp = Blueprint("session", __name__, description="Sign-in, sign-out and personal API tokens")


class CredentialsSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=60))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200), load_only=True)


class MeSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    roles = fields.List(fields.String())
    organisation_id = fields.Integer(allow_none=True)
    organisation_kind = fields.String(allow_none=True)
    district_code = fields.String(allow_none=True)
    csrf_token = fields.String(allow_none=True)


class SignOutSchema(Schema):
    end_session_url = fields.String(metadata={"description": "the city platform's sign-out page for this browser"})


class TokenRequestSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    expires_at = fields.AwareDateTime(
        load_default=None, allow_none=True, default_timezone=UTC,
        metadata={"description": "the token answers 401 from then on; none: until revoked"},
    )


class TokenSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    prefix = fields.String()
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    expires_at = fields.DateTime(allow_none=True)
    secret = fields.String(metadata={"description": "shown once, at creation"})


def _throttle(settings: Settings) -> throttle.Policy:
    return throttle.Policy(
        free_failures=settings.signin_free_failures,
        max_delay=timedelta(seconds=settings.signin_max_delay_seconds),
        memory=timedelta(hours=settings.signin_memory_hours),
    )


def _me(csrf: str | None = None) -> dict[str, Any]:
    user, scope = auth.current_user(), context.scope()
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "roles": sorted(scope.roles),
        "organisation_id": user.organisation_id,
        "organisation_kind": scope.organisation_kind,
        "district_code": scope.district_code,
        "csrf_token": csrf,
    }


@blp.route("/session")
class SessionView(MethodView):
    @auth.public
    @blp.arguments(CredentialsSchema)
    @blp.response(200, MeSchema)
    @blp.alt_response(401, description="wrong username or password")
    @blp.alt_response(429, description="repeated failures: wait Retry-After seconds (never a lock)")
    def post(self, credentials: dict[str, str]) -> dict[str, Any]:
        """Sign in with username and password; sets the session cookie and returns the CSRF token."""
        system = context.system()
        now = system.clock.now()
        with context.writer() as writes, writes.begin():
            result = service.sign_in(
                writes,
                credentials["username"],
                credentials["password"],
                now=now,
                policy=_throttle(system.settings),
                remote_addr=request.remote_addr,
                user_agent=request.user_agent.string,
            )
            csrf = auth.start_session(writes, result.user, now=now) if result.user is not None else None
        if result.user is None:
            if result.reason == "throttled":
                seconds = math.ceil(result.retry_after.total_seconds())
                abort(429, message=f"too many failed sign-ins; try again in {seconds} s",
                      headers={"Retry-After": str(seconds)})
            abort(401, message="wrong username or password")
        org = context.db().get(Organisation, result.user.organisation_id) if result.user.organisation_id else None
        g.user, g.scope = result.user, Scope.of(result.user, org)
        return _me(csrf)

    @blp.response(200, MeSchema)
    def get(self) -> dict[str, Any]:
        """The signed-in user, their roles and scope."""
        return _me(None if g.get("via_token") else auth.csrf_token())

    @blp.response(204)
    @blp.alt_response(200, schema=SignOutSchema, description="signed in through the city platform: end its session too")
    def delete(self) -> Any:
        """Sign out: this session ends on the server, so a copy of its cookie signs nobody in. A
        session started through the city platform (single sign-on) answers where to send the
        browser so that the platform's session ends as well."""
        system = context.system()
        now = system.clock.now()
        provider_url = end_session_url(context.db(), system.settings, auth.current_session_id())
        context.end_reads()
        with context.writer() as writes, writes.begin():
            service.record_sign_out(writes, auth.current_user(), now=now, remote_addr=request.remote_addr)
            auth.end_session(writes, reason="sign_out", now=now)
        if provider_url:
            return jsonify(end_session_url=provider_url)  # smorest passes a response through as it is
        return None


class SsoInfoSchema(Schema):
    enabled = fields.Boolean(metadata={"description": "single sign-on with the city platform is configured"})
    name_zh = fields.String(allow_none=True)
    name_en = fields.String(allow_none=True)
    signin_url = fields.String(
        allow_none=True,
        metadata={"description": "open it in the browser (add `?next=/console/...`); it comes back signed in"},
    )


@blp.route("/session/sso")
class SsoInfoView(MethodView):
    @auth.public
    @blp.response(200, SsoInfoSchema)
    def get(self) -> dict[str, Any]:
        """Whether staff can sign in through the city platform, and where that starts. The session it
        starts is the same as a password's: `GET /session` then answers the CSRF token."""
        config = context.system().settings.sso
        if config is None:
            return {"enabled": False, "name_zh": None, "name_en": None, "signin_url": None}
        return {"enabled": True, "name_zh": config.name_zh, "name_en": config.name_en,
                "signin_url": url_for("sso.signin")}


@blp.route("/tokens")
class TokensView(MethodView):
    @blp.response(200, TokenSchema(many=True))
    def get(self) -> list[ApiToken]:
        """My personal API tokens (without their secrets)."""
        return list(
            context.db().scalars(
                select(ApiToken).where(ApiToken.user_id == auth.current_user().id).order_by(ApiToken.id)
            )
        )

    @blp.arguments(TokenRequestSchema)
    @blp.response(201, TokenSchema)
    def post(self, body: dict[str, Any]) -> ApiToken:
        """Create a personal API token; its secret is in this answer only."""
        db, now = context.db(), context.system().clock.now()
        if body["expires_at"] is not None and body["expires_at"] <= now:
            abort(422, message="expires_at must be in the future", errors={"expires_at": ["must be in the future"]})
        token, secret = service.create_token(
            db, auth.current_user(), body["name"], now=now, expires_at=body["expires_at"]
        )
        db.commit()
        token.secret = secret  # type: ignore[attr-defined] - answered once, never stored
        return token


@blp.route("/tokens/<int:token_id>")
class TokenView(MethodView):
    @blp.response(204)
    def delete(self, token_id: int) -> None:
        """Revoke one of my tokens."""
        db = context.db()
        token = db.get(ApiToken, token_id)
        if token is None or token.user_id != auth.current_user().id:
            abort(404, message="no such token")
        token.revoked_at = context.system().clock.now()
        db.commit()


class SignInEventSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    user_id = fields.Integer(allow_none=True)
    kind = fields.String()
    success = fields.Boolean()
    remote_addr = fields.String(allow_none=True)
    user_agent = fields.String(allow_none=True)
    at = fields.DateTime()


class SignInFilterSchema(PageArgs):
    username = fields.String(validate=validate.Length(max=60))
    kind = fields.String(
        validate=validate.OneOf(["sign_in", "failed", "throttled", "locked", "sign_out", "token_created", "sso_sign_in",
                         "sso_refused"])
    )


@blp.route("/sign-ins")
class SignInsView(MethodView):
    @auth.require_roles(Role.ADMIN, Role.AUDITOR)
    @blp.arguments(SignInFilterSchema, location="query")
    @blp.response(200, SignInEventSchema(many=True))
    @blp.paginate()
    def get(self, args: dict[str, Any], pagination_parameters: Any) -> list[SignInEvent]:
        """The sign-in audit trail (admins and auditors), newest first."""
        stmt = select(SignInEvent)
        if args.get("username"):
            stmt = stmt.where(SignInEvent.username == args["username"])
        if args.get("kind"):
            stmt = stmt.where(SignInEvent.kind == args["kind"])
        return paged(stmt, pagination_parameters, SignInEvent.at.desc(), SignInEvent.id.desc())


class SessionSchema(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    username = fields.String(attribute="user.username")
    created_at = fields.DateTime()
    last_seen_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    end_reason = fields.String(allow_none=True)
    remote_addr = fields.String(allow_none=True)
    user_agent = fields.String(allow_none=True)
    current = fields.Function(lambda row: row.id == auth.current_session_id(), metadata={"description": "this one"})


class SessionFilterSchema(PageArgs):
    username = fields.String(validate=validate.Length(max=60))
    active = fields.Boolean(metadata={"description": "true: live sessions only; false: ended ones only"})


@blp.route("/sessions")
class SessionsView(MethodView):
    @auth.require_roles(Role.ADMIN, Role.AUDITOR)
    @blp.arguments(SessionFilterSchema, location="query")
    @blp.response(200, SessionSchema(many=True))
    @blp.paginate()
    def get(self, args: dict[str, Any], pagination_parameters: Any) -> list[UserSession]:
        """Every user's sessions (admins and auditors), newest first; beside the sign-in trail."""
        stmt = select(UserSession).options(selectinload(UserSession.user))
        if args.get("username"):
            stmt = stmt.join(User, User.id == UserSession.user_id).where(User.username == args["username"])
        if "active" in args:
            stmt = stmt.where(UserSession.ended_at.is_(None) if args["active"] else UserSession.ended_at.is_not(None))
        return paged(stmt, pagination_parameters, UserSession.created_at.desc(), UserSession.id.desc())


@blp.route("/sessions/mine")
class MySessionsView(MethodView):
    @blp.response(200, SessionSchema(many=True))
    def get(self) -> list[UserSession]:
        """My live sessions (`current` marks this one), newest first."""
        return list(
            context.db().scalars(
                select(UserSession)
                .options(selectinload(UserSession.user))
                .where(UserSession.user_id == auth.current_user().id, UserSession.ended_at.is_(None))
                .order_by(UserSession.created_at.desc(), UserSession.id.desc())
            )
        )


@blp.route("/sessions/<int:session_id>")
class OneSessionView(MethodView):
    @blp.response(204)
    def delete(self, session_id: int) -> None:
        """End one of my sessions (a browser left signed in elsewhere); admins may end anyone's."""
        user, now = auth.current_user(), context.system().clock.now()
        with context.writer() as writes, writes.begin():
            row = writes.get(UserSession, session_id)
            mine = row is not None and row.user_id == user.id
            if row is None or not (mine or context.scope().has(Role.ADMIN)):
                abort(404, message="no such session")
            if row.ended_at is None:
                reason = "ended_by_user" if mine else "ended_by_admin"
                sessions.end(writes, row.id, reason=reason, now=now)
        if session_id == auth.current_session_id():
            auth.end_session_cookie()
