"""Live push of the inbox over Server-Sent Events.

The stream polls the user's inbox about once a second. With Redis (deployed), the send job also
publishes the recipients' ids, so a waiting stream wakes at once instead of at its next poll. The
database stays the source of truth either way: a lost wake-up only costs a poll's delay.

Inbox rows can become `sent` out of id order (parallel workers), so the stream does not follow a
growing id: it re-reads a recent window by `sent_at` and pushes what it has not pushed yet.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import sessionmaker

from connectors.notify.channels import INBOX
from engine.models import Notification
from infra.clock import Clock

POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0
# A browser's EventSource reconnects after the stream ends; ending it bounds how long one held
# connection (a server thread) lives, and the reconnect resumes from Last-Event-ID.
MAX_STREAM_SECONDS = 300.0
WINDOW = timedelta(seconds=60)
CATCH_UP_LIMIT = 100

_redis_clients: dict[str, Any] = {}


def _redis(url: str) -> Any:
    if url not in _redis_clients:
        from redis import Redis

        _redis_clients[url] = Redis.from_url(url)
    return _redis_clients[url]


def topic(user_id: int) -> str:
    return f"liftcase:inbox:{user_id}"


def publish(redis_url: str | None, user_ids: set[int]) -> None:
    """Wake the recipients' open streams (deployed mode); a failure only delays them to the next poll."""
    if not redis_url or not user_ids:
        return
    try:
        pipe = _redis(redis_url).pipeline(transaction=False)  # one round trip for all of them
        for user_id in sorted(user_ids):
            pipe.publish(topic(user_id), "1")
        pipe.execute()
    except Exception:  # the poll delivers anyway
        pass


class _Waker:
    """Sleeps up to the poll interval, or less when Redis says the user has something new."""

    def __init__(self, redis_url: str | None, user_id: int) -> None:
        self.pubsub = None
        if redis_url:
            try:
                self.pubsub = _redis(redis_url).pubsub()
                self.pubsub.subscribe(topic(user_id))
                # Take the confirmation now, so the first wait really waits (for a message or the poll).
                self.pubsub.get_message(timeout=1.0)
            except Exception:  # fall back to polling
                self.pubsub = None

    def wait(self, seconds: float) -> None:
        if self.pubsub is None:
            time.sleep(seconds)
            return
        try:
            self.pubsub.get_message(timeout=seconds)
        except Exception:
            self.pubsub = None
            time.sleep(seconds)

    def close(self) -> None:
        if self.pubsub is not None:
            try:
                self.pubsub.close()
            except Exception:
                pass


def event(notice: Notification) -> str:
    data = {
        "id": notice.id,
        "case_id": notice.case_id,
        "role": notice.role,
        "subject": notice.subject,
        "body": notice.body,
        "created_at": notice.created_at.isoformat(),
        "sent_at": notice.sent_at.isoformat() if notice.sent_at else None,
    }
    return f"id: {notice.id}\nevent: notification\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _sent_inbox(user_id: int) -> Select[tuple[Notification]]:
    """The user's delivered inbox notices, in id order."""
    return (
        select(Notification)
        .where(Notification.user_id == user_id, Notification.channel == INBOX, Notification.status == "sent")
        .order_by(Notification.id)
    )


def _sent_since(sessions: sessionmaker, user_id: int, horizon: datetime) -> list[Notification]:
    """The window the stream re-reads: notices sent at or after `horizon`."""
    with sessions() as session:
        return list(session.scalars(_sent_inbox(user_id).where(Notification.sent_at >= horizon)))


def _catch_up(sessions: sessionmaker, user_id: int, last_event_id: int) -> list[Notification]:
    """On a reconnect, what arrived after the last event the browser got (at most CATCH_UP_LIMIT)."""
    with sessions() as session:
        query = _sent_inbox(user_id).where(Notification.id > last_event_id).limit(CATCH_UP_LIMIT)
        return list(session.scalars(query))


def inbox_stream(
    sessions: sessionmaker,
    clock: Clock,
    user_id: int,
    *,
    redis_url: str | None = None,
    last_event_id: int | None = None,
    poll_seconds: float | None = None,
    heartbeat_seconds: float | None = None,
    max_seconds: float | None = None,
) -> Iterator[str]:
    poll = POLL_SECONDS if poll_seconds is None else poll_seconds
    heartbeat = HEARTBEAT_SECONDS if heartbeat_seconds is None else heartbeat_seconds
    lifetime = MAX_STREAM_SECONDS if max_seconds is None else max_seconds
    horizon = clock.now() - WINDOW
    backlog = _catch_up(sessions, user_id, last_event_id) if last_event_id is not None else []
    seen = {n.id for n in _sent_since(sessions, user_id, horizon)} - {n.id for n in backlog}
    waker = _Waker(redis_url, user_id)
    started = last_beat = time.monotonic()
    try:
        yield f"retry: 3000\n: connected as user {user_id}\n\n"
        for notice in backlog:
            seen.add(notice.id)
            yield event(notice)
        while time.monotonic() - started < lifetime:
            waker.wait(poll)
            recent = _sent_since(sessions, user_id, horizon)
            fresh = [n for n in recent if n.id not in seen]
            for notice in fresh:
                yield event(notice)
            if fresh:
                last_beat = time.monotonic()
                newest = max(n.sent_at for n in fresh if n.sent_at is not None)
                horizon = max(horizon, newest - WINDOW)
            seen = {n.id for n in recent}
            if time.monotonic() - last_beat >= heartbeat:
                last_beat = time.monotonic()
                yield ": heartbeat\n\n"
    finally:
        waker.close()
