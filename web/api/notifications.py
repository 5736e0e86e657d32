"""My inbox (paginated, unread filter, read marks), its live stream (SSE), my channel preferences,
and the notices that failed, for admins, regulators and auditors in their scope."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from connectors.notify import live, service
from connectors.notify.channels import OUTBOUND, channels_of
from connectors.notify.jobs import DELIVER
from engine.models import Notification
from registry.models import Role
from web.api.paging import paged
from web.http import auth, context

blp = Blueprint("notifications", __name__, description="Notifications: inbox, live stream, channels, failures")
WATCHERS = (Role.ADMIN, Role.REGULATOR, Role.AUDITOR)


class NotificationSchema(Schema):
    id = fields.Integer()
    case_id = fields.Integer(allow_none=True)
    role = fields.String(metadata={"description": "the BPMN lane that was notified"})
    channel = fields.String()
    subject = fields.String()
    body = fields.String()
    status = fields.String()
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    read_at = fields.DateTime(allow_none=True)


class FailureSchema(NotificationSchema):
    user_id = fields.Integer(allow_none=True)
    organisation_id = fields.Integer(allow_none=True)
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    next_attempt_at = fields.DateTime(allow_none=True, metadata={"description": "set while retrying"})


class AttemptSchema(Schema):
    attempt = fields.Integer()
    channel = fields.String()
    at = fields.DateTime()
    ok = fields.Boolean()
    error = fields.String(allow_none=True)
    next_attempt_at = fields.DateTime(allow_none=True)


class InboxArgs(Schema):
    unread = fields.Boolean(load_default=None, allow_none=True, metadata={"description": "true: unread only"})


class FailureArgs(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(service.FAILURE_STATES))


class CountSchema(Schema):
    unread = fields.Integer()


class MarkedSchema(Schema):
    marked = fields.Integer()


class PreferenceSchema(Schema):
    channel = fields.String()
    enabled = fields.Boolean()
    priorities = fields.String(metadata={"description": "case priorities the channel is for, e.g. P1,P2; empty: all"})
    source = fields.String(metadata={"description": "own, role default, or always (the inbox)"})
    available = fields.Boolean(metadata={"description": "false: not configured here, nothing is sent on it"})


class PreferenceUpdateSchema(Schema):
    enabled = fields.Boolean(required=True)
    priorities = fields.String(load_default="", validate=validate.Regexp(r"^(P[1-3](,P[1-3])*)?$"))


def _available() -> set[str]:
    return set(channels_of(context.system().settings))


@blp.route("/notifications")
class InboxView(MethodView):
    @blp.arguments(InboxArgs, location="query")
    @blp.response(200, NotificationSchema(many=True))
    @blp.paginate()
    def get(self, args: dict[str, Any], pagination_parameters: Any) -> list[Notification]:
        """My inbox, newest first (page, page_size; X-Pagination header)."""
        return paged(
            service.inbox(auth.current_user().id, unread=args["unread"]), pagination_parameters, Notification.id.desc()
        )


@blp.route("/notifications/unread-count")
class UnreadView(MethodView):
    @blp.response(200, CountSchema)
    def get(self) -> dict[str, int]:
        """How many notices in my inbox are unread."""
        return {"unread": service.unread_count(context.db(), auth.current_user().id)}


@blp.route("/notifications/<int:notification_id>/read")
class ReadView(MethodView):
    @blp.response(200, NotificationSchema)
    def post(self, notification_id: int) -> Notification:
        """Mark one notice of my inbox read."""
        db = context.db()
        notice = service.mark_read(db, auth.current_user().id, notification_id, now=context.system().clock.now())
        if notice is None:
            abort(404, message="no such notice in your inbox")
        db.commit()
        return notice


@blp.route("/notifications/read-all")
class ReadAllView(MethodView):
    @blp.response(200, MarkedSchema)
    def post(self) -> dict[str, int]:
        """Mark every notice of my inbox read."""
        db = context.db()
        marked = service.mark_all_read(db, auth.current_user().id, now=context.system().clock.now())
        db.commit()
        return {"marked": marked}


@blp.route("/notifications/stream")
class StreamView(MethodView):
    @blp.doc(
        responses={
            "200": {
                "description": "Server-Sent Events: `notification` events (id = notice id, data = the notice as "
                "JSON) as they reach my inbox, a heartbeat comment every 15 s. Resumes after `Last-Event-ID`.",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            },
            "406": {"description": "the request did not accept text/event-stream"},
        }
    )
    def get(self) -> Response:
        """Live push of my inbox (Server-Sent Events). Send `Accept: text/event-stream`, as EventSource does;
        anything else is answered 406 at once rather than held open."""
        if "text/event-stream" not in request.headers.get("Accept", ""):
            abort(406, message="this is an event stream: send Accept: text/event-stream (EventSource does)")
        system, user_id = context.system(), auth.current_user().id
        raw = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
        if raw is not None and not raw.isdigit():
            abort(400, message="Last-Event-ID must be a notice id")
        # The stream opens its own short sessions: the request's would hold a pooled connection open.
        context.db().close()
        stream = live.inbox_stream(
            system.sessions,
            system.clock,
            user_id,
            redis_url=system.settings.redis_url,
            last_event_id=int(raw) if raw is not None else None,
        )
        response = Response(stream, mimetype="text/event-stream")
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Accel-Buffering"] = "no"  # a reverse proxy must not buffer the stream
        return response


@blp.route("/notifications/preferences")
class PreferencesView(MethodView):
    @blp.response(200, PreferenceSchema(many=True))
    def get(self) -> list[service.Preference]:
        """My channels: the inbox always, the others by my own choice or my role's default."""
        return service.preferences_of(context.db(), auth.current_user(), _available())


@blp.route("/notifications/preferences/<string:channel>")
class PreferenceView(MethodView):
    @blp.arguments(PreferenceUpdateSchema)
    @blp.response(200, PreferenceSchema(many=True))
    def put(self, body: dict[str, Any], channel: str) -> list[service.Preference]:
        """Choose a channel (e-mail, sms, im) for all notices or for some case priorities only."""
        if channel not in OUTBOUND:
            abort(404, message=f"no channel {channel!r}; channels: {', '.join(OUTBOUND)}")
        db, user = context.db(), auth.current_user()
        service.set_preference(db, user.id, channel, enabled=body["enabled"], priorities=body["priorities"])
        db.commit()
        return service.preferences_of(db, user, _available())

    @blp.response(200, PreferenceSchema(many=True))
    def delete(self, channel: str) -> list[service.Preference]:
        """Back to my role's default for this channel."""
        if channel not in OUTBOUND:
            abort(404, message=f"no channel {channel!r}")
        db, user = context.db(), auth.current_user()
        service.reset_preference(db, user.id, channel)
        db.commit()
        return service.preferences_of(db, user, _available())


@blp.route("/notifications/failures")
class FailuresView(MethodView):
    @auth.require_roles(*WATCHERS)
    @blp.arguments(FailureArgs, location="query")
    @blp.response(200, FailureSchema(many=True))
    @blp.paginate()
    def get(self, args: dict[str, Any], pagination_parameters: Any) -> list[Notification]:
        """Notices that failed for good (`failed`) or are being retried (`retrying`), in my scope."""
        states = (args["status"],) if args["status"] else service.FAILURE_STATES
        rows = paged(service.failures(context.scope(), states=states), pagination_parameters, Notification.id.desc())
        due = service.next_attempts(context.db(), [r.id for r in rows])
        for row in rows:
            row.next_attempt_at = due.get(row.id)  # type: ignore[attr-defined] - answered, not stored
        return rows


def _watched(notification_id: int) -> Notification:
    states = (*service.FAILURE_STATES, "queued", "sending", "sent")
    notice = context.db().scalar(
        service.failures(context.scope(), states=states).where(
            Notification.id == notification_id, Notification.channel != "inbox"
        )
    )
    if notice is None:
        abort(404, message="no such outbound notice in your scope")
    return notice


@blp.route("/notifications/<int:notification_id>/attempts")
class AttemptsView(MethodView):
    @auth.require_roles(*WATCHERS)
    @blp.response(200, AttemptSchema(many=True))
    def get(self, notification_id: int) -> list[Any]:
        """Every delivery attempt of one outbound notice."""
        return service.attempts_of(context.db(), _watched(notification_id).id)


@blp.route("/notifications/<int:notification_id>/retry")
class RetryView(MethodView):
    @auth.require_roles(Role.ADMIN)
    @blp.response(202, FailureSchema)
    def post(self, notification_id: int) -> Notification:
        """Give a failed notice a fresh set of attempts (after fixing an address or the gateway)."""
        notice = _watched(notification_id)
        if notice.status != "failed":
            abort(409, message=f"the notice is {notice.status}, not failed")
        db = context.db()
        service.requeue(db, notice)
        db.commit()
        context.system().jobs.enqueue(DELIVER, [notice.id])
        db.refresh(notice)
        return notice
