"""Plain reads and writes of the sources' tables (no audit, no register change: processes/
register_sync.py orchestrates): source values, provenance, conflicts and the comparison rule."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from registry.equipment.models import Equipment
from registry.models import Elevator
from registry.scope import Scope, elevators_visible, equipment_visible
from registry.sync.fields import ELEVATOR, EQUIPMENT, stored
from registry.sync.models import FieldProvenance, RegisterConflict, SourceValue

FieldKey = tuple[str, int, str]  # (record_type, record_id, field)
OPEN, RESOLVED, SETTLED = "open", "resolved", "settled"


def said_by(
    session: Session, source: str, record_type: str, record_ids: Iterable[int]
) -> dict[int, dict[str, SourceValue]]:
    """record id -> field -> what `source` last said, for these records (one query per 500)."""
    ids = list(record_ids)
    out: dict[int, dict[str, SourceValue]] = {}
    for start in range(0, len(ids), 500):
        stmt = select(SourceValue).where(
            SourceValue.record_type == record_type,
            SourceValue.source == source,
            SourceValue.record_id.in_(ids[start : start + 500]),
        )
        for row in session.scalars(stmt):
            out.setdefault(row.record_id, {})[row.field] = row
    return out


def report(
    session: Session,
    source: str,
    record_type: str,
    record_id: int,
    fields: Mapping[str, Any],
    *,
    now: datetime,
    batch: str,
    known: Mapping[str, SourceValue] | None = None,
) -> None:
    """Keep what `source` says now about these fields of one record (its earlier word is replaced);
    `known`: its earlier words on this record when the caller fetched them (said_by)."""
    if not fields:
        return
    if known is None:
        known = said_by(session, source, record_type, [record_id]).get(record_id, {})
    for field, value in fields.items():
        row = known.get(field)
        if row is None:
            session.add(
                SourceValue(
                    record_type=record_type,
                    record_id=record_id,
                    field=field,
                    source=source,
                    value=stored(value),
                    reported_at=now,
                    batch=batch[:120],
                )
            )
        elif row.value != stored(value):
            row.value, row.reported_at, row.batch = stored(value), now, batch[:120]


def provenance(session: Session, record_type: str, record_ids: Iterable[int]) -> dict[tuple[int, str], FieldProvenance]:
    """(record id, field) -> who set the field's value, for these records (loaded into the session,
    so set_provenance finds them without another query)."""
    ids = list(record_ids)
    out: dict[tuple[int, str], FieldProvenance] = {}
    for start in range(0, len(ids), 500):
        stmt = select(FieldProvenance).where(
            FieldProvenance.record_type == record_type, FieldProvenance.record_id.in_(ids[start : start + 500])
        )
        out.update({(row.record_id, row.field): row for row in session.scalars(stmt)})
    return out


def open_fields(session: Session, record_type: str, record_ids: Iterable[int]) -> set[tuple[int, str]]:
    """(record id, field) of the open conflicts about these records."""
    ids = list(record_ids)
    out: set[tuple[int, str]] = set()
    for start in range(0, len(ids), 500):
        stmt = select(RegisterConflict.record_id, RegisterConflict.field).where(
            RegisterConflict.status == OPEN,
            RegisterConflict.record_type == record_type,
            RegisterConflict.record_id.in_(ids[start : start + 500]),
        )
        out.update((i, f) for i, f in session.execute(stmt))
    return out


def set_provenance(
    session: Session,
    record_type: str,
    record_id: int,
    field: str,
    *,
    source: str,
    at: datetime,
    by: str,
    held: dict[tuple[int, str], FieldProvenance] | None = None,
) -> None:
    """Record who set the field; `held`: the record's provenance the caller fetched (provenance()),
    kept up to date here, so a batch asks the database nothing more."""
    key = (record_id, field)
    row = held.get(key) if held is not None else session.get(FieldProvenance, (record_id, record_type, field))
    if row is None:
        row = FieldProvenance(record_type=record_type, record_id=record_id, field=field, source=source)
        session.add(row)
        if held is not None:
            held[key] = row
    row.source, row.set_at, row.set_by = source, at, by[:60]


def values_by_field(session: Session, keys: Iterable[FieldKey]) -> dict[FieldKey, dict[str, SourceValue]]:
    """Every source's word on each of these fields."""
    out: dict[FieldKey, dict[str, SourceValue]] = {}
    keys = list(keys)
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        stmt = select(SourceValue).where(
            tuple_(SourceValue.record_type, SourceValue.record_id, SourceValue.field).in_(chunk)
        )
        for row in session.scalars(stmt):
            out.setdefault((row.record_type, row.record_id, row.field), {})[row.source] = row
    return out


def contested_keys(
    session: Session, record_type: str | None = None, record_ids: Iterable[int] | None = None
) -> set[FieldKey]:
    """Fields that two sources or more have spoken about, or that have an open conflict: the only
    fields where a conflict can begin or end."""
    several = (
        select(SourceValue.record_type, SourceValue.record_id, SourceValue.field)
        .group_by(SourceValue.record_type, SourceValue.record_id, SourceValue.field)
        .having(func.count() > 1)
    )
    opened = select(RegisterConflict.record_type, RegisterConflict.record_id, RegisterConflict.field).where(
        RegisterConflict.status == OPEN
    )
    if record_type is not None:
        several = several.where(SourceValue.record_type == record_type)
        opened = opened.where(RegisterConflict.record_type == record_type)
    if record_ids is not None:
        ids = list(record_ids)
        several = several.where(SourceValue.record_id.in_(ids))
        opened = opened.where(RegisterConflict.record_id.in_(ids))
    return {(t, i, f) for t, i, f in session.execute(several)} | {(t, i, f) for t, i, f in session.execute(opened)}


def disagree(values: Mapping[str, Any]) -> bool:
    return len({json.dumps(stored(v), sort_keys=True) for v in values.values()}) > 1


def fingerprint(values: Mapping[str, Any]) -> str:
    """The disagreement as one digest: which source says what."""
    text = json.dumps({k: stored(v) for k, v in sorted(values.items())}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def open_key(key: FieldKey) -> str:
    return f"{key[0]}:{key[1]}:{key[2]}"


def open_conflicts(session: Session, keys: Iterable[FieldKey]) -> dict[FieldKey, RegisterConflict]:
    wanted = [open_key(k) for k in keys]
    out = {}
    for start in range(0, len(wanted), 500):
        for row in session.scalars(
            select(RegisterConflict).where(RegisterConflict.open_key.in_(wanted[start : start + 500]))
        ):
            out[(row.record_type, row.record_id, row.field)] = row
    return out


def decided(session: Session, key: FieldKey, digest: str) -> bool:
    """This very disagreement was already decided (or the sources once came to agree on it)."""
    stmt = select(RegisterConflict.id).where(
        RegisterConflict.record_type == key[0],
        RegisterConflict.record_id == key[1],
        RegisterConflict.field == key[2],
        RegisterConflict.fingerprint == digest,
        RegisterConflict.status != OPEN,
    )
    return session.scalar(stmt.limit(1)) is not None


def visible(scope: Scope) -> ColumnElement[bool]:
    """Conflicts about records in the user's scope (the register's own rule, in the query)."""
    return or_(
        and_(
            RegisterConflict.record_type == ELEVATOR,
            RegisterConflict.record_id.in_(select(Elevator.id).where(elevators_visible(scope))),
        ),
        and_(
            RegisterConflict.record_type == EQUIPMENT,
            RegisterConflict.record_id.in_(select(Equipment.id).where(equipment_visible(scope))),
        ),
    )


def listing(scope: Scope, args: Mapping[str, Any]) -> Select[tuple[RegisterConflict]]:
    """Conflicts in scope with the list's filters: status (default open), record type, field,
    district, register code."""
    stmt = select(RegisterConflict).where(visible(scope))
    if args.get("status", OPEN) != "all":
        stmt = stmt.where(RegisterConflict.status == args.get("status", OPEN))
    if args.get("record_type"):
        stmt = stmt.where(RegisterConflict.record_type == args["record_type"])
    if args.get("field"):
        stmt = stmt.where(RegisterConflict.field == args["field"])
    district, code = args.get("district"), args.get("register_code")
    if district or code:
        lifts, others = select(Elevator.id), select(Equipment.id)
        if district:
            lifts, others = (
                lifts.where(Elevator.district_code == district),
                others.where(Equipment.district_code == district),
            )
        if code:
            like = f"%{code}%"
            lifts, others = (
                lifts.where(Elevator.register_code.like(like)),
                others.where(Equipment.register_code.like(like)),
            )
        stmt = stmt.where(
            or_(
                and_(RegisterConflict.record_type == ELEVATOR, RegisterConflict.record_id.in_(lifts)),
                and_(RegisterConflict.record_type == EQUIPMENT, RegisterConflict.record_id.in_(others)),
            )
        )
    return stmt


def records_named(session: Session, conflicts: Iterable[RegisterConflict]) -> dict[tuple[str, int], tuple[str, str]]:
    """(record_type, id) -> (register code, district code) of the records these conflicts are about."""
    wanted: dict[str, set[int]] = {}
    for c in conflicts:
        wanted.setdefault(c.record_type, set()).add(c.record_id)
    out: dict[tuple[str, int], tuple[str, str]] = {}
    for record_type, model in ((ELEVATOR, Elevator), (EQUIPMENT, Equipment)):
        if wanted.get(record_type):
            rows = session.execute(
                select(model.id, model.register_code, model.district_code).where(model.id.in_(wanted[record_type]))
            )
            out.update({(record_type, i): (code, district) for i, code, district in rows})
    return out
