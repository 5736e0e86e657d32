"""Process definitions as this system deploys them: checked against the roles of processes.roles
and the engine's service tasks, with the forms of the settings' folder. One place for the API's
validate and deploy and the bootstrap's deployment of the BPMN folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import case as sql_case
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import definition_diff
from engine.definitions import (
    DefinitionError,
    Deployment,
    ParsedProcess,
    content_hash,
    deploy,
    latest_definition,
    validate,
)
from engine.models import Case, CaseStatus, ProcessDefinition
from processes import admin_audit
from processes.models import AdminAuditEntry
from processes.roles import KNOWN_ROLES

if TYPE_CHECKING:  # processes.system deploys through this module
    from processes.system import System


class Refused(Exception):
    """The BPMN was refused; nothing was deployed. `problems`: an element id and a message each."""

    def __init__(self, err: DefinitionError) -> None:
        super().__init__(str(err))
        self.problems = _problems(err)


def _problems(err: DefinitionError) -> list[dict[str, str]]:
    """Each problem with its element id, in English and (zh) in Chinese: the API answers in the
    user's language and the console selects the element in the diagram."""
    return [
        {"element": p.element, "message": p.message, "zh": p.zh or p.message, "en": p.en or p.message}
        for p in err.problems
    ]


def _deploy(
    session: Session, system: System, xml: str, *, filename: str, deployed_by: str, note: str = ""
) -> Deployment:
    """A new version is an admin change: its audit entry (with the note and what changed against
    the running version) is written in the same transaction."""
    now = system.clock.now()
    result = deploy(
        session,
        xml,
        forms_dir=system.settings.forms_dir,
        known_roles=KNOWN_ROLES,
        services=system.engine.services.handlers,
        deployed_by=deployed_by,
        now=now,
        filename=filename,
    )
    if result.created:
        d = result.definition
        running = session.scalar(  # the version new cases ran until now
            select(ProcessDefinition)
            .where(ProcessDefinition.key == d.key, ProcessDefinition.version < d.version)
            .order_by(ProcessDefinition.version.desc())
            .limit(1)
        )
        changes = (
            definition_diff.diff(running.bpmn_xml, xml, running.forms, d.forms) if running is not None else []
        )
        d.change_note = note.strip()
        d.changes = [c.as_dict() for c in changes]
        admin_audit.record(
            session,
            "definition.deployed",
            actor=deployed_by,
            at=now,
            target={"type": "process_definition", "id": d.id, "name": f"{d.key} v{d.version}"},
            changes={
                "key": d.key, "version": d.version, "content_hash": d.content_hash, "filename": filename,
                "note": d.change_note, "previous_version": running.version if running is not None else None,
                "elements": definition_diff.summary(changes),
                "changed_elements": sorted({c.element for c in changes}),
            },
        )
    return result


def _checked(system: System, xml: str, filename: str) -> tuple[dict[str, Any], ParsedProcess | None, dict[str, Any]]:
    """The check's answer, with the parsed process and its forms when it is valid."""
    try:
        parsed, forms = validate(
            xml,
            forms_dir=system.settings.forms_dir,
            known_roles=KNOWN_ROLES,
            services=system.engine.services.handlers,
            filename=filename,
        )
    except DefinitionError as err:
        return {"valid": False, "key": None, "name": None, "user_tasks": [], "problems": _problems(err)}, None, {}
    tasks = [
        {"id": t.bpmn_id, "name": t.title, "role": t.role, "form": t.form, "due_in": t.due_in}
        for t in parsed.human_tasks.values()
    ]
    answer = {"valid": True, "key": parsed.key, "name": parsed.name, "user_tasks": tasks, "problems": []}
    return answer, parsed, forms


def check(system: System, xml: str, *, filename: str) -> dict[str, Any]:
    """Parse and lint without deploying: whether it is valid, its key, name and user tasks, or
    every problem found."""
    return _checked(system, xml, filename)[0]


def preview(system: System, xml: str, *, filename: str) -> dict[str, Any]:
    """What deploying would do, before the analyst confirms: the check's verdict and problems, the
    running version and every element changed, added or removed against it (nothing is written)."""
    checked, parsed, forms = _checked(system, xml, filename)
    out: dict[str, Any] = {**checked, "running_version": None, "unchanged": False, "changes": []}
    if parsed is None:
        return out
    with system.sessions() as session:
        running = latest_definition(session, parsed.key)
        if running is None:
            return out
        changes = definition_diff.diff(running.bpmn_xml, xml, running.forms, forms)
        out["running_version"] = running.version
        out["unchanged"] = running.content_hash == content_hash(xml, forms)
        out["changes"] = [c.as_dict() for c in changes]
    return out


def deploy_version(system: System, xml: str, *, filename: str, deployed_by: str, note: str = "") -> Deployment:
    """A new version (new cases run it; running cases stay on theirs), or the current one when the
    content is unchanged. Refused when the BPMN does not pass the check. `note`: the analyst's why."""
    try:
        with system.sessions() as session, session.begin():
            return _deploy(session, system, xml, filename=filename, deployed_by=deployed_by, note=note)
    except DefinitionError as err:
        raise Refused(err) from err


def deploy_folder(system: System, deployed_by: str = "system") -> list[Deployment]:
    """Every BPMN file of the settings' folder, in one transaction (a new version only where it changed)."""
    results = []
    with system.sessions() as session, session.begin():
        for path in sorted(Path(system.settings.bpmn_dir).glob("*.bpmn")):
            xml = path.read_text(encoding="utf-8")
            results.append(_deploy(session, system, xml, filename=path.name, deployed_by=deployed_by))
    return results


# -- reads ----------------------------------------------------------------------------------------


def versions(session: Session, key: str | None = None) -> list[tuple[ProcessDefinition, int, int]]:
    """Every version (of one process, with key) by key and number, with how many cases ran on it
    and how many of those are open, in one grouped query."""
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
    rows = session.execute(stmt.order_by(ProcessDefinition.key, ProcessDefinition.version))
    return [(definition, int(total or 0), int(open_ or 0)) for definition, total, open_ in rows]


def deployment_audit(session: Session) -> dict[int, int]:
    """The admin audit entry (its sequence number) that recorded each version's deployment."""
    rows = session.scalars(select(AdminAuditEntry).where(AdminAuditEntry.kind == "definition.deployed"))
    return {
        int(entry.payload["target"]["id"]): entry.seq
        for entry in rows
        if isinstance(entry.payload.get("target", {}).get("id"), int)
    }


def version(session: Session, key: str, number: int) -> ProcessDefinition | None:
    return session.scalar(
        select(ProcessDefinition).where(ProcessDefinition.key == key, ProcessDefinition.version == number)
    )
