"""Pushing the feed: each subscription's due deliveries POSTed, signed, one case's events strictly
one after another (a case's oldest pending event goes first; until it is accepted the case's later
events wait, for this subscriber only), failures retried with exponential backoff. Nothing is
dropped: an event stays pending until its endpoint answers 2xx."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from connectors.feed import service
from connectors.feed.models import FeedDelivery, FeedEvent, FeedSubscription
from connectors.notify.gateway import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from processes.system import System

EVENT_ID_HEADER = "X-Liftcase-Event-Id"
ATTEMPT_HEADER = "X-Liftcase-Attempt"
LEASE = timedelta(seconds=60)
FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 600.0
BATCH = 256  # events taken per round per subscription (each of another case), PARALLEL at a time
PARALLEL = 8


@dataclass(frozen=True)
class Attempt:
    delivery_id: int
    ok: bool
    error: str | None = None


def backoff(attempts: int) -> timedelta:
    """Wait after the n-th failed attempt: 1 s, 2 s, 4 s, ... up to 10 minutes."""
    return timedelta(seconds=min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** max(0, attempts - 1)))


def sequence(system: System, limit: int = 2000) -> int:
    """Move committed outbox rows into the feed (one sequencer at a time)."""
    with system.sessions() as session, session.begin():
        return service.sequence(session, system.clock.now(), limit)


def due_subscriptions(system: System) -> list[int]:
    now = system.clock.now()
    with system.sessions() as session:
        stmt = (
            select(FeedDelivery.subscription_id)
            .where(FeedDelivery.status == "pending", FeedDelivery.next_at <= now)
            .distinct()
        )
        return list(session.scalars(stmt))


def heads(session: Session, subscription_id: int, now: datetime, limit: int) -> list[tuple[FeedDelivery, FeedEvent]]:
    """Each case's oldest pending delivery, where its backoff has ended (one pass over the pending
    index: the oldest position per case, then those of them that are due)."""
    oldest = (
        select(func.min(FeedDelivery.position).label("position"))
        .where(FeedDelivery.subscription_id == subscription_id, FeedDelivery.status == "pending")
        .group_by(FeedDelivery.case_key)
        .subquery()
    )
    stmt = (
        select(FeedDelivery, FeedEvent)
        .join(oldest, oldest.c.position == FeedDelivery.position)
        .join(FeedEvent, FeedEvent.position == FeedDelivery.position)
        .where(FeedDelivery.subscription_id == subscription_id, FeedDelivery.next_at <= now)
        .order_by(FeedDelivery.position)
        .limit(limit)
    )
    return [(d, e) for d, e in session.execute(stmt)]


def deliver(system: System, subscription_id: int, budget_seconds: float = 20.0) -> int:
    """Deliver what is due for one subscription, round after round, until nothing is due or the
    budget is spent; returns the number of events accepted. Holds the subscription's lease."""
    if not _lease(system, subscription_id, take=True):
        return 0
    accepted = 0
    deadline = time.monotonic() + budget_seconds
    try:
        with ThreadPoolExecutor(PARALLEL) as pool:
            while time.monotonic() < deadline:
                with system.sessions() as session:
                    sub = session.get(FeedSubscription, subscription_id)
                    if sub is None or not sub.active:
                        break
                    url, secret, timeout = sub.url, sub.secret, sub.timeout_seconds
                    found = heads(session, sub.id, system.clock.now(), BATCH)
                    due = [(url, secret, timeout, d.id, d.attempts, e.event_id, e.body) for d, e in found]
                if not due:
                    break
                attempts = list(pool.map(lambda args: post(*args), due))
                accepted += _record(system, attempts, {d[3]: d[4] for d in due})
    finally:
        _lease(system, subscription_id, take=False)
    return accepted


def post(
    url: str, secret: str, timeout: float, delivery_id: int, attempts: int, event_id: str, body: dict[str, Any]
) -> Attempt:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    stamp = str(int(time.time()))
    request = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            EVENT_ID_HEADER: event_id,
            ATTEMPT_HEADER: str(attempts + 1),
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: signature(secret, stamp, data),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            ok = 200 <= response.status < 300
            return Attempt(delivery_id, ok, None if ok else f"HTTP {response.status}")
    except urllib.error.HTTPError as err:
        return Attempt(delivery_id, False, f"HTTP {err.code}")
    except (OSError, ValueError) as err:  # refused, reset, timed out, bad URL
        return Attempt(delivery_id, False, f"{type(err).__name__}: {err}"[:300])


def _record(system: System, attempts: list[Attempt], tried: dict[int, int]) -> int:
    now = system.clock.now()
    ok = [a.delivery_id for a in attempts if a.ok]
    with system.sessions() as session, session.begin():
        if ok:
            session.execute(
                update(FeedDelivery)
                .where(FeedDelivery.id.in_(ok))
                .values(status="delivered", delivered_at=now, attempts=FeedDelivery.attempts + 1, last_error=None)
            )
        for a in attempts:
            if not a.ok:
                n = tried[a.delivery_id] + 1
                session.execute(
                    update(FeedDelivery)
                    .where(FeedDelivery.id == a.delivery_id)
                    .values(attempts=n, next_at=now + backoff(n), last_error=a.error)
                )
    return len(ok)


def _lease(system: System, subscription_id: int, *, take: bool) -> bool:
    now = system.clock.now()
    with system.sessions() as session, session.begin():
        stmt = update(FeedSubscription).where(FeedSubscription.id == subscription_id)
        if take:
            stmt = stmt.where((FeedSubscription.lease_until.is_(None)) | (FeedSubscription.lease_until < now))
            result = cast(CursorResult[Any], session.execute(stmt.values(lease_until=now + LEASE)))
            return result.rowcount == 1
        session.execute(stmt.values(lease_until=None))
        return True
