"""The outbound feed: the pull API (events after a cursor, in the signed-in user's scope) and the
subscription admin (admins: which endpoint, which event kinds, which districts)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from connectors.feed import service
from connectors.feed.models import FeedSubscription
from registry.models import Role
from web.api.registry_common import who_and_when, write_or_conflict
from web.http import auth, context

blp = Blueprint("outbound-feed", __name__, description="Outbound feed: pull by cursor, push subscriptions")


class FeedArgs(Schema):
    after = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class FeedPageSchema(Schema):
    events = fields.List(fields.Dict(), metadata={"description": "the events, each as pushed (see README)"})
    next = fields.Integer(metadata={"description": "the cursor for the next call (`after`)"})


class FeedSubscriptionSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=2, max=80))
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False, validate=validate.Length(max=500))
    secret = fields.String(required=True, load_only=True, validate=validate.Length(min=16, max=200))
    kinds = fields.List(fields.String(validate=validate.Length(max=40)), load_default=list)
    districts = fields.List(fields.String(validate=validate.Length(max=12)), load_default=list)
    active = fields.Boolean(load_default=True)
    timeout_seconds = fields.Float(load_default=5.0, validate=validate.Range(min=0.5, max=60))
    created_at = fields.DateTime(dump_only=True)
    backlog = fields.Method("_backlog", dump_only=True)

    def _backlog(self, sub: FeedSubscription) -> dict[str, Any]:
        return service.backlog(context.db(), sub.id)


class FeedSubscriptionPatchSchema(FeedSubscriptionSchema):
    """Any subset of a subscription's fields (used with partial=True)."""


@blp.route("/feed")
class FeedView(MethodView):
    @blp.arguments(FeedArgs, location="query")
    @blp.response(200, FeedPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Events after the cursor `after`, oldest first, those of the elevators in your scope.
        Keep `next` and call again with it; an empty page means you are up to date."""
        rows = service.events_after(context.db(), context.scope(), args["after"], args["limit"])
        return {"events": [r.body for r in rows], "next": rows[-1].position if rows else args["after"]}


@blp.route("/feed/subscriptions")
class SubscriptionsView(MethodView):
    @auth.require_roles(Role.ADMIN)
    @blp.response(200, FeedSubscriptionSchema(many=True))
    def get(self) -> list[FeedSubscription]:
        return list(context.db().query(FeedSubscription).order_by(FeedSubscription.id))

    @auth.require_roles(Role.ADMIN)
    @blp.arguments(FeedSubscriptionSchema)
    @blp.response(201, FeedSubscriptionSchema)
    def post(self, body: dict[str, Any]) -> FeedSubscription:
        """Subscribe an endpoint; it receives the events placed in the feed from now on."""
        return write_or_conflict(lambda: service.create_subscription(context.db(), body, **who_and_when()))


@blp.route("/feed/subscriptions/<int:sub_id>")
class SubscriptionView(MethodView):
    @auth.require_roles(Role.ADMIN)
    @blp.arguments(FeedSubscriptionPatchSchema(partial=True))
    @blp.response(200, FeedSubscriptionSchema)
    def patch(self, body: dict[str, Any], sub_id: int) -> FeedSubscription:
        db = context.db()
        sub = db.get(FeedSubscription, sub_id) or abort(404, message="no such subscription")
        return write_or_conflict(lambda: service.update_subscription(db, sub, body, **who_and_when()))

    @auth.require_roles(Role.ADMIN)
    @blp.response(204)
    def delete(self, sub_id: int) -> None:
        db = context.db()
        sub = db.get(FeedSubscription, sub_id) or abort(404, message="no such subscription")
        write_or_conflict(lambda: service.delete_subscription(db, sub, **who_and_when()))
