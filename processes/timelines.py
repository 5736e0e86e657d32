"""A case's timeline as people read it (local Asia/Shanghai times, one-line summaries), and the
way events from outside the engine's steps reach it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from engine.models import Case, EventKind, TimelineEvent
from engine.timeline import verify_chain
from engine.timeline_store import append_entries, chain_link
from infra.settings import CITY_TZ


def add_to_timelines(
    session: Session, entries: Iterable[tuple[int | None, EventKind, dict[str, Any], str]], now: datetime
) -> None:
    """(case id, kind, payload, actor) events of the outside world (a notice delivered or failed)
    on their cases' timelines, in the caller's transaction. An entry about no case, or about a
    case that does not exist, is left out."""
    kept = [(case_id, kind, payload, actor) for case_id, kind, payload, actor in entries if case_id is not None]
    if kept:
        append_entries(session, kept, now, skip_missing=True)


def summarize(kind: str, p: dict[str, Any]) -> str:
    match kind:
        case "case_opened":
            return f"{p.get('number')} {p.get('type')} (process {p.get('process')} v{p.get('version')})"
        case "task_created":
            return f"task {p.get('element')} 「{p.get('title')}」 for {p.get('role')}"
        case "task_completed":
            return f"task {p.get('element')} 「{p.get('title')}」 done"
        case "timer_fired":
            return f"timer {p.get('element')} 「{p.get('name')}」 (due {p.get('due')})"
        case "escalated":
            return f"level {p.get('level')} -> {', '.join(p.get('roles', []))}: {p.get('reason')}"
        case "notification_queued":
            return f"notify {', '.join(p.get('roles', []))} ({len(p.get('notifications', []))} recipients)"
        case "notification_sent":
            return f"{len(p.get('notifications', []))} notice(s) delivered via {p.get('channel')}"
        case "task_assigned":
            who = p.get("assignee_id")
            return f"task {p.get('element')} 「{p.get('title')}」 " + (f"assigned to user {who}" if who else "released")
        case "comment_added":
            return f"comment: {str(p.get('body', ''))[:120]}"
        case "attachment_added":
            return f"attachment {p.get('filename')} ({str(p.get('sha256', ''))[:12]}) on {p.get('task')}"
        case "signal_joined":
            return f"another signal joined: {p.get('source')} {p.get('kind') or ''}".rstrip()
        case "register_updated":
            changed = ", ".join(f"{k} {v[0]} -> {v[1]}" for k, v in (p.get("changes") or {}).items())
            return f"register: {changed or 'unchanged'}"
        case "message_received":
            return f"message {p.get('message')}"
        case "case_closed" | "case_cancelled":
            return str(p.get("outcome") or p.get("reason"))
        case "case_failed":
            name = f" 「{p['name']}」" if p.get("name") else ""
            return f"incident at {p.get('element')}{name}: {p.get('label', '')} ({p.get('reason')})"
    return ", ".join(f"{k}={v}" for k, v in p.items() if k not in ("task",))[:160]


def case_timeline(sessions: sessionmaker, case_id: int) -> dict[str, Any]:
    with sessions() as session:
        case = session.get(Case, case_id)
        if case is None:
            raise LookupError(f"case {case_id} not found")
        return timeline_of(session, case)


def timeline_of(session: Session, case: Case) -> dict[str, Any]:
    """The case's events for reading, and the check of its hash chain, from one read of the rows
    (in insertion order, which is what the check needs; shown in sequence order)."""
    rows = list(
        session.scalars(select(TimelineEvent).where(TimelineEvent.case_id == case.id).order_by(TimelineEvent.id))
    )
    links = [chain_link(r) for r in rows]
    broken = verify_chain(case.id, links, case.timeline_head, case.timeline_seq)
    events = sorted(rows, key=lambda r: r.seq)
    return {
        "case": {
            "number": case.number,
            "type": case.case_type,
            "status": case.status,
            "priority": case.priority,
            "escalation_level": case.escalation_level,
            "opened_at": case.opened_at.isoformat(),
            "closed_at": case.closed_at and case.closed_at.isoformat(),
            "close_reason": case.close_reason,
            "milestones": case.milestones,
        },
        "chain": "intact" if broken is None else f"BROKEN: {broken}",
        "events": [
            {
                "seq": e.seq,
                "kind": e.kind,
                "at": e.at.isoformat(),
                "at_local": e.at.astimezone(CITY_TZ).strftime("%Y-%m-%d %H:%M:%S"),
                "actor": e.actor,
                "summary": summarize(e.kind, e.payload),
                "payload": e.payload,
                "hash": e.hash,
            }
            for e in events
        ],
    }
