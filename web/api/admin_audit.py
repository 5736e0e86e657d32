"""The admin audit log (admins and auditors): every administrative change, newest first, and the
check of its hash chain (intact, or the first broken link)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from processes import admin_audit
from processes.models import AdminAuditEntry
from registry.models import Role
from web.api.paging import PageArgs, paged
from web.http import auth, context

blp = Blueprint("admin-audit", __name__, description="Admin audit log: administrative changes in a hash chain")
READERS = (Role.ADMIN, Role.AUDITOR)


class EntrySchema(Schema):
    seq = fields.Integer()
    kind = fields.String()
    at = fields.DateTime()
    actor = fields.String()
    target = fields.Dict(attribute="payload.target")
    changes = fields.Dict(attribute="payload.changes")
    prev_hash = fields.String()
    hash = fields.String()


class EntryFilterSchema(PageArgs):
    kind = fields.String(validate=validate.Length(max=40), metadata={"description": "e.g. user.updated"})
    actor = fields.String(validate=validate.Length(max=60))


class ChainSchema(Schema):
    intact = fields.Boolean()
    entries = fields.Integer()
    head = fields.String(metadata={"description": "the last entry's hash"})
    broken_seq = fields.Integer(allow_none=True, metadata={"description": "the first broken link"})
    reason = fields.String(allow_none=True)


@blp.route("/admin-audit")
class AdminAuditView(MethodView):
    @auth.require_roles(*READERS)
    @blp.arguments(EntryFilterSchema, location="query")
    @blp.response(200, EntrySchema(many=True))
    @blp.paginate()
    def get(self, args: dict[str, Any], pagination_parameters: Any) -> list[AdminAuditEntry]:
        """Administrative changes (users, roles, organisations, elevators, devices, process versions), newest first."""
        stmt = select(AdminAuditEntry)
        if args.get("kind"):
            stmt = stmt.where(AdminAuditEntry.kind == args["kind"])
        if args.get("actor"):
            stmt = stmt.where(AdminAuditEntry.actor == args["actor"])
        return paged(stmt, pagination_parameters, AdminAuditEntry.seq.desc())


@blp.route("/admin-audit/verify")
class AdminAuditVerifyView(MethodView):
    @auth.require_roles(*READERS)
    @blp.response(200, ChainSchema)
    def get(self) -> Any:
        """Recompute the whole chain: intact, or the first entry that was edited, deleted or reordered."""
        return admin_audit.verify(context.db())
