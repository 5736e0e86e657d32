"""The supervision-warning rules (监督预警), evaluated set-based over cases in sliding windows, and
the orders regulators give on them.

Each rule is one grouped query (or one query and a pass in Python) over the cases of its window;
thresholds come from processes/sla.toml [supervision.*]. A finding's idempotency key is the rule,
its subject and the newest case behind it: a rerun, or the next day's scan over the same cases,
opens nothing twice, and a dismissed warning comes back only when a new case adds to the pattern.

An order (`order_linked_case` in a supervision case) is a pending signal; `open_ordered_cases`
opens the linked cases and hands each number back to its supervision case.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.durations import parse_duration
from engine.models import Case, CaseStatus, TimelineEvent
from infra.periodic import Periodic
from infra.settings import CITY_TZ
from processes.intake import IntakeItem, ScanResult, open_or_join_many
from processes.models import Signal
from processes.sla import load_sla
from processes.supervision import KEY
from processes.system import System
from registry.models import Elevator, Organisation

SCAN_JOB = "supervision_scan"


@dataclass(frozen=True)
class Report:
    """One report behind a pattern: its timeline event, its case and elevator."""

    event_id: int
    number: str
    elevator_id: int


ORDERS_JOB = "supervision_orders"


@dataclass(frozen=True)
class Finding:
    rule: str
    subject: str  # "elevator:12", "use_unit:7", "maintenance_unit:3"
    subject_name: str
    elevator_id: int  # the elevator the warning (and a linked case) is about
    observed: Any
    limit: Any
    window_days: int
    evidence: list[str] = field(default_factory=list)  # the case numbers behind it, oldest first
    newest: str = ""  # the newest report behind it: part of the idempotency key

    def key(self) -> str:
        return f"{KEY}:{self.rule}:{self.subject}:{self.newest}"


def _window(now: datetime, rule: dict[str, Any]) -> datetime:
    return now - timedelta(days=int(rule["window_days"]))


# What counts as one report of each case type: every complaint (a second complaint about an
# elevator with an open complaint joins that case: it still counts), every rescue or rectification case.
REPORTS = {"complaint": ("case_opened", "signal_joined"), "rescue": ("case_opened",), "rectification": ("case_opened",)}


def _reports_by(
    session: Session, case_type: str, since: datetime, group: Any, threshold: int
) -> dict[Any, list[Report]]:
    """group value -> reports of that case type since `since` (oldest first), for the groups with at
    least `threshold`: one grouped query picks the groups, one reads their reports."""
    where = (
        Case.case_type == case_type,
        TimelineEvent.kind.in_(REPORTS[case_type]),
        TimelineEvent.at >= since,
    )
    joined = select(group).select_from(TimelineEvent).join(Case, Case.id == TimelineEvent.case_id)
    joined = joined.join(Elevator, Elevator.id == Case.elevator_id).where(*where)
    groups = list(session.scalars(joined.group_by(group).having(func.count() >= threshold)))
    if not groups:
        return {}
    rows = session.execute(
        select(group, TimelineEvent.id, Case.number, Case.elevator_id)
        .select_from(TimelineEvent)
        .join(Case, Case.id == TimelineEvent.case_id)
        .join(Elevator, Elevator.id == Case.elevator_id)
        .where(*where, group.in_(groups))
        .order_by(TimelineEvent.at, TimelineEvent.id)
    )
    out: dict[Any, list[Report]] = defaultdict(list)
    for value, event_id, number, elevator_id in rows:
        out[value].append(Report(event_id, number, elevator_id))
    return out


def _addresses(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Elevator.id, Elevator.address).where(Elevator.id.in_(ids))).all())


def _org_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))).all())


def _finding(
    rule: str, subject: str, name: str, elevator_id: int, cfg: dict[str, Any], reports: list[Report]
) -> Finding:
    numbers = list(dict.fromkeys(r.number for r in reports))  # each case once, oldest first
    return Finding(
        rule,
        subject,
        name,
        elevator_id,
        len(reports),
        int(cfg["threshold"]),
        int(cfg["window_days"]),
        numbers,
        newest=str(reports[-1].event_id),
    )


def _per_elevator(session: Session, now: datetime, rules: dict[str, Any], rule: str, case_type: str) -> list[Finding]:
    cfg = rules[rule]
    grouped = _reports_by(session, case_type, _window(now, cfg), Elevator.id, int(cfg["threshold"]))
    names = _addresses(session, set(grouped))
    return [
        _finding(rule, f"elevator:{e}", names.get(e, str(e)), e, cfg, reports) for e, reports in sorted(grouped.items())
    ]


def _complaints_per_estate(session: Session, now: datetime, rules: dict[str, Any]) -> list[Finding]:
    cfg = rules["complaints_per_estate"]
    grouped = _reports_by(session, "complaint", _window(now, cfg), Elevator.use_unit_id, int(cfg["threshold"]))
    names = _org_names(session, set(grouped))
    out = []
    for unit, reports in sorted(grouped.items()):
        # The elevator with the most complaints (the newest on a tie) carries the warning.
        counts: dict[int, int] = defaultdict(int)
        for r in reports:
            counts[r.elevator_id] += 1
        if len(counts) < 2:
            continue  # all about one elevator: that elevator's own rule speaks for them
        anchor = max(reversed([r.elevator_id for r in reports]), key=lambda e: counts[e])
        out.append(
            _finding("complaints_per_estate", f"use_unit:{unit}", names.get(unit, str(unit)), anchor, cfg, reports)
        )
    return out


def _late_arrivals(session: Session, now: datetime, rules: dict[str, Any]) -> list[Finding]:
    """Per maintenance unit: rescues of its elevators in the window with an arrival on record (or
    none yet though the limit has passed); on time when the arrival came within the case's limit."""
    cfg = rules["late_arrivals"]
    rows = session.execute(
        select(Case.number, Case.opened_at, Case.milestones, Case.variables, Case.status, Elevator.id)
        .add_columns(Elevator.maintenance_unit_id)
        .join(Elevator, Elevator.id == Case.elevator_id)
        .where(Case.case_type == "rescue", Case.opened_at >= _window(now, cfg))
        .order_by(Case.opened_at, Case.id)
    )
    judged: dict[int, list[tuple[str, int, bool]]] = defaultdict(list)
    for number, opened_at, milestones, variables, status, elevator_id, unit in rows:
        limit = _duration(str(variables.get("arrival_within") or "PT30M"))
        arrived = (milestones or {}).get("report_arrival")
        if arrived is not None:
            judged[unit].append((number, elevator_id, datetime.fromisoformat(arrived) - opened_at <= limit))
        elif status == CaseStatus.OPEN and now - opened_at > limit:
            judged[unit].append((number, elevator_id, False))
    names = _org_names(session, set(judged))
    out = []
    for unit, cases in sorted(judged.items()):
        rate = sum(on_time for _, _, on_time in cases) / len(cases)
        if len(cases) >= int(cfg["min_rescues"]) and rate < float(cfg["min_rate"]):
            late = [(n, e) for n, e, on_time in cases if not on_time]
            out.append(
                Finding(
                    "late_arrivals",
                    f"maintenance_unit:{unit}",
                    names.get(unit, str(unit)),
                    late[-1][1],
                    round(rate, 3),
                    float(cfg["min_rate"]),
                    int(cfg["window_days"]),
                    [n for n, _ in late],
                    newest=cases[-1][0],
                )
            )
    return out


def _duration(expression: str) -> timedelta:
    p = parse_duration(expression)
    return timedelta(
        days=p.get("days", 0) + 7 * p.get("weeks", 0),
        hours=p.get("hours", 0),
        minutes=p.get("minutes", 0),
        seconds=p.get("seconds", 0),
    )


def findings(session: Session, now: datetime, sla: dict[str, Any]) -> list[Finding]:
    """Every pattern the rules see now, each from its own set-based query."""
    rules = sla[KEY]
    return [
        *_per_elevator(session, now, rules, "complaints_per_elevator", "complaint"),
        *_complaints_per_estate(session, now, rules),
        *_per_elevator(session, now, rules, "rescues_per_elevator", "rescue"),
        *_late_arrivals(session, now, rules),
        *_per_elevator(session, now, rules, "repeated_nonconformities", "rectification"),
    ]


def _item(finding: Finding, now: datetime) -> IntakeItem:
    signal = {
        "source": "rules",
        "kind": finding.rule,
        "rule": finding.rule,
        "subject": finding.subject,
        "subject_name": finding.subject_name,
        "observed": finding.observed,
        "limit": finding.limit,
        "window_days": finding.window_days,
        "evidence": finding.evidence,
        "found_at": now.isoformat(),
        "idempotency_key": finding.key(),
    }
    return IntakeItem(KEY, finding.elevator_id, signal, "supervision-rules")


def scan(system: System, *, dry_run: bool = False) -> tuple[ScanResult, list[Finding]]:
    """Open (or join) a supervision warning per finding; with `dry_run`, only count."""
    now = system.clock.now()
    with system.sessions() as session:
        found = findings(session, now, load_sla(system.settings.sla_file))
        if dry_run:
            keys = [f.key() for f in found]
            taken = set(session.scalars(select(Signal.idempotency_key).where(Signal.idempotency_key.in_(keys))))
            open_keys = set(
                session.scalars(select(Case.open_key).where(Case.case_type == KEY, Case.status == CaseStatus.OPEN))
            )
            skipped = sum(f.key() in taken for f in found)
            joined = sum(f.key() not in taken and f"{KEY}:{f.rule}:{f.subject}" in open_keys for f in found)
            return ScanResult(len(found) - skipped - joined, joined, skipped, True), found
    results = (
        open_or_join_many(system.engine, system.settings.sla_file, [_item(f, now) for f in found]) if found else []
    )
    skipped = sum(r.duplicate for r in results)
    joined = sum(r.joined and not r.duplicate for r in results)
    return ScanResult(len(results) - skipped - joined, joined, skipped, False), found


def open_ordered_cases(system: System) -> int:
    """Open the linked case of every pending order and tell its supervision case; how many."""
    sla = load_sla(system.settings.sla_file)[KEY]
    with system.sessions() as session:
        pending = list(
            session.scalars(
                select(Signal).where(Signal.source == "supervision", Signal.kind == "order", Signal.case_id.is_(None))
            )
        )
        supervised = {
            c.id: (c.open_key, c.district_code, c.elevator_id)
            for c in session.scalars(
                select(Case).where(Case.id.in_([s.payload["supervision_case_id"] for s in pending]))
            )
        }
        districts = dict(
            session.execute(
                select(Elevator.id, Elevator.district_code).where(Elevator.id.in_([s.elevator_id for s in pending]))
            ).all()
        )
    if not pending:
        return 0
    now, items = system.clock.now(), []
    for order in pending:
        items.append(_linked_item(order, districts, supervised, sla, now))
    results = open_or_join_many(system.engine, system.settings.sla_file, items)
    with system.sessions() as session, session.begin():
        for order, result in zip(pending, results, strict=True):
            stmt = update(Signal).where(Signal.id == order.id).values(case_id=result.case_id, joined=result.joined)
            session.execute(stmt)
        numbers = dict(
            session.execute(select(Case.id, Case.number).where(Case.id.in_([r.case_id for r in results]))).all()
        )
    for order, result in zip(pending, results, strict=True):
        open_key = supervised.get(order.payload["supervision_case_id"], (None, None, None))[0]
        if open_key:
            payload = {
                "linked_case_id": result.case_id,
                "linked_number": numbers.get(result.case_id),
                "joined": result.joined,
            }
            system.engine.correlate_message(open_key, "linked_case_opened", payload, actor="supervision")
    return len(pending)


def _linked_item(
    order: Signal,
    districts: dict[int, str],
    supervised: dict[int, tuple[str | None, str | None, int | None]],
    sla: dict[str, Any],
    now: datetime,
) -> IntakeItem:
    p = order.payload
    _, district, anchor = supervised.get(p["supervision_case_id"], (None, None, None))
    elevator_id = p["elevator_id"]
    if district is not None and districts.get(elevator_id) != district and anchor is not None:
        elevator_id = anchor  # a regulator orders cases in their own district only: the warning's elevator
    signal: dict[str, Any] = {
        "source": "supervision",
        "supervision_case": p["supervision_number"],
        "idempotency_key": f"supervision-linked:{p['supervision_case_id']}",
    }
    if p["case_type"] == "expiry":
        due = (now.astimezone(CITY_TZ) + _duration(sla["inspection_within"])).date()
        signal.update(kind="inspection", due_date=due.isoformat())
    else:
        deadline = now + _duration(sla["rectification_within"])
        signal.update(
            findings=p["findings"] or [p["reason"]], report_no=p["supervision_number"], deadline=deadline.isoformat()
        )
    return IntakeItem(p["case_type"], elevator_id, signal, "supervision")


def scan_job(system: System) -> str:
    return scan(system)[0].line()


def orders_job(system: System) -> int:
    return open_ordered_cases(system)


def queue_scan(system: System) -> None:
    system.jobs.enqueue(SCAN_JOB)


def queue_orders(system: System) -> None:
    system.jobs.enqueue(ORDERS_JOB)


# 02:40 Beijing: after the expiry scan; orders are picked up within the minute.
DAILY = Periodic("supervision_scan", queue_scan, {"hour": 2, "minute": 40})
ORDERS = Periodic("supervision_orders", queue_orders, {"minute": "*"})
