"""The one-case report's data (`CaseReport`) and how each of its sections is read: the units, the
timeline, the completed forms and the photos. `service.case_report` assembles them in a scope."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import Case, CaseTask, TaskStatus, TimelineEvent
from forms.labels import field_value
from processes import images
from processes.models import Attachment
from processes.sla_state import MilestoneState
from processes.timelines import summarize
from registry.models import Elevator, Organisation
from reports.display import answer_text, local


@dataclass(frozen=True)
class CaseReport:
    case: Case
    type_title: str
    elevator: Elevator | None
    district: str
    use_unit: str
    maintenance_unit: str
    chain_ok: bool
    chain_message: str
    events: list[dict[str, Any]]
    sla: list[tuple[str, MilestoneState]]  # (label, state)
    forms: list[dict[str, Any]]
    photos: list[dict[str, Any]]


def unit_names(session: Session, elevator: Elevator | None) -> tuple[str, str]:
    """(use unit, maintenance unit) names of the elevator; empty without one."""
    if elevator is None:
        return "", ""
    orgs = dict(
        session.execute(
            select(Organisation.id, Organisation.name).where(
                Organisation.id.in_([elevator.use_unit_id, elevator.maintenance_unit_id])
            )
        ).all()
    )
    return orgs.get(elevator.use_unit_id, ""), orgs.get(elevator.maintenance_unit_id, "")


def timeline_rows(session: Session, case_id: int) -> list[dict[str, Any]]:
    """The case's events in sequence, each with its summary and hash."""
    return [
        {
            "seq": e.seq,
            "at": local(e.at),
            "kind": e.kind,
            "actor": e.actor,
            "summary": summarize(e.kind, e.payload),
            "hash": e.hash,
        }
        for e in session.scalars(
            select(TimelineEvent).where(TimelineEvent.case_id == case_id).order_by(TimelineEvent.seq)
        )
    ]


def form_rows(tasks: list[CaseTask], forms: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The completed tasks' forms in the order they were completed: each field by its title, each
    answer as text (a choice by its label), from the case version's forms."""
    done = sorted((t for t in tasks if t.status == TaskStatus.COMPLETED), key=lambda t: (t.completed_at, t.id))
    return [
        {
            "title": t.title,
            "by": t.completed_by or "",
            "at": local(t.completed_at),
            "fields": [_field(forms, t.form, k, v) for k, v in (t.data or {}).items()],
        }
        for t in done
    ]


def _field(forms: dict[str, Any] | None, form: str | None, name: str, value: Any) -> tuple[str, str]:
    schema = (forms or {}).get(form or "")
    label, shown = field_value(schema, name, value, "zh-CN")
    return label, shown if "enum" in (schema or {}).get("properties", {}).get(name, {}) else answer_text(value)


def photo_rows(session: Session, case_id: int, upload_dir: Path) -> list[dict[str, Any]]:
    """Every attachment, with a file URI only for an image the PDF can embed (inside the upload
    directory and readable)."""
    photos = []
    root = upload_dir.resolve()
    for a in session.scalars(select(Attachment).where(Attachment.case_id == case_id).order_by(Attachment.id)):
        path = (root / a.storage_key).resolve()
        is_image = a.content_type.startswith("image/")
        image = is_image and path.is_relative_to(root) and readable_image(path)
        photos.append(
            {
                "filename": a.filename,
                "is_image": is_image,
                "kind": a.kind,
                "by": a.uploaded_by,
                "at": local(a.created_at),
                "sha256": a.sha256,
                "uri": path.as_uri() if image else None,
            }
        )
    return photos


def readable_image(path: Path) -> bool:
    """A photo the PDF can embed: it opens, verifies and is within the pixel budget (a file stored
    before uploads were checked may claim 100,000 x 100,000 pixels). Any other is listed with a
    placeholder rather than failing the whole report, every time it is asked for."""
    try:  # verify(), not load(): WeasyPrint makes Pillow load truncated images without complaint
        images.check(path)
        return True
    except (images.ImageRefused, OSError):
        return False
