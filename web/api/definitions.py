"""Process definitions: versions, their XML, validate without deploying, deploy, cases per version."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_babel import get_locale
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from engine.models import ProcessDefinition
from processes import definitions as defs
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
    change_note = fields.String(metadata={"description": "the analyst's note on why this version"})
    changes = fields.List(fields.Dict(), metadata={"description": "elements changed against the version before"})
    audit_seq = fields.Integer(
        allow_none=True, metadata={"description": "the admin audit entry that recorded the deployment"}
    )

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


class DeploySchema(XmlSchema):
    note = fields.String(
        load_default="", validate=validate.Length(max=2000), metadata={"description": "why: kept with the version"}
    )


class ProblemSchema(Schema):
    element = fields.String(metadata={"description": "the BPMN element's id ('' for the whole file)"})
    message = fields.String(metadata={"description": "in the user's language"})


class ChangeSchema(Schema):
    element = fields.String()
    kind = fields.String()
    change = fields.String(metadata={"description": "added, removed or changed"})
    name = fields.String()
    properties = fields.List(fields.Dict())


class PreviewSchema(Schema):
    valid = fields.Boolean()
    key = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    running_version = fields.Integer(allow_none=True)
    unchanged = fields.Boolean()
    changes = fields.List(fields.Nested(ChangeSchema))
    problems = fields.List(fields.Nested(ProblemSchema))


def _in_language(problems: list[dict[str, str]]) -> list[dict[str, str]]:
    """Each problem's message in the user's language (the engine says it in both)."""
    zh = str(get_locale() or "").startswith("zh")
    return [{"element": p["element"], "message": p["zh"] if zh else p["en"]} for p in problems]


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
    """Every version with how many cases run (open) and ran on it, and its deployment's audit entry."""
    out = []
    audit = defs.deployment_audit(context.db())
    for definition, total, open_ in defs.versions(context.db(), key):
        definition.cases_total, definition.cases_open = total, open_  # for the schema; never persisted
        definition.audit_seq = audit.get(definition.id)
        out.append(definition)
    return out


def _one(key: str, version: int) -> ProcessDefinition:
    found = defs.version(context.db(), key, version)
    if found is None:
        abort(404, message=f"no version {version} of process {key!r}")
    return found


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
    @blp.arguments(DeploySchema)
    @blp.response(201, DeployResultSchema)
    @blp.alt_response(422, description="the BPMN was refused; `errors.problems` lists why; nothing deployed")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Deploy a new version. New cases run it; running cases stay on their version.
        Unchanged content deploys nothing and answers the current version (created=false)."""
        deployed_by = auth.current_user().username
        context.end_reads()
        try:
            result = defs.deploy_version(
                context.system(), body["xml"], filename=body["filename"], deployed_by=deployed_by, note=body["note"]
            )
        except defs.Refused as err:
            abort(
                422,
                message="the process was refused; nothing was deployed",
                errors={"problems": _in_language(err.problems)},
            )
        definition = next(d for d in _versions(result.definition.key) if d.id == result.definition.id)
        return {"created": result.created, "definition": definition}


@blp.route("/process-definitions/validate")
class ValidateView(MethodView):
    @auth.require_roles(*EDITORS)
    @blp.arguments(XmlSchema)
    @blp.response(200, ValidationSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Parse and lint without deploying: lanes map to known roles, forms exist and are valid
        JSON Schema, timer expressions parse, scripts and conditions compile in the sandbox."""
        checked = defs.check(context.system(), body["xml"], filename=body["filename"])
        return checked | {"problems": _in_language(checked["problems"])}


@blp.route("/process-definitions/preview")
class PreviewView(MethodView):
    @auth.require_roles(*EDITORS)
    @blp.arguments(XmlSchema)
    @blp.response(200, PreviewSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """What deploying would do, for the analyst to confirm: the check's problems, the running
        version and every element added, removed or changed against it (names, lanes, conditions,
        timers, forms, due times, scripts, wiring). Writes nothing."""
        preview = defs.preview(context.system(), body["xml"], filename=body["filename"])
        return preview | {"problems": _in_language(preview["problems"])}


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
