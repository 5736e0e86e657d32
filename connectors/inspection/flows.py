"""The one path from an inspection report to its effect, for the webhook and the import alike:
find the equipment, refuse a report already received (same source and idempotency key), hand it
to processes.inspection_results, keep the report with its outcome."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from connectors.inspection import service
from connectors.inspection.models import InspectionReport, InspectionSource
from connectors.inspection.schema import Report, ReportInvalid, group_rows, result_of
from engine.models import Case
from processes import inspection_results
from processes.system import System


@dataclass(frozen=True)
class Accepted:
    report_id: int
    outcome: str
    case_id: int | None
    case_number: str | None
    expiry_case_id: int | None
    duplicate: bool


def _answer(session: Any, row: InspectionReport, *, duplicate: bool, expiry_case_id: int | None = None) -> Accepted:
    number = session.get(Case, row.case_id).number if row.case_id else None
    return Accepted(row.id, row.outcome, row.case_id, number, expiry_case_id, duplicate)


# The advisory-lock class of report claims (two-key form: this, a hash of source and key). "ir" in ASCII.
CLAIM_CLASS = 0x6972


@contextmanager
def _one_at_a_time(system: System, source_id: int, key: str) -> Iterator[None]:
    """Copies of one report (same source, same idempotency key) arriving at once are handled one
    after another: the first has its effect, the others then find its row and answer duplicate.
    Without this, 8 copies each renewed the register (8 audit entries) before any row was written.
    A session-level advisory lock on PostgreSQL (released with the connection if the process dies);
    SQLite has one writer at a time and is not run with concurrent webhooks."""
    if system.db.dialect.name != "postgresql":
        yield
        return
    digest = hashlib.sha256(f"{source_id}:{key}".encode()).digest()
    claim = {"cls": CLAIM_CLASS, "key": int.from_bytes(digest[:4], "big", signed=True)}
    with system.db.connect() as lock:
        lock.execute(text("SELECT pg_advisory_lock(:cls, :key)"), claim)
        lock.commit()  # hold the lock, not a transaction
        try:
            yield
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(:cls, :key)"), claim)
            lock.commit()


def effect_key(source_name: str, key: str) -> str:
    """What the report's effects are idempotent under (the case's signal, its items' origin, both
    at most 160 characters with their prefix): source and key whole, or hashed when that is longer
    than 140. Never cut: two long keys cut to one prefix made the second report's items vanish."""
    full = f"{source_name}:{key}"
    if len(full) <= 140:
        return full
    return f"{source_name[:20]}:sha256:{hashlib.sha256(full.encode()).hexdigest()}"


class KeyReused(ValueError):
    """The report's idempotency key was already used by this source for a different report: the
    sender reused a key (or a report number) by mistake. Answering `duplicate` would tell it the
    new report is stored when it was dropped."""

    def __init__(self, key: str, kept: InspectionReport) -> None:
        super().__init__(
            f"the idempotency key {key!r} was already used for a different report (report {kept.report_no} of "
            f"{kept.inspected_on.isoformat()} on {kept.register_code}, received {kept.received_at.isoformat()}); "
            "send a new report under a new key"
        )
        self.key = key


def same_report(kept: InspectionReport, report: Report, register_code: str | None) -> bool:
    """Whether a report sent again under its key says what the one kept says (its `ts` and its
    signature may differ: a sender re-signs a retry). `register_code`: the register's code of the
    equipment the new report names (an elevator may be named by its QR code)."""
    r = report.result
    return (
        kept.report_no == r.report_no
        and kept.register_code == register_code
        and kept.inspected_on == r.inspected_on
        and kept.conclusion == r.conclusion
        and kept.next_due == r.next_due
        and list(kept.nonconformities or []) == [f.as_dict() for f in r.findings]
    )


def _again(session: Any, kept: InspectionReport, report: Report) -> Accepted:
    """The answer to a report whose key was used before: duplicate when it is the same report."""
    target = inspection_results.find_target(session, report.register_code)
    if not same_report(kept, report, target.register_code if target else None):
        raise KeyReused(report.idempotency_key, kept)
    return _answer(session, kept, duplicate=True)


def accept_report(system: System, source_id: int, report: Report, *, via: str, actor: str) -> Accepted:
    """ReportInvalid (per field) when the report names no registered equipment; otherwise what it did."""
    with _one_at_a_time(system, source_id, report.idempotency_key):
        return _accept(system, source_id, report, via=via, actor=actor)


def _accept(system: System, source_id: int, report: Report, *, via: str, actor: str) -> Accepted:
    key = report.idempotency_key
    with system.sessions() as session:
        source = session.get(InspectionSource, source_id)
        assert source is not None
        before = service.received(session, source_id, key)
        if before is not None:
            return _again(session, before, report)
        target = inspection_results.find_target(session, report.register_code)
        source_name, agency_id = source.name, source.organisation_id
    if target is None:
        raise ReportInvalid({"register_code": [f"no registered elevator or equipment {report.register_code!r}"]})
    outcome = inspection_results.accept(
        system, target, report.result, key=effect_key(source_name, key), agency_id=agency_id, actor=actor
    )
    r = report.result
    row = InspectionReport(
        source_id=source_id,
        idempotency_key=key,
        report_no=r.report_no,
        register_code=target.register_code,
        elevator_id=target.elevator_id,
        equipment_id=target.equipment_id,
        inspected_on=r.inspected_on,
        conclusion=r.conclusion,
        next_due=r.next_due,
        nonconformities=[f.as_dict() for f in r.findings],
        via=via,
        outcome=outcome.outcome,
        case_id=outcome.case_id,
        received_at=system.clock.now(),
        received_by=actor[:60],
    )
    with system.sessions() as session:
        try:
            with session.begin():
                session.add(row)
        except IntegrityError:  # the same report raced in twice: the other one's row stands
            with session.begin():
                kept = service.received(session, source_id, key)
                assert kept is not None
                return _again(session, kept, report)
        # This request wrote the report's row: it is the one that accepted it, even when its case
        # was opened a moment earlier by a racing copy of the same report (that copy answers duplicate).
        return _answer(session, row, duplicate=False, expiry_case_id=outcome.expiry_case_id)


@dataclass
class ImportSummary:
    rows: int
    reports: int
    accepted: int
    duplicates: int
    cases_opened: list[str]
    errors: list[dict[str, Any]]


def import_rows(
    system: System, source_id: int, source_name: str, rows: list[dict[str, Any]], *, actor: str
) -> ImportSummary:
    """Every good report of the file accepted (as the webhook would), every bad row reported with
    its number and messages per column; good reports are kept whatever the bad rows."""
    good, errors = group_rows(rows)
    accepted = duplicates = 0
    opened: list[str] = []
    for numbers, data in good:
        report = Report(source_name, data["report_no"], data["register_code"], result_of(data))
        try:
            done = accept_report(system, source_id, report, via="import", actor=actor)
        except ReportInvalid as err:
            for n in numbers:
                errors.append({"row": n, "errors": err.errors})
            continue
        except KeyReused as err:  # a report number imported before for another report
            for n in numbers:
                errors.append({"row": n, "errors": {"report_no": [str(err)]}})
            continue
        if done.duplicate:
            duplicates += 1
        else:
            accepted += 1
            if done.case_number and done.outcome == "rectification_opened":
                opened.append(done.case_number)
    errors.sort(key=lambda e: e["row"])
    return ImportSummary(sum(1 for r in rows if r), len(good), accepted, duplicates, opened, errors)
