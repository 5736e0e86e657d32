"""The tag register's admin flows: register, retire and import tags, each on the admin audit
chain in the caller's transaction (the view commits)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from processes import admin_audit
from registry.tags import service as tags
from registry.tags.models import CheckinTag


def _target(tag: CheckinTag) -> dict[str, Any]:
    return {"type": "checkin_tag", "id": tag.id, "uid": tag.uid, "elevator_id": tag.elevator_id, "place": tag.place}


def register_tag(session: Session, body: dict[str, Any], *, actor: str, now: datetime) -> CheckinTag:
    """TagError (field messages) when the tag cannot be registered."""
    tag, old = tags.register(
        session,
        elevator_id=body["elevator_id"],
        place=body["place"],
        uid=body["uid"],
        code=body.get("code"),
        replace=bool(body.get("replace")),
        actor=actor,
        now=now,
    )
    if old is not None:
        admin_audit.record(
            session, "checkin_tag.retired", actor=actor, at=now, target=_target(old), changes={"replaced_by": tag.uid}
        )
    admin_audit.record(
        session, "checkin_tag.registered", actor=actor, at=now, target=_target(tag), changes={"code": tag.code}
    )
    return tag


def retire_tag(session: Session, tag: CheckinTag, *, actor: str, now: datetime) -> CheckinTag:
    if tag.active:
        tags.retire(tag, actor=actor, now=now)
        admin_audit.record(session, "checkin_tag.retired", actor=actor, at=now, target=_target(tag), changes={})
    return tag


def import_tags(
    session: Session, rows: list[dict[str, Any]], *, filename: str, actor: str, now: datetime
) -> tags.TagImportReport:
    report = tags.import_tags(session, rows, actor=actor, now=now)
    if report.created:
        admin_audit.record(
            session,
            "checkin_tag.imported",
            actor=actor,
            at=now,
            target={"type": "checkin_tags", "name": filename},
            changes={"rows": report.rows, "created": report.created, "invalid_rows": len(report.errors)},
        )
    return report
