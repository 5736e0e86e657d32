"""The send job's wake-ups on the real Redis: every recipient's open stream is woken, all of them by
one publish call (one pipeline), and a Redis that is away costs nothing but the poll's delay."""

from __future__ import annotations

import time

from redis import Redis

from connectors.notify import live
from tests.support.services import REDIS_URL, need_service

# Pub/sub channels are shared by every Redis database: ids no other test or run uses.
USERS = {987_650_001, 987_650_002, 987_650_003}


def test_one_publish_wakes_every_recipients_stream() -> None:
    need_service(6379, "Redis")
    connection = Redis.from_url(REDIS_URL)
    pubsub = connection.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(*(live.topic(u) for u in USERS))
    while pubsub.get_message(timeout=1.0) is not None:  # drain anything stale
        pass
    try:
        live.publish(REDIS_URL, USERS)
        woken: set[bytes] = set()
        deadline = time.monotonic() + 10
        while len(woken) < len(USERS) and time.monotonic() < deadline:
            message = pubsub.get_message(timeout=1.0)
            if message is not None:
                woken.add(message["channel"])
        assert woken == {live.topic(u).encode() for u in USERS}
    finally:
        pubsub.close()
        connection.close()


def test_a_redis_that_is_away_is_no_error() -> None:
    live.publish("redis://127.0.0.1:9/0", USERS)  # nothing listens on port 9: the stream's poll delivers
