"""Reads and writes of the tag register, without side effects: look a tag up, register one,
retire one, check an import's rows. Errors name the field they are about."""

from __future__ import annotations

import random
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.models import Elevator
from registry.tags.models import PLACES, CheckinTag

# NFC chip serials are 4, 7 or 10 bytes; phones show them as hex pairs, with or without colons.
_UID = re.compile(r"^(?:[0-9A-F]{2}){4,10}$")
# Printed codes avoid letters a technician could misread when typing (0/O, 1/I/L).
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_CODE = re.compile(rf"^[{_CODE_ALPHABET}]{{8}}$")


class TagError(ValueError):
    """A tag that cannot be registered or used; `errors` is field -> messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def normalise_uid(value: Any) -> str:
    """`04:a2:3b:...` or `04A23B...` as upper-case hex without separators; TagError if not a UID."""
    uid = re.sub(r"[\s:\-]", "", str(value or "")).upper()
    if not _UID.match(uid):
        raise TagError({"uid": ["an NFC serial number: 4 to 10 bytes in hex, e.g. 04:A2:3B:1C:5D:80:00"]})
    return uid


def normalise_code(value: Any) -> str:
    code = re.sub(r"[\s\-]", "", str(value or "")).upper()
    if not _CODE.match(code):
        raise TagError({"code": ["the 8-character code printed on the tag"]})
    return code


def new_code(rng: random.Random | None = None) -> str:
    """A random printed code: not derived from the elevator, so it proves the tag was seen. `rng`:
    a seeded generator for the demo city's tags (the same seed, the same codes); else the system's."""
    pick = rng.choice if rng is not None else secrets.choice
    return "".join(pick(_CODE_ALPHABET) for _ in range(8))


def find(session: Session, *, uid: str | None = None, code: str | None = None) -> CheckinTag | None:
    """The tag with this UID (read by NFC) or this printed code (scanned or typed), retired or not."""
    if uid:
        return session.scalar(select(CheckinTag).where(CheckinTag.uid == normalise_uid(uid)))
    if code:
        return session.scalar(select(CheckinTag).where(CheckinTag.code == normalise_code(code)))
    return None


def active_at(session: Session, elevator_id: int, place: str) -> CheckinTag | None:
    return session.scalar(
        select(CheckinTag).where(
            CheckinTag.elevator_id == elevator_id, CheckinTag.place == place, CheckinTag.active.is_(True)
        )
    )


def of_elevator(session: Session, elevator_id: int) -> list[CheckinTag]:
    return list(
        session.scalars(
            select(CheckinTag).where(CheckinTag.elevator_id == elevator_id).order_by(CheckinTag.place, CheckinTag.id)
        )
    )


def register(
    session: Session,
    *,
    elevator_id: int,
    place: str,
    uid: str,
    code: str | None,
    replace: bool,
    actor: str,
    now: datetime,
) -> tuple[CheckinTag, CheckinTag | None]:
    """Add a tag at a place of an elevator; with `replace`, the active tag there is retired (a
    broken or lost tag), else a place that has one is refused. The new tag and the retired one."""
    errors: dict[str, list[str]] = {}
    if place not in PLACES:
        errors["place"] = [f"one of {', '.join(PLACES)}"]
    if session.get(Elevator, elevator_id) is None:
        errors["elevator_id"] = ["no such elevator"]
    try:
        uid = normalise_uid(uid)
        if session.scalar(select(CheckinTag.id).where(CheckinTag.uid == uid)) is not None:
            errors["uid"] = ["this tag is already registered (a retired tag is not used again)"]
    except TagError as err:
        errors.update(err.errors)
    try:
        code = normalise_code(code) if code else new_code()
        if session.scalar(select(CheckinTag.id).where(CheckinTag.code == code)) is not None:
            errors["code"] = ["this code is already printed on another tag"]
    except TagError as err:
        errors.update(err.errors)
    if errors:
        raise TagError(errors)
    old = active_at(session, elevator_id, place)
    if old is not None and not replace:
        raise TagError(
            {"place": [f"this elevator already has an active {place} tag ({old.uid}); retire it or replace it"]}
        )
    if old is not None:
        retire(old, actor=actor, now=now)
    tag = CheckinTag(
        uid=uid, code=code, elevator_id=elevator_id, place=place, active=True, registered_at=now, registered_by=actor
    )
    session.add(tag)
    session.flush()
    return tag, old


def retire(tag: CheckinTag, *, actor: str, now: datetime) -> None:
    if tag.active:
        tag.active, tag.retired_at, tag.retired_by = False, now, actor


@dataclass
class TagImportReport:
    rows: int = 0
    created: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)  # {"row": n, "errors": {column: [msg]}}


TAG_COLUMNS = ("register_code", "place", "uid", "code")
TAG_ALIASES = {"设备注册代码": "register_code", "位置": "place", "标签UID": "uid", "标签编号": "code"}
PLACE_ALIASES = {"轿厢": "car", "底坑": "pit", "机房": "machine_room"}


def import_tags(session: Session, rows: list[dict[str, Any]], *, actor: str, now: datetime) -> TagImportReport:
    """Register each row's tag (register_code, place, uid, optional code); a row that fails is
    reported with its errors and the others are kept. Rows are numbered as in the file (header 1)."""
    report = TagImportReport()
    codes = {str(r.get("register_code") or "").strip() for r in rows}
    elevators = dict(
        session.execute(select(Elevator.register_code, Elevator.id).where(Elevator.register_code.in_(codes))).all()
    )
    for n, row in enumerate(rows, start=2):
        if not row:
            continue
        report.rows += 1
        elevator_id = elevators.get(str(row.get("register_code") or "").strip())
        if elevator_id is None:
            report.errors.append({"row": n, "errors": {"register_code": ["no elevator with this register code"]}})
            continue
        place = str(row.get("place") or "").strip()
        try:
            with session.begin_nested():
                register(
                    session,
                    elevator_id=elevator_id,
                    place=PLACE_ALIASES.get(place, place),
                    uid=str(row.get("uid") or ""),
                    code=str(row.get("code") or "").strip() or None,
                    replace=False,
                    actor=actor,
                    now=now,
                )
            report.created += 1
        except TagError as err:
            report.errors.append({"row": n, "errors": err.errors})
    return report
