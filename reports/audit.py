"""Audit packages: every event of the cases in a time range and scope, with their hash chains and
a manifest, in one zip that `liftcase audit verify` checks without a database.

Contents (format `liftcase-audit/1`):
- `events.jsonl`  one event per line, by case then sequence: case_id, case, seq, kind, at (UTC,
  microseconds, exactly as hashed), actor, payload, prev_hash, hash.
- `chains.jsonl`  one line per case: the number of events and the head hash the case row recorded.
- `manifest.json` the range and scope, the SHA-256, size and line count of each file, every case's
  chain head, and `digest`: the SHA-256 of the manifest's own canonical JSON without that field.
  Print the digest (the CLI does) and keep it apart from the package: with it, even a
  package rebuilt from scratch with fresh hashes is caught.

A case is in the package when one of its events falls in the range; its whole chain is exported
(genesis to head), so every chain verifies on its own.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from engine.models import Case, TimelineEvent
from processes.visibility import cases_visible
from registry.models import Elevator
from registry.scope import Scope
from reports.audit_verify import FORMAT, canonical, manifest_digest

HASHED_TIME = "microseconds"


def _lines(objs: Iterator[dict[str, Any]]) -> tuple[bytes, int]:
    buf = io.BytesIO()
    n = 0
    for obj in objs:
        buf.write(canonical(obj).encode() + b"\n")
        n += 1
    return buf.getvalue(), n


def _file_entry(data: bytes, lines: int) -> dict[str, Any]:
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "lines": lines}


def build_package(
    sessions: sessionmaker,
    scope: Scope,
    start: datetime,
    end: datetime,
    *,
    district: str | None = None,
    now: datetime,
    created_by: str,
) -> tuple[bytes, dict[str, Any]]:
    """(zip bytes, manifest). Reads in one transaction of its own on one snapshot (REPEATABLE READ
    on PostgreSQL; SQLite's transaction is one already), so every head matches its events."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("the range must be timezone-aware")
    if start >= end:
        raise ValueError(f"empty range: {start.isoformat()} is not before {end.isoformat()}")
    with sessions() as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        return _build(session, scope, start, end, district=district, now=now, created_by=created_by)


def _cases_in(session: Session, scope: Scope, start: datetime, end: datetime, district: str | None) -> list[Case]:
    """The visible cases with an event in the range (and in the district, when one is given), by id."""
    active = select(TimelineEvent.case_id).where(TimelineEvent.at >= start, TimelineEvent.at < end)
    stmt = select(Case).where(cases_visible(scope), Case.id.in_(active)).order_by(Case.id)
    if district:
        lifts = select(Elevator.id).where(Elevator.district_code == district)
        stmt = stmt.where((Case.district_code == district) | Case.elevator_id.in_(lifts))
    return list(session.scalars(stmt).all())


def _event_rows(session: Session, numbers: dict[int, str]) -> Iterator[dict[str, Any]]:
    """Every event of these cases (id -> case number), whole chains, in case then sequence order."""
    ids = list(numbers)
    for i in range(0, len(ids), 500):  # bounded IN lists; rows stream in case then seq order
        chunk = ids[i : i + 500]
        rows = session.scalars(
            select(TimelineEvent)
            .where(TimelineEvent.case_id.in_(chunk))
            .order_by(TimelineEvent.case_id, TimelineEvent.seq, TimelineEvent.id)
        )
        for e in rows:
            yield {
                "case_id": e.case_id,
                "case": numbers[e.case_id],
                "seq": e.seq,
                "kind": e.kind,
                "at": e.at.isoformat(timespec=HASHED_TIME),
                "actor": e.actor,
                "payload": e.payload,
                "prev_hash": e.prev_hash,
                "hash": e.hash,
            }


def _chain_row(case: Case) -> dict[str, Any]:
    """A case's chain as its row recorded it: the event count and the head hash."""
    return {
        "case_id": case.id,
        "case": case.number,
        "type": case.case_type,
        "district": case.district_code,
        "events": case.timeline_seq,
        "head": case.timeline_head,
    }


def _zip(manifest: dict[str, Any], events_data: bytes, chains_data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True))
        zf.writestr("events.jsonl", events_data)
        zf.writestr("chains.jsonl", chains_data)
    return out.getvalue()


def _build(
    session: Session,
    scope: Scope,
    start: datetime,
    end: datetime,
    *,
    district: str | None,
    now: datetime,
    created_by: str,
) -> tuple[bytes, dict[str, Any]]:
    cases = _cases_in(session, scope, start, end, district)
    events_data, n_events = _lines(_event_rows(session, {c.id: c.number for c in cases}))
    chains = [_chain_row(c) for c in cases]
    chains_data, _ = _lines(iter(chains))
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "created_at": now.isoformat(),
        "created_by": created_by,
        "range": {"from": start.isoformat(), "to": end.isoformat()},
        "scope": {
            "user": scope.username,
            "organisation_id": scope.organisation_id,
            "city_wide": scope.city_wide,
            "district": district or (None if scope.city_wide else scope.district_code),
        },
        "cases": len(cases),
        "events": n_events,
        "files": {
            "events.jsonl": _file_entry(events_data, n_events),
            "chains.jsonl": _file_entry(chains_data, len(chains)),
        },
        "chain_heads": {c["case"]: c["head"] for c in chains},
    }
    manifest["digest"] = manifest_digest(manifest)
    return _zip(manifest, events_data, chains_data), manifest
