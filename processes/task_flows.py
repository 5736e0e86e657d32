"""What people do to a task: claim, release, hand over, complete with its form, attach evidence.
Who may do it is the caller's check (web/api/tasks.py); these do it and write the timeline."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.models import Case, CaseTask, EventKind
from engine.runner import StepOutcome
from processes import rectification_items
from processes.attachments import attach
from processes.models import Attachment
from processes.system import System


def claim(system: System, task_id: int, *, user_id: int, actor: str) -> CaseTask:
    """Take the task: others of the organisation see it is the user's."""
    return system.engine.assign_task(task_id, user_id, actor=actor)


def release(system: System, task_id: int, *, actor: str, undo: bool = False) -> CaseTask:
    """Give the task back to its organisation; `undo`: taking back one's own claim just made (the
    timeline keeps the claim and says it was withdrawn)."""
    return system.engine.assign_task(task_id, None, actor=actor, undo=undo)


def hand_over(system: System, task_id: int, *, to_user_id: int, actor: str) -> CaseTask:
    """Give the task to a colleague (the caller checked they belong to the task's organisation)."""
    return system.engine.assign_task(task_id, to_user_id, actor=actor)


def complete(system: System, task_id: int, data: dict[str, Any], *, actor: str, checked: bool = False) -> Case:
    """Submit the task's form: checked against its JSON Schema, then the case moves on. A
    rectification with tracked items is submitted only when every item has its evidence
    (`checked`: the caller has run `check_submission` in its own reads already)."""
    return complete_and_next(system, task_id, data, actor=actor, checked=checked).case


def complete_and_next(
    system: System, task_id: int, data: dict[str, Any], *, actor: str, checked: bool = False
) -> StepOutcome:
    """complete, answering also what the step opened (case_service.next_task_after finds the
    caller's next task in it)."""
    if not checked:
        with system.sessions() as session:
            task = session.get(CaseTask, task_id)
            if task is not None:
                check_submission(session, task, data)
    return system.engine.complete_and_next(task_id, data, actor=actor)


def check_submission(session: Session, task: CaseTask, data: dict[str, Any]) -> None:
    """What a completion checks before the step beside the form (Conflict when it is refused):
    for an API request, in the transaction that found the task, with no session of its own."""
    rectification_items.check_submission(session, task, data)


def attach_evidence(system: System, task: CaseTask, data: bytes, *, filename: str, uploaded_by: str) -> Attachment:
    """A photo or PDF on the task's case, then the timeline entry naming it. AttachmentRejected
    (processes.attachments) when the file is empty, too large or of a type not accepted."""
    with system.sessions() as session, session.begin():
        row = attach(
            session,
            system.settings.upload_dir,
            data,
            case_id=task.case_id,
            task_id=task.id,
            filename=filename,
            uploaded_by=uploaded_by,
            now=system.clock.now(),
            max_bytes=system.settings.max_upload_bytes,
        )
    system.engine.record(
        task.case_id,
        EventKind.ATTACHMENT_ADDED,
        {"attachment": row.id, "task": task.bpmn_id, "sha256": row.sha256, "filename": row.filename},
        actor=uploaded_by,
    )
    return row
