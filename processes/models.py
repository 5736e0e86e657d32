"""Inbound signals (warnings, QR calls, AI events) with their idempotency keys, comments, attachments,
and the admin audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, UTCDateTime


class Signal(Base):
    __tablename__ = "signals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    source: Mapped[str] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(40))
    elevator_id: Mapped[int | None] = mapped_column(ForeignKey("elevators.id"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    joined: Mapped[bool] = mapped_column(default=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class CaseComment(Base):
    __tablename__ = "case_comments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author: Mapped[str] = mapped_column(String(60))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Attachment(Base):
    """A file on a case: evidence uploaded with a task (arrival photo, rectification proof) or a
    camera snapshot from an AI event. The bytes live in the upload store under `storage_key`
    (content-addressed by SHA-256); the row is the record."""

    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("case_tasks.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="evidence")  # evidence | snapshot | document
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(80))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    storage_key: Mapped[str] = mapped_column(String(200))
    # A photo Pillow re-encoded on upload (pixels only) is shown inline; anything else downloads.
    reencoded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    uploaded_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AdminAuditEntry(Base):
    """One administrative change (a user, an organisation, an elevator, a device, a process version
    deployed), a link of the platform's one hash chain: the case timeline's hash
    (engine.timeline.event_hash) over chain id 0. Rows are only added (processes/admin_audit.py);
    the database refuses updates and deletes (triggers of migration 0011)."""

    __tablename__ = "admin_audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)  # user.updated, device.created, ...
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"target": {...}, "changes": {...}}
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AdminAuditHead(Base):
    """The chain's length and last hash (one row, id 1): a deleted tail shows, and appends queue on
    its row lock, so the chain never forks."""

    __tablename__ = "admin_audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64))


class RectificationItem(Base):
    """One nonconformity of a rectification case, tracked to closed: open → submitted (evidence
    attached by the use unit or its maintenance unit) → accepted (closed) or rejected (back to
    the unit). `origin` names the report it came from, so a report's items are added once."""

    __tablename__ = "rectification_items"
    __table_args__ = (UniqueConstraint("case_id", "position"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    origin: Mapped[str] = mapped_column(String(160))
    code: Mapped[str] = mapped_column(String(20))  # TSG T7001 item number, e.g. 2.8 or 3.12(1)
    description: Mapped[str] = mapped_column(String(500))
    severity: Mapped[str] = mapped_column(String(2))  # A | B | C (TSG T7001 item class)
    state: Mapped[str] = mapped_column(String(12), default="open")
    # [{"attachment_id": int | None, "reference": str | None, "note": str, "by": str, "at": iso}]
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    review_note: Mapped[str | None] = mapped_column(String(500))
    reviewed_by: Mapped[str | None] = mapped_column(String(60))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
