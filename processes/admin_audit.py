"""The admin audit log: every administrative change appended, in one hash chain for the platform,
through `record` (called by the flows that make the changes: processes/administration.py,
processes/definitions.py), and checked by `verify` (the API and `liftcase verify-timeline`).

The chain is the case timeline's (engine.timeline: the same event_hash, GENESIS and verifier)
with chain id 0, which no case has. The head row's lock orders appends: two admins saving at once
get consecutive entries, never two entries with the same predecessor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import FeedOutbox
from engine.timeline import GENESIS, ChainLink, event_hash, verify_chain
from processes.models import AdminAuditEntry, AdminAuditHead
from registry.importing import ImportReport

PLATFORM_CHAIN = 0
HEAD_ID = 1
# Register changes, which the outbound feed carries (user and process changes stay inside).
REGISTER_KINDS = ("elevator", "elevators", "equipment", "device", "organisation")


def lock(session: Session) -> AdminAuditHead:
    """The chain's head, locked until the transaction ends: taken first by a change whose checks
    must not race another admin's (the last active admin)."""
    head = session.scalar(select(AdminAuditHead).where(AdminAuditHead.id == HEAD_ID).with_for_update())
    if head is None:  # a database made without the migrations' first row
        head = AdminAuditHead(id=HEAD_ID, seq=0, hash=GENESIS)
        session.add(head)
        session.flush()
    return head


def record(
    session: Session, kind: str, *, actor: str, at: datetime, target: dict[str, Any], changes: dict[str, Any]
) -> AdminAuditEntry:
    """Append one entry in the caller's transaction: it is kept exactly when the change is."""
    return record_many(session, [(kind, target, changes)], actor=actor, at=at)[0]


def record_many(
    session: Session, entries: list[tuple[str, dict[str, Any], dict[str, Any]]], *, actor: str, at: datetime
) -> list[AdminAuditEntry]:
    """Append (kind, target, changes) entries one after another under one lock of the head and one
    flush: a bulk change (a register sync of thousands of records) records each record's entry."""
    if not entries:
        return []
    head = lock(session)
    actor = actor[:60]
    added = []
    for kind, target, changes in entries:
        payload = plain({"target": target, "changes": changes})
        seq = head.seq + 1
        digest = event_hash(PLATFORM_CHAIN, seq, kind, at, actor, payload, head.hash)
        entry = AdminAuditEntry(
            seq=seq, kind=kind, at=at, actor=actor, payload=payload, prev_hash=head.hash, hash=digest
        )
        session.add(entry)
        if kind.split(".", 1)[0] in REGISTER_KINDS:
            session.add(FeedOutbox(source="register", case_id=None, seq=seq))
        head.seq, head.hash = seq, digest
        added.append(entry)
    session.flush()
    return added


def record_import(
    session: Session, report: ImportReport, kind: str, target_type: str, *, filename: str, actor: str, at: datetime
) -> None:
    """One entry for an imported register file, when it wrote anything."""
    if report.created or report.updated:
        counts = {"rows": report.rows, "created": report.created, "updated": report.updated}
        record(
            session,
            kind,
            actor=actor,
            at=at,
            target={"type": target_type, "name": filename},
            changes=counts | {"invalid_rows": len(report.errors)},
        )


def plain(value: Any) -> Any:
    """JSON as the database gives it back, so the hash recomputes alike: dates as ISO text."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class ChainCheck:
    entries: int
    head: str
    broken_seq: int | None = None
    reason: str | None = None

    @property
    def intact(self) -> bool:
        return self.reason is None


def verify(session: Session) -> ChainCheck:
    """The whole chain checked in stored order: intact, or its first broken link."""
    rows = session.scalars(select(AdminAuditEntry).order_by(AdminAuditEntry.id))
    links = [ChainLink(PLATFORM_CHAIN, r.seq, r.kind, r.at, r.actor, r.payload, r.prev_hash, r.hash) for r in rows]
    head = session.get(AdminAuditHead, HEAD_ID)
    found = verify_chain(
        PLATFORM_CHAIN, links, head.hash if head else None, head.seq if head else None
    )
    last = head.hash if head else GENESIS
    if found is None:
        return ChainCheck(len(links), last)
    return ChainCheck(len(links), last, found.seq, found.reason)
