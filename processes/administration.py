"""Administrative changes to the register (users and their roles, organisations, elevators, IoT
boxes), each written with its admin audit entry (processes/admin_audit.py) in the caller's
transaction: the views commit, so a change and its entry are kept or refused together.

The safety rules: an admin cannot disable themselves or take away their own admin role, and no
one can disable or demote the last active admin (the platform would have no one to administer it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from infra.errors import Conflict
from processes import admin_audit, register_sync
from registry.accounts import sessions
from registry.accounts.service import hash_password
from registry.codes import KIND_BY_CATEGORY, make_qr_code
from registry.importing import ImportReport, import_elevators
from registry.models import Device, Elevator, Organisation, Role, User
from registry.places import is_key_place
from registry.sync.fields import ELEVATOR

Row = TypeVar("Row", Organisation, User, Elevator)
USER_FIELDS = ("username", "display_name", "roles", "organisation_id", "phone", "email", "on_call", "active")


def _target(kind: str, row: Any, name: str | None) -> dict[str, Any]:
    return {"type": kind, "id": row.id, "name": name}


def _apply(row: Any, changes: dict[str, Any]) -> dict[str, Any]:
    """Set the fields; what changed as {field: [before, after]}."""
    diff: dict[str, Any] = {}
    for key, value in changes.items():
        before = getattr(row, key)
        if before != value:
            diff[key] = [before, value]
            setattr(row, key, value)
    return diff


def _created(
    session: Session, row: Row, kind: str, name: str | None, fields: dict[str, Any], actor: str, now: datetime
) -> Row:
    session.add(row)
    session.flush()  # the id for the entry; a duplicate key fails here, before anything is recorded
    target = _target(kind, row, name)
    admin_audit.record(session, f"{kind}.created", actor=actor, at=now, target=target, changes=fields)
    return row


def _updated(
    session: Session, row: Row, kind: str, name: str | None, diff: dict[str, Any], actor: str, now: datetime
) -> None:
    """One entry for what changed (nothing when nothing did)."""
    if diff:
        target = _target(kind, row, name)
        admin_audit.record(session, f"{kind}.updated", actor=actor, at=now, target=target, changes=diff)


# -- organisations -------------------------------------------------------------------------------


def create_organisation(session: Session, fields: dict[str, Any], *, actor: str, now: datetime) -> Organisation:
    return _created(session, Organisation(**fields), "organisation", fields.get("code"), fields, actor, now)


def update_organisation(
    session: Session, org: Organisation, changes: dict[str, Any], *, actor: str, now: datetime
) -> Organisation:
    _updated(session, org, "organisation", org.code, _apply(org, changes), actor, now)
    return org


# -- users ---------------------------------------------------------------------------------------


def create_user(session: Session, fields: dict[str, Any], *, password: str | None, actor: str, now: datetime) -> User:
    user = User(password_hash=hash_password(password) if password else None, **fields)
    shown = {k: fields.get(k) for k in USER_FIELDS if k in fields} | {"password": "set" if password else "none"}
    return _created(session, user, "user", user.username, shown, actor, now)


def update_user(
    session: Session,
    user: User,
    changes: dict[str, Any],
    *,
    password: str | None,
    actor_id: int,
    actor: str,
    now: datetime,
) -> User:
    """Conflict when the change would leave the caller, or the platform, without an admin."""
    admin_audit.lock(session)  # admins changing each other at once: one after the other
    revoked = sessions.revoking_change(user, {**changes, "password": password} if password else changes)
    was_admin = user.active and Role.ADMIN in (user.roles or [])
    diff = _apply(user, changes)
    if was_admin and not (user.active and Role.ADMIN in (user.roles or [])):
        _check_admin_may_go(session, user, actor_id)
    if password:
        user.password_hash = hash_password(password)
        diff["password"] = "changed"  # never the password or its hash
    _updated(session, user, "user", user.username, diff, actor, now)
    if revoked is not None:  # signed out everywhere, at once: sessions are checked on every request
        sessions.end_all(session, user.id, reason=revoked, now=now)
    return user


def _check_admin_may_go(session: Session, user: User, actor_id: int) -> None:
    if user.id == actor_id:
        raise Conflict("you cannot disable yourself" if not user.active else "you cannot take away your own admin role")
    others = session.execute(select(User.id, User.roles).where(User.active.is_(True), User.id != user.id))
    if not any(Role.ADMIN in (roles or []) for _, roles in others):
        raise Conflict(f"{user.username} is the last active admin; make another admin first")


# -- elevators and devices -----------------------------------------------------------------------


def register_elevator(session: Session, fields: dict[str, Any], *, actor: str, now: datetime) -> Elevator:
    code = fields["register_code"]
    fields = {"key_place": is_key_place(fields.get("place_category")), **fields}
    elevator = Elevator(qr_code=make_qr_code(code), kind=KIND_BY_CATEGORY.get(code[:4], "traction"), **fields)
    return _created(session, elevator, "elevator", code, fields, actor, now)


def update_elevator(
    session: Session, elevator: Elevator, changes: dict[str, Any], *, actor: str, now: datetime
) -> Elevator:
    if "place_category" in changes and "key_place" not in changes:  # the flag follows a new category
        changes = {**changes, "key_place": is_key_place(changes["place_category"])}
    diff = _apply(elevator, changes)
    _updated(session, elevator, "elevator", elevator.register_code, diff, actor, now)
    register_sync.note_local_edit(session, ELEVATOR, elevator.id, diff, actor=actor, now=now)
    return elevator


def import_elevator_rows(
    session: Session,
    rows: list[dict[str, Any]],
    *,
    dry_run: bool,
    filename: str,
    actor: str,
    now: datetime,
    province_prefix: str | None = None,
) -> ImportReport:
    """The bulk import (registry.importing), one entry for the file when it wrote anything."""
    report = import_elevators(session, rows, dry_run=dry_run, province_prefix=province_prefix)
    if not dry_run:
        admin_audit.record_import(
            session, report, "elevators.imported", "elevator_import", filename=filename, actor=actor, at=now
        )
    return report


def register_device(
    session: Session, fields: dict[str, Any], elevator: Elevator | None, *, actor: str, now: datetime
) -> Device:
    """An IoT box, bound to `elevator` when given (the caller checked it has no box yet)."""
    device = Device(**fields)
    session.add(device)
    if elevator is not None:
        elevator.device_id = device.id
    session.flush()
    target = {"type": "device", "id": device.id, "name": device.id}
    admin_audit.record(session, "device.created", actor=actor, at=now, target=target, changes=fields)
    return device
