"""Register sync and reconciliation (数据治理): a source's export read into the register with each
field's provenance, the comparison of the sources field by field, and a regulator's decision.

The rule that keeps local work: a source's value is written into the register only where the field
holds that source's own earlier value, or a value nobody has reported yet. Where the field was set
by another source, by an admin's edit or by a regulator's decision, the new value is kept as the
source's word and the disagreement becomes a conflict; nothing is overwritten silently.

Every register change here is an admin audit entry (`elevator.synced`, `elevator.reconciled`, the
same for equipment), so it reaches the outbound feed like any other register change."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from infra.errors import Conflict
from infra.periodic import Periodic
from processes import admin_audit
from processes.system import System
from registry.equipment.models import Equipment
from registry.models import District, Organisation
from registry.sync import service
from registry.sync.fields import EQUIPMENT, LOCAL, RECORDS, TRACKED, field_value, same, stored
from registry.sync.models import RegisterConflict
from registry.sync.reading import Known, row_fields

JOB = "reconcile_register"
CHUNK = 500  # rows whose records' state is fetched together


@dataclass
class SyncReport:
    source: str
    rows: int = 0
    records: int = 0  # rows matched to a record of the register
    updated: int = 0  # records whose register values changed
    fields_set: int = 0
    unmatched: list[dict[str, Any]] = field(default_factory=list)  # {"row", "register_code"}
    errors: list[dict[str, Any]] = field(default_factory=list)  # {"row", "errors": {column: [msg]}}
    conflicts_opened: int = 0
    conflicts_updated: int = 0


@dataclass
class ReconcileResult:
    compared: int = 0
    opened: int = 0
    updated: int = 0
    settled: int = 0

    def line(self) -> str:
        return f"compared={self.compared} opened={self.opened} updated={self.updated} settled={self.settled}"


def _target(record_type: str, record: Any) -> dict[str, Any]:
    return {"type": record_type, "id": record.id, "name": record.register_code}


def _records(session: Session, codes: list[str]) -> dict[str, tuple[str, Any]]:
    """register code -> (record type, record): elevators first, then the other equipment."""
    found: dict[str, tuple[str, Any]] = {}
    for start in range(0, len(codes), 500):
        chunk = codes[start : start + 500]
        for record_type, model in RECORDS.items():
            rows: list[Any] = list(session.scalars(select(model).where(model.register_code.in_(chunk))))
            for record in rows:
                found[record.register_code] = (record_type, record)
    return found


def import_source(
    session: Session,
    rows: list[dict[str, Any]],
    *,
    source: str,
    filename: str,
    actor: str,
    now: datetime,
    province_prefix: str | None = None,
) -> SyncReport:
    """Read a source's export into the register, in the caller's transaction: each row's fields
    kept as the source's word, written where the rule above allows, with their provenance; then
    the rows' records compared. Rows about register codes the register lacks are listed, not
    created (the register's own import registers new equipment)."""
    known = _known(session, province_prefix)
    report = SyncReport(source)
    numbered = [(n, r) for n, r in enumerate(rows, start=2) if r]  # row 1 is the header
    report.rows = len(numbered)
    records = _records(session, sorted({str(r.get("register_code") or "").strip() for _, r in numbered}))
    touched: dict[str, set[int]] = {}
    for start in range(0, len(numbered), CHUNK):
        chunk = numbered[start : start + CHUNK]
        in_chunk: dict[str, set[int]] = {}
        for _, row in chunk:
            found = records.get(str(row.get("register_code") or "").strip())
            if found is not None:
                in_chunk.setdefault(found[0], set()).add(found[1].id)
        state = {t: _State.fetch(session, source, t, i) for t, i in in_chunk.items()}
        entries: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        for number, row in chunk:
            code = str(row.get("register_code") or "").strip()
            if code not in records:
                report.unmatched.append({"row": number, "register_code": code})
                continue
            record_type, record = records[code]
            fields, errors = row_fields(row, record_type, known)
            if errors:
                report.errors.append({"row": number, "errors": errors})
                continue
            report.records += 1
            diff = _sync_record(session, record_type, record, fields, state[record_type], source, filename, actor, now)
            if diff:
                report.updated += 1
                report.fields_set += len(diff)
                changes = {"source": source, "file": filename, "fields": diff}
                entries.append((f"{record_type}.synced", _target(record_type, record), changes))
            touched.setdefault(record_type, set()).add(record.id)
        admin_audit.record_many(session, entries, actor=actor, at=now)  # one entry per record changed
    result = ReconcileResult()
    for record_type, ids in touched.items():
        _compare(session, service.contested_keys(session, record_type, ids), now, result)
    report.conflicts_opened, report.conflicts_updated = result.opened, result.updated
    counts = {
        "source": source,
        "rows": report.rows,
        "records": report.records,
        "updated": report.updated,
        "unmatched": len(report.unmatched),
        "invalid_rows": len(report.errors),
        "conflicts_opened": result.opened,
    }
    admin_audit.record(
        session,
        "register_sync.imported",
        actor=actor,
        at=now,
        target={"type": "register_sync", "name": filename},
        changes=counts,
    )
    return report


@dataclass(frozen=True)
class _State:
    """What the tables hold about a batch of records, fetched once: this source's earlier words,
    the fields' provenance, the fields with an open conflict."""

    said: dict[int, dict[str, Any]]
    held: dict[tuple[int, str], Any]
    opened: set[tuple[int, str]]

    @classmethod
    def fetch(cls, session: Session, source: str, record_type: str, ids: set[int]) -> _State:
        return cls(
            service.said_by(session, source, record_type, ids),
            service.provenance(session, record_type, ids),
            service.open_fields(session, record_type, ids),
        )


def _known(session: Session, province_prefix: str | None) -> Known:
    orgs = session.execute(select(Organisation.id, Organisation.code, Organisation.kind))
    return Known(set(session.scalars(select(District.code))), {c: (i, k) for i, c, k in orgs}, province_prefix)


def _sync_record(
    session: Session,
    record_type: str,
    record: Any,
    fields: dict[str, Any],
    state: _State,
    source: str,
    filename: str,
    actor: str,
    now: datetime,
) -> dict[str, list[Any]]:
    """One row: the source's word kept, the fields it may set written, their provenance; the diff."""
    known_words = state.said.get(record.id, {})
    service.report(session, source, record_type, record.id, fields, now=now, batch=filename, known=known_words)
    diff = _take(record_type, record, fields, state, source=source, actor=actor, now=now)
    for name, value in fields.items():  # the source set it, or is the first to vouch for it
        if name in diff or ((record.id, name) not in state.held and same(getattr(record, name), value)):
            service.set_provenance(
                session, record_type, record.id, name, source=source, at=now, by=actor, held=state.held
            )
    return diff


def _take(
    record_type: str, record: Any, fields: dict[str, Any], state: _State, *, source: str, actor: str, now: datetime
) -> dict[str, list[Any]]:
    """Write the fields this source may set; {field: [before, after]} of what changed."""
    diff: dict[str, list[Any]] = {}
    for name, value in fields.items():
        before = getattr(record, name)
        origin = state.held.get((record.id, name))
        if same(before, value):
            continue
        if (origin is not None and origin.source != source) or (record.id, name) in state.opened:
            continue  # someone else's value: the comparison lists the conflict
        setattr(record, name, value)
        diff[name] = [stored(before), stored(value)]
    if diff and record_type == EQUIPMENT:
        record.updated_at = now
    return diff


def _compare(session: Session, keys: set[service.FieldKey], now: datetime, result: ReconcileResult) -> None:
    """Open, update or settle the conflicts of these fields from what the sources say now."""
    words = service.values_by_field(session, keys)
    opened = service.open_conflicts(session, keys)
    current = _current_values(session, keys)
    for key in sorted(keys):
        said = words.get(key, {})
        values = {source: row.value for source, row in said.items()}
        result.compared += 1
        conflict = opened.get(key)
        digest = service.fingerprint(values)
        if not service.disagree(values):
            if conflict is not None:  # the sources came to agree: nothing left to decide
                conflict.status, conflict.open_key = service.SETTLED, None
                conflict.resolved_at, conflict.resolved_by = now, "reconciliation"
                conflict.reason, conflict.fingerprint = "the sources agree", digest
                result.settled += 1
            continue
        candidates = {s: {"value": r.value, "reported_at": r.reported_at.isoformat()} for s, r in said.items()}
        if conflict is not None:
            if conflict.fingerprint != digest:
                conflict.candidates, conflict.fingerprint, conflict.updated_at = candidates, digest, now
                conflict.register_value = current.get(key)
                result.updated += 1
            continue
        if service.decided(session, key, digest):
            continue
        session.add(
            RegisterConflict(
                record_type=key[0],
                record_id=key[1],
                field=key[2],
                open_key=service.open_key(key),
                status=service.OPEN,
                candidates=candidates,
                register_value=current.get(key),
                fingerprint=digest,
                detected_at=now,
                updated_at=now,
            )
        )
        result.opened += 1
    session.flush()


def _current_values(session: Session, keys: set[service.FieldKey]) -> dict[service.FieldKey, Any]:
    out: dict[service.FieldKey, Any] = {}
    for record_type, model in RECORDS.items():
        ids = {k[1] for k in keys if k[0] == record_type}
        if not ids:
            continue
        rows: list[Any] = list(session.scalars(select(model).where(model.id.in_(ids))))
        for record in rows:
            for name in TRACKED[record_type]:
                out[(record_type, record.id, name)] = stored(getattr(record, name))
    return out


def reconcile(system: System) -> ReconcileResult:
    """Compare every field two sources have spoken about (the job and `liftcase registry reconcile`)."""
    result = ReconcileResult()
    now = system.clock.now()
    with system.sessions() as session, session.begin():
        _compare(session, service.contested_keys(session), now, result)
    return result


def reconcile_job(system: System) -> str:
    return reconcile(system).line()


def note_local_edit(
    session: Session, record_type: str, record_id: int, diff: dict[str, Any], *, actor: str, now: datetime
) -> None:
    """An admin changed these fields ({field: [before, after]}): the register's own word now, which no
    import overwrites; where a source says otherwise, a conflict is listed at once."""
    note_word(session, LOCAL, record_type, record_id, diff, actor=actor, now=now)


def note_word(
    session: Session,
    source: str,
    record_type: str,
    record_id: int,
    diff: dict[str, Any],
    *,
    actor: str,
    now: datetime,
) -> None:
    """`source` wrote these fields ({field: [before, after]}) outside an import (an admin's edit, an
    inspection result): its word and the fields' provenance, so a later import of another source does
    not overwrite them silently; where a source says otherwise, a conflict is listed at once."""
    fields = {name: change[1] for name, change in diff.items() if name in TRACKED[record_type]}
    if not fields:
        return
    service.report(session, source, record_type, record_id, fields, now=now, batch=f"{source} by {actor}")
    for name in fields:
        service.set_provenance(session, record_type, record_id, name, source=source, at=now, by=actor)
    _compare(session, service.contested_keys(session, record_type, [record_id]), now, ReconcileResult())


def resolve(
    session: Session, conflict: RegisterConflict, *, source: str, reason: str, actor: str, now: datetime
) -> RegisterConflict:
    """A regulator's decision: the register takes the value `source` reported (or keeps its own:
    source "register"); the decision becomes the register's local word, audited, and sent in the
    feed. The same disagreement is not listed again."""
    if conflict.status != service.OPEN:
        raise Conflict(f"conflict {conflict.id} is already {conflict.status}")
    model = RECORDS[conflict.record_type]
    record = session.get(model, conflict.record_id, with_for_update=True)
    if record is None:
        raise Conflict(f"the {conflict.record_type} of conflict {conflict.id} is gone")
    before = stored(getattr(record, conflict.field))
    if source == "register":
        chosen = before
    elif source in conflict.candidates:
        chosen = conflict.candidates[source]["value"]
    else:
        raise ValueError(f"choose one of: register, {', '.join(sorted(conflict.candidates))}")
    setattr(record, conflict.field, field_value(conflict.record_type, conflict.field, chosen))
    if isinstance(record, Equipment):
        record.updated_at = now
    key = (conflict.record_type, conflict.record_id, conflict.field)
    service.report(session, LOCAL, *key[:2], {conflict.field: chosen}, now=now, batch=f"conflict {conflict.id}")
    service.set_provenance(session, *key, source=LOCAL, at=now, by=actor)
    values = {s: row.value for s, row in service.values_by_field(session, [key]).get(key, {}).items()}
    conflict.status, conflict.open_key, conflict.fingerprint = service.RESOLVED, None, service.fingerprint(values)
    conflict.resolved_at, conflict.resolved_by, conflict.reason = now, actor[:60], reason[:500]
    conflict.chosen_source, conflict.chosen_value = source, chosen
    changes = {
        "fields": {conflict.field: [before, chosen]},
        "source": source,
        "reason": reason,
        "conflict": conflict.id,
    }
    admin_audit.record(
        session,
        f"{conflict.record_type}.reconciled",
        actor=actor,
        at=now,
        target=_target(conflict.record_type, record),
        changes=changes,
    )
    return conflict


def queue_reconcile(system: System) -> None:
    system.jobs.enqueue(JOB)


NIGHTLY = Periodic("reconcile_register", queue_reconcile, {"hour": 3, "minute": 10})
