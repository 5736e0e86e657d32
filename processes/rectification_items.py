"""A rectification case's nonconformities, item by item (检验整改逐项闭环): each item is rectified by
the use unit with its maintenance unit, who attach evidence (a photo or file of the case, or a
reference to one, and a note); a reviewer (a regulator or the inspection institute) accepts or
returns it. Every move is a timeline entry in the same transaction (so the outbound feed carries
it). When the reviewer has judged every item while the review task is open, the review task is
completed with the verdict: all accepted is approved, any item returned sends the case back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.models import Case, CaseStatus, CaseTask, EventKind, TaskStatus
from infra.errors import Conflict, NotFound
from processes.attachments import attach
from processes.models import Attachment, RectificationItem
from processes.system import System
from processes.timelines import add_to_timelines

SEVERITIES = ("A", "B", "C")
STATES = ("open", "submitted", "accepted", "rejected")
REVIEW_TASK = "review_evidence"
SUBMIT_TASK = "rectify"


@dataclass(frozen=True)
class Finding:
    """One nonconformity as the report states it."""

    code: str
    description: str
    severity: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "description": self.description, "severity": self.severity}


def items_of(session: Session, case_id: int) -> list[RectificationItem]:
    return list(
        session.scalars(
            select(RectificationItem).where(RectificationItem.case_id == case_id).order_by(RectificationItem.position)
        )
    )


def add_items(session: Session, case_id: int, origin: str, findings: list[Finding], now: datetime) -> int:
    """The report's findings as items of the case, once per origin (a retried report adds none);
    how many were added. Their timeline entry is written in the same transaction. The case row is
    locked first: the same report arriving twice at once (8 threads, one idempotency key) would
    otherwise both see no items and both insert them (a unique violation, a 500 to the sender)."""
    if not findings:
        return 0
    session.execute(select(Case.id).where(Case.id == case_id).with_for_update())
    if session.scalar(
        select(RectificationItem.id).where(RectificationItem.case_id == case_id, RectificationItem.origin == origin)
    ):
        return 0
    last = session.scalar(select(func.max(RectificationItem.position)).where(RectificationItem.case_id == case_id))
    start = (last or 0) + 1
    for offset, f in enumerate(findings):
        session.add(
            RectificationItem(
                case_id=case_id,
                position=start + offset,
                origin=origin,
                code=f.code,
                description=f.description,
                severity=f.severity,
                state="open",
                evidence=[],
                updated_at=now,
            )
        )
    session.flush()
    entry = {"action": "added", "count": len(findings), "codes": [f.code for f in findings], "origin": origin}
    add_to_timelines(session, [(case_id, EventKind.ITEM_UPDATED, entry, "system")], now)
    return len(findings)


def _locked(session: Session, case_id: int, item_id: int) -> tuple[Case, RectificationItem]:
    case = session.get(Case, case_id)
    item = session.get(RectificationItem, item_id, with_for_update=True)
    if case is None or item is None or item.case_id != case_id:
        raise NotFound(f"case {case_id} has no item {item_id}")
    if case.status != CaseStatus.OPEN:
        raise Conflict(f"case {case.number} is {case.status}: its items are kept as they were")
    return case, item


def add_evidence(
    system: System,
    case_id: int,
    item_id: int,
    *,
    note: str,
    actor: str,
    attachment_id: int | None = None,
    reference: str | None = None,
    upload: tuple[bytes, str] | None = None,
) -> RectificationItem:
    """Evidence for one item (a file uploaded with it, an attachment of this case, or a reference
    to a file kept elsewhere, and a note): the item waits for review. An accepted item is closed
    and takes no more. AttachmentRejected (processes.attachments) for a file not accepted."""
    now = system.clock.now()
    with system.sessions() as session, session.begin():
        _case, item = _locked(session, case_id, item_id)
        if item.state == "accepted":
            raise Conflict(f"item {item.code} was accepted; it is closed")
        entries = []
        if upload is not None:
            data, filename = upload
            row = attach(
                session,
                system.settings.upload_dir,
                data,
                case_id=case_id,
                filename=filename,
                uploaded_by=actor,
                now=now,
                max_bytes=system.settings.max_upload_bytes,
            )
            attachment_id = row.id
            added = {"attachment": row.id, "sha256": row.sha256, "filename": row.filename}
            entries.append((case_id, EventKind.ATTACHMENT_ADDED, added, actor))
        elif attachment_id is not None:
            owner = session.scalar(select(Attachment.case_id).where(Attachment.id == attachment_id))
            if owner != case_id:
                raise NotFound(f"case {case_id} has no attachment {attachment_id}")
        entry = {
            "attachment_id": attachment_id,
            "reference": reference,
            "note": note,
            "by": actor,
            "at": now.isoformat(),
        }
        item.evidence = [*item.evidence, entry]
        item.state, item.updated_at = "submitted", now
        payload = {"action": "evidence", "item": item.id, "code": item.code, "attachment": attachment_id}
        add_to_timelines(session, [*entries, (case_id, EventKind.ITEM_UPDATED, payload, actor)], now)
        session.flush()
        session.expunge(item)
    return item


def review(system: System, case_id: int, item_id: int, *, accepted: bool, note: str, actor: str) -> RectificationItem:
    """The reviewer's verdict on one item that has evidence waiting. When it was the last item to
    judge and the review task is open, that task is completed with the overall verdict."""
    now = system.clock.now()
    with system.sessions() as session, session.begin():
        _case, item = _locked(session, case_id, item_id)
        if item.state != "submitted":
            raise Conflict(f"item {item.code} has no evidence waiting for review (it is {item.state})")
        item.state = "accepted" if accepted else "rejected"
        item.review_note, item.reviewed_by, item.reviewed_at, item.updated_at = note or None, actor, now, now
        payload = {"action": item.state, "item": item.id, "code": item.code, "note": note}
        add_to_timelines(session, [(case_id, EventKind.ITEM_UPDATED, payload, actor)], now)
        session.flush()
        session.expunge(item)
    _finish_review(system, case_id, actor)
    return item


def _finish_review(system: System, case_id: int, actor: str) -> None:
    with system.sessions() as session:
        states = [i.state for i in items_of(session, case_id)]
        task_id = session.scalar(
            select(CaseTask.id).where(
                CaseTask.case_id == case_id, CaseTask.bpmn_id == REVIEW_TASK, CaseTask.status == TaskStatus.OPEN
            )
        )
    if task_id is None or not states or any(s in ("open", "submitted") for s in states):
        return
    returned = states.count("rejected")
    approved = returned == 0
    comment = "各整改项均已通过审核" if approved else f"{returned} 项整改未通过，已退回"
    system.engine.complete_task(task_id, {"approved": approved, "comment": comment}, actor=actor)


def check_submission(session: Session, task: CaseTask, data: dict[str, Any]) -> None:
    """The use unit submits the rectification only when every item not yet accepted has evidence
    waiting; a reviewer approves it only when every item is accepted. Conflict names the items."""
    if task.bpmn_id == SUBMIT_TASK:
        missing = [i.code for i in items_of(session, task.case_id) if i.state in ("open", "rejected")]
        if missing:
            raise Conflict(f"attach evidence to every item before submitting; still missing: {', '.join(missing)}")
    elif task.bpmn_id == REVIEW_TASK and data.get("approved"):
        pending = [i.code for i in items_of(session, task.case_id) if i.state != "accepted"]
        if pending:
            raise Conflict(f"accept every item before approving; not accepted: {', '.join(pending)}")


def item_view(item: RectificationItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "position": item.position,
        "code": item.code,
        "description": item.description,
        "severity": item.severity,
        "state": item.state,
        "evidence": item.evidence,
        "review_note": item.review_note,
        "reviewed_by": item.reviewed_by,
        "reviewed_at": item.reviewed_at.isoformat() if item.reviewed_at else None,
    }
