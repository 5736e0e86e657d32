"""Evidence files on cases: type and size checked, stored content-addressed (SHA-256) under the
upload directory, recorded as Attachment rows. One place for task evidence and AI snapshots.

Photos are stored as Pillow re-encodes them (processes/images.py: within a pixel budget, pixels
only), PDFs byte for byte once processes/pdfs.py finds nothing in them that would run."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from processes import images, pdfs
from processes.models import Attachment

# The type is judged from the bytes, not from what the client claims.
_MAGIC: list[tuple[bytes, str]] = [
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
]
ALLOWED_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "application/pdf"})


class AttachmentRejected(ValueError):
    pass


def sniff(data: bytes) -> str | None:
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass(frozen=True)
class Stored:
    sha256: str
    storage_key: str
    content_type: str
    size: int
    reencoded: bool = False  # a photo as Pillow wrote it: safe to show inline


def store_bytes(upload_dir: Path, data: bytes, *, max_bytes: int) -> Stored:
    if not data:
        raise AttachmentRejected("the file is empty")
    if len(data) > max_bytes:
        raise AttachmentRejected(f"the file is {len(data)} bytes; the limit is {max_bytes}")
    kind = sniff(data)
    if kind not in ALLOWED_TYPES:
        raise AttachmentRejected("only JPEG, PNG, WebP photos and PDF documents are accepted")
    data, kind, reencoded = _cleaned(data, kind)
    digest = hashlib.sha256(data).hexdigest()
    key = f"{digest[:2]}/{digest}"
    path = upload_dir / key
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)  # atomic: a crash never leaves half a file under the final name
    return Stored(digest, key, kind, len(data), reencoded)


def _cleaned(data: bytes, kind: str) -> tuple[bytes, str, bool]:
    """(bytes to keep, their type, re-encoded?): a photo re-encoded, a PDF checked."""
    try:
        if kind == "application/pdf":
            pdfs.check(data)
            return data, kind, False
        clean, kind = images.reencode(data)
    except (images.ImageRefused, pdfs.PdfRefused) as err:
        raise AttachmentRejected(str(err)) from err
    return clean, kind, True


def attach(
    session: Session,
    upload_dir: Path,
    data: bytes,
    *,
    case_id: int,
    filename: str,
    uploaded_by: str,
    now: datetime,
    max_bytes: int,
    task_id: int | None = None,
    kind: str = "evidence",
) -> Attachment:
    stored = store_bytes(upload_dir, data, max_bytes=max_bytes)
    return _add(
        session,
        stored,
        case_id=case_id,
        task_id=task_id,
        kind=kind,
        filename=Path(filename or "upload").name,
        uploaded_by=uploaded_by,
        now=now,
    )


def attach_snapshot(session: Session, case_id: int, stored: Stored, filename: str, now: datetime) -> int:
    """An AI event's image, stored already: one attachment per image and case (a retried event does
    not attach it twice)."""
    existing = session.scalar(
        select(Attachment.id).where(
            Attachment.case_id == case_id, Attachment.sha256 == stored.sha256, Attachment.kind == "snapshot"
        )
    )
    if existing is not None:
        return existing
    row = _add(
        session, stored, case_id=case_id, task_id=None, kind="snapshot", filename=filename, uploaded_by="ai", now=now
    )
    return row.id


def _add(
    session: Session,
    stored: Stored,
    *,
    case_id: int,
    task_id: int | None,
    kind: str,
    filename: str,
    uploaded_by: str,
    now: datetime,
) -> Attachment:
    row = Attachment(
        case_id=case_id,
        task_id=task_id,
        kind=kind,
        filename=filename[:200],
        content_type=stored.content_type,
        size=stored.size,
        sha256=stored.sha256,
        storage_key=stored.storage_key,
        reencoded=stored.reencoded,
        uploaded_by=uploaded_by,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def path_of(upload_dir: Path, attachment: Attachment) -> Path:
    return upload_dir / attachment.storage_key
