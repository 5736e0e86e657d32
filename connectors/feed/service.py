"""Reads and writes of the feed, no network: the sequencer (outbox rows → positioned events and
the deliveries they owe), the subscriptions' filters, the pull reads by cursor and scope."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, false, func, insert, or_, select, true, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from connectors.feed.models import FeedDelivery, FeedEvent, FeedHead, FeedSubscription
from engine.models import Case, FeedOutbox, TimelineEvent
from processes import admin_audit
from processes.models import AdminAuditEntry
from registry.models import Elevator, OrgKind
from registry.scope import Scope, elevators_visible

log = logging.getLogger(__name__)
HEAD_ID = 1
REGISTER_KEY = 0  # the case_key of register changes: they keep one order among themselves


def _head(session: Session) -> FeedHead:
    head = session.scalar(select(FeedHead).where(FeedHead.id == HEAD_ID).with_for_update())
    if head is None:
        head = FeedHead(id=HEAD_ID, position=0)
        session.add(head)
        session.flush()
    return head


def sequence(session: Session, now: datetime, limit: int = 2000) -> int:
    """Place up to `limit` committed outbox rows in the feed, in outbox order, and owe each to the
    subscriptions whose filters take it. The head's row lock makes sequencers take turns, and a
    turn's positions commit before the next turn begins: positions only ever appear in order."""
    head = _head(session)
    rows = session.scalars(select(FeedOutbox).order_by(FeedOutbox.id).limit(limit)).all()
    if not rows:
        return 0
    bodies = _case_bodies(session, [r for r in rows if r.source == "case"])
    bodies.update(_register_bodies(session, [r for r in rows if r.source == "register"]))
    subscriptions = session.scalars(select(FeedSubscription).where(FeedSubscription.active.is_(True))).all()
    events: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    position = head.position
    for row in rows:
        found = bodies.get((row.source, row.case_id, row.seq))
        if found is None:  # cannot happen: the outbox row commits with its source row
            log.error("feed outbox row %s has no source row; skipped", row.id)
            continue
        position += 1
        event = {**found, "position": position}
        event["body"] = {**event["body"], "position": position}
        events.append(event)
        for sub in subscriptions:
            if takes(sub, event):
                deliveries.append(
                    {
                        "subscription_id": sub.id,
                        "position": position,
                        "case_key": event["case_key"],
                        "status": "pending",
                        "attempts": 0,
                        "next_at": now,
                    }
                )
    conn = session.connection()
    if events:
        conn.execute(insert(FeedEvent), events)
    if deliveries:
        conn.execute(insert(FeedDelivery), deliveries)
    session.execute(delete(FeedOutbox).where(FeedOutbox.id.in_([r.id for r in rows])))
    head.position = position
    return len(events)


def takes(sub: FeedSubscription, event: dict[str, Any]) -> bool:
    """A kinds entry names an event kind (`case_opened`, `elevator.updated`), a stream (`case`,
    `register`) or a case type (`rescue`, `warning`, ...); a districts entry a district code."""
    body = event["body"]
    if sub.kinds:
        names = {body["kind"], body["stream"], (body.get("case") or {}).get("type")}
        if not names.intersection(sub.kinds):
            return False
    return not sub.districts or event["district_code"] in sub.districts


def _case_bodies(session: Session, rows: Sequence[FeedOutbox]) -> dict[tuple[str, int | None, int], dict[str, Any]]:
    if not rows:
        return {}
    keys = [(r.case_id, r.seq) for r in rows]
    stmt = (
        select(TimelineEvent, Case.number, Case.case_type, Case.priority, Case.elevator_id, Case.district_code)
        .join(Case, Case.id == TimelineEvent.case_id)
        .where(tuple_(TimelineEvent.case_id, TimelineEvent.seq).in_(keys))
    )
    found = session.execute(stmt).all()
    codes = _register_codes(session, {r.elevator_id for r in found if r.elevator_id})
    out: dict[tuple[str, int | None, int], dict[str, Any]] = {}
    for ev, number, case_type, priority, elevator_id, district in found:
        body = {
            "event_id": f"case:{number}:{ev.seq}",
            "stream": "case",
            "kind": ev.kind,
            "at": _iso(ev.at),
            "actor": ev.actor,
            "case": {
                "number": number,
                "type": case_type,
                "priority": priority,
                "elevator_id": elevator_id,
                "register_code": codes.get(elevator_id) if elevator_id else None,
                "district_code": district,
            },
            "seq": ev.seq,
            "data": ev.payload,
            "hash": ev.hash,
        }
        out[("case", ev.case_id, ev.seq)] = _event(body, ev.case_id, elevator_id, district, ev.at)
    return out


def _register_bodies(session: Session, rows: Sequence[FeedOutbox]) -> dict[tuple[str, int | None, int], dict[str, Any]]:
    if not rows:
        return {}
    entries = session.scalars(select(AdminAuditEntry).where(AdminAuditEntry.seq.in_([r.seq for r in rows]))).all()
    elevator_ids = {
        e.payload.get("target", {}).get("id") for e in entries if e.payload.get("target", {}).get("type") == "elevator"
    }
    places = {
        r.id: (r.district_code, r.register_code)
        for r in session.execute(
            select(Elevator.id, Elevator.district_code, Elevator.register_code).where(Elevator.id.in_(elevator_ids))
        )
    }
    out: dict[tuple[str, int | None, int], dict[str, Any]] = {}
    for e in entries:
        target = e.payload.get("target", {})
        elevator_id = target.get("id") if target.get("type") == "elevator" else None
        district, code = places.get(elevator_id, (None, None)) if elevator_id else (None, None)
        body = {
            "event_id": f"register:{e.seq}",
            "stream": "register",
            "kind": e.kind,
            "at": _iso(e.at),
            "actor": e.actor,
            "target": {**target, "register_code": code, "district_code": district} if elevator_id else target,
            "seq": e.seq,
            "data": e.payload.get("changes", {}),
            "hash": e.hash,
        }
        out[("register", None, e.seq)] = _event(body, REGISTER_KEY, elevator_id, district, e.at)
    return out


def _event(
    body: dict[str, Any], case_key: int, elevator_id: int | None, district: str | None, at: datetime
) -> dict[str, Any]:
    return {
        "event_id": body["event_id"],
        "stream": body["stream"],
        "kind": body["kind"],
        "case_key": case_key,
        "elevator_id": elevator_id,
        "district_code": district,
        "at": at,
        "body": body,
    }


def _register_codes(session: Session, ids: Iterable[int]) -> dict[int, str]:
    ids = list(ids)
    if not ids:
        return {}
    rows = session.execute(select(Elevator.id, Elevator.register_code).where(Elevator.id.in_(ids)))
    return {elevator_id: code for elevator_id, code in rows}


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def visible(scope: Scope) -> ColumnElement[bool]:
    """The feed events a user may read: those of elevators in their scope; events without an
    elevator (register changes of organisations, cases without one) city-wide, or a district's."""
    if not scope.reads_cases:
        return false()
    if scope.city_wide:
        return true()
    unplaced: ColumnElement[bool] = false()
    if scope.organisation_kind in (OrgKind.DISTRICT_REGULATOR, OrgKind.INSPECTION_AGENCY):
        unplaced = and_(FeedEvent.stream == "case", FeedEvent.district_code == scope.district_code)
    return or_(
        FeedEvent.elevator_id.in_(select(Elevator.id).where(elevators_visible(scope))),
        and_(FeedEvent.elevator_id.is_(None), unplaced),
    )


def events_after(session: Session, scope: Scope, after: int, limit: int) -> list[FeedEvent]:
    stmt = select(FeedEvent).where(FeedEvent.position > after, visible(scope)).order_by(FeedEvent.position).limit(limit)
    return list(session.scalars(stmt))


# The subscription admin: plain writes in the caller's transaction, each in the admin audit chain.
SUBSCRIPTION_FIELDS = ("name", "url", "secret", "kinds", "districts", "active", "timeout_seconds")


def create_subscription(session: Session, fields: dict[str, Any], *, actor: str, now: datetime) -> FeedSubscription:
    sub = FeedSubscription(**{k: fields[k] for k in SUBSCRIPTION_FIELDS if k in fields}, created_at=now)
    session.add(sub)
    session.flush()
    admin_audit.record(
        session, "feed_subscription.created", actor=actor, at=now, target=_target(sub), changes=_shown(fields)
    )
    return sub


def update_subscription(
    session: Session, sub: FeedSubscription, changes: dict[str, Any], *, actor: str, now: datetime
) -> FeedSubscription:
    for key in SUBSCRIPTION_FIELDS:
        if key in changes:
            setattr(sub, key, changes[key])
    admin_audit.record(
        session, "feed_subscription.updated", actor=actor, at=now, target=_target(sub), changes=_shown(changes)
    )
    return sub


def delete_subscription(session: Session, sub: FeedSubscription, *, actor: str, now: datetime) -> None:
    """Its owed deliveries go with it (the pull API still has every event)."""
    session.execute(delete(FeedDelivery).where(FeedDelivery.subscription_id == sub.id))
    admin_audit.record(session, "feed_subscription.deleted", actor=actor, at=now, target=_target(sub), changes={})
    session.delete(sub)


def backlog(session: Session, subscription_id: int) -> dict[str, Any]:
    """A subscription's delivery status: its cursor (every event it is owed up to there is delivered),
    the feed's head, what it still owes (pending: the lag), since when, and the last failure."""
    mine = FeedDelivery.subscription_id == subscription_id
    pending = select(FeedDelivery).where(mine, FeedDelivery.status == "pending")
    oldest = session.scalar(pending.order_by(FeedDelivery.position).limit(1))
    count = session.scalar(select(func.count()).select_from(pending.subquery())) or 0
    head = session.scalar(select(FeedHead.position).where(FeedHead.id == HEAD_ID)) or 0
    last_delivered = session.scalar(select(func.max(FeedDelivery.delivered_at)).where(mine))
    failing = session.execute(
        select(FeedDelivery.last_error, FeedDelivery.attempts)
        .where(mine, FeedDelivery.status == "pending", FeedDelivery.last_error.is_not(None))
        .order_by(FeedDelivery.attempts.desc(), FeedDelivery.position)
        .limit(1)
    ).first()
    since = session.scalar(select(FeedEvent.at).where(FeedEvent.position == oldest.position)) if oldest else None
    return {
        "pending": count,
        "cursor": oldest.position - 1 if oldest else head,
        "head": head,
        "oldest_pending_position": oldest.position if oldest else None,
        "oldest_pending_at": since.isoformat() if since else None,
        "oldest_pending_attempts": oldest.attempts if oldest else None,
        "last_delivered_at": last_delivered.isoformat() if last_delivered else None,
        "last_error": failing[0] if failing else None,
        "last_error_attempts": failing[1] if failing else None,
    }


def _target(sub: FeedSubscription) -> dict[str, Any]:
    return {"type": "feed_subscription", "id": sub.id, "name": sub.name}


def _shown(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: ("***" if k == "secret" else v) for k, v in fields.items() if k in SUBSCRIPTION_FIELDS}
