"""Process definitions: versions, their XML, validate without deploying, deploy, cases per version."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from sqlalchemy import case as sql_case
from sqlalchemy import func, select

from engine.definitions import DefinitionError, deploy
from engine.definitions import validate as validate_bpmn
from engine.models import Case, CaseStatus, ProcessDefinition
from processes.roles import KNOWN_ROLES
from registry.models import Role
from web.http import auth, context

blp = Blueprint("process-definitions", __name__, description="BPMN process versions: list, XML, validate, deploy")
MAX_XML = 2_000_000
EDITORS = (Role.ANALYST, Role.ADMIN)


class VersionSchema(Schema):
    id = fields.Integer()
    key = fields.String()
    version = fields.Integer()
    name = fields.String()
    content_hash = fields.String()
    deployed_by = fields.String()
    deployed_at = fields.DateTime()
    forms = fields.Method("_forms")
    cases_total = fields.Integer()
    cases_open = fields.Integer()

    def _forms(self, definition: Any) -> list[str]:
        return sorted(definition.forms or {})


class ProcessSchema(Schema):
    key = fields.String()
    name = fields.String()
    latest_version = fields.Integer()
    versions = fields.List(fields.Nested(VersionSchema))


class XmlSchema(Schema):
    xml = fields.String(required=True, validate=validate.Length(min=1, max=MAX_XML))
    filename = fields.String(load_default="upload.bpmn", validate=validate.Length(max=120))


class ProblemSchema(Schema):
    element = fields.String()
    message = fields.String()


class ValidationSchema(Schema):
    valid = fields.Boolean()
    key = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    user_tasks = fields.List(fields.Dict())
    problems = fields.List(fields.Nested(ProblemSchema))


class DeployResultSchema(Schema):
    created = fields.Boolean()
    definition = fields.Nested(VersionSchema)


def _versions(key: str | None = None) -> list[Any]:
    """Every version with how many cases run (open) and ran on it, in one grouped query."""
    db = context.db()
    counts = (
        select(
            Case.definition_id,
            func.count().label("total"),
            func.sum(sql_case((Case.status == CaseStatus.OPEN, 1), else_=0)).label("open"),
        )
        .group_by(Case.definition_id)
        .subquery()
    )
    stmt = select(ProcessDefinition, counts.c.total, counts.c.open).outerjoin(
        counts, counts.c.definition_id == ProcessDefinition.id
    )
    if key is not None:
        stmt = stmt.where(ProcessDefinition.key == key)
    out = []
    for definition, total, open_ in db.execute(stmt.order_by(ProcessDefinition.key, ProcessDefinition.version)):
        definition.cases_total = int(total or 0)
        definition.cases_open = int(open_ or 0)
        out.append(definition)
    return out


def _one(key: str, version: int) -> ProcessDefinition:
    found = context.db().scalar(
        select(ProcessDefinition).where(ProcessDefinition.key == key, ProcessDefinition.version == version)
    )
    if found is None:
        abort(404, message=f"no version {version} of process {key!r}")
    return found


def _check(xml: str, filename: str) -> dict[str, Any]:
    system = context.system()
    try:
        parsed, _forms = validate_bpmn(
            xml,
            forms_dir=system.settings.forms_dir,
            known_roles=KNOWN_ROLES,
            services=system.engine.services.handlers,
            filename=filename,
        )
    except DefinitionError as err:
        return {"valid": False, "key": None, "name": None, "user_tasks": [], "problems": err.problems}
    tasks = [
        {"id": t.bpmn_id, "name": t.title, "role": t.role, "form": t.form, "due_in": t.due_in}
        for t in parsed.human_tasks.values()
    ]
    return {"valid": True, "key": parsed.key, "name": parsed.name, "user_tasks": tasks, "problems": []}


@blp.route("/process-definitions")
class ProcessesView(MethodView):
    @blp.response(200, ProcessSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Every process with its versions and the cases on each."""
        by_key: dict[str, list[Any]] = {}
        for definition in _versions():
            by_key.setdefault(definition.key, []).append(definition)
        return [
            {"key": key, "name": versions[-1].name, "latest_version": versions[-1].version, "versions": versions}
            for key, versions in sorted(by_key.items())
        ]

    @auth.require_roles(*EDITORS)
    @blp.arguments(XmlSchema)
    @blp.response(201, DeployResultSchema)
    @blp.alt_response(422, description="the BPMN was refused; `errors.problems` lists why; nothing deployed")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Deploy a new version. New cases run it; running cases stay on their version.
        Unchanged content deploys nothing and answers the current version (created=false)."""
        system, db = context.system(), context.db()
        try:
            result = deploy(
                db,
                body["xml"],
                forms_dir=system.settings.forms_dir,
                known_roles=KNOWN_ROLES,
                services=system.engine.services.handlers,
                deployed_by=auth.current_user().username,
                now=system.clock.now(),
                filename=body["filename"],
            )
        except DefinitionError as err:
            db.rollback()
            abort(
                422,
                message="the process was refused; nothing was deployed",
                errors={"problems": [{"element": p.element, "message": p.message} for p in err.problems]},
            )
        db.commit()
        definition = result.definition
        definition.cases_total = definition.cases_open = 0
        if not result.created:
            definition = next(d for d in _versions(definition.key) if d.id == definition.id)
        return {"created": result.created, "definition": definition}


@blp.route("/process-definitions/validate")
class ValidateView(MethodView):
    @auth.require_roles(*EDITORS)
    @blp.arguments(XmlSchema)
    @blp.response(200, ValidationSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Parse and lint without deploying: lanes map to known roles, forms exist and are valid
        JSON Schema, timer expressions parse, scripts and conditions compile in the sandbox."""
        return _check(body["xml"], body["filename"])


@blp.route("/process-definitions/<string:key>/versions")
class VersionsView(MethodView):
    @blp.response(200, VersionSchema(many=True))
    def get(self, key: str) -> list[Any]:
        """The versions of one process, oldest first, with cases per version."""
        versions = _versions(key)
        if not versions:
            abort(404, message=f"no process {key!r}")
        return versions


@blp.route("/process-definitions/<string:key>/versions/<int:version>/xml")
class XmlView(MethodView):
    @blp.response(200, description="the BPMN 2.0 XML of that version", content_type="application/xml")
    def get(self, key: str, version: int) -> Response:
        return Response(_one(key, version).bpmn_xml, mimetype="application/xml")
