"""Fixed-window rate limits whose counts every API process shares.

Deployed (LIFTCASE_REDIS_URL set, several API processes on several machines) the counts live in
Redis, so a client cannot multiply its budget by the number of processes behind the load balancer;
embedded, in this process. Windows are numbered from the injected clock. The QR pages name their
limits in connectors/qr/limits.py; sign-in throttling can count failures with `hit` and read them
with `peek`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from infra.clock import Clock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    name: str  # e.g. "call-ip"
    max_hits: int
    window_seconds: int


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: Limit
    retry_after: int  # seconds until the window ends


class Counter(Protocol):
    def hit(self, key: str, window_seconds: int) -> int:
        """Count one hit in `key`'s current window; returns the count so far."""

    def get(self, key: str) -> int:
        """The count so far, without counting."""


class MemoryCounter:
    """One process's counts: embedded mode, and Redis's stand-in while it is unreachable."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, window_seconds: int) -> int:
        with self._lock:
            if len(self._counts) > 100_000:  # old windows: drop them all rather than grow without end
                self._counts.clear()
            self._counts[key] = self._counts.get(key, 0) + 1
            return self._counts[key]

    def get(self, key: str) -> int:
        with self._lock:
            return self._counts.get(key, 0)


class RedisCounter:
    """Counts in Redis. While Redis is unreachable it counts in this process instead: a trapped
    passenger's call must not fail because the limiter's store is down."""

    def __init__(self, url: str, prefix: str = "liftcase:rl:", timeout_seconds: float = 0.5) -> None:
        from redis import Redis

        self.redis = Redis.from_url(url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds)
        self.prefix = prefix
        self.fallback = MemoryCounter()
        self._warned_at = 0.0

    def hit(self, key: str, window_seconds: int) -> int:
        from redis.exceptions import RedisError

        try:
            pipe = self.redis.pipeline()
            pipe.incr(self.prefix + key)
            pipe.expire(self.prefix + key, window_seconds * 2)
            count, _ = pipe.execute()
        except RedisError as err:
            self._unreachable(err)
            return self.fallback.hit(key, window_seconds)
        return int(count)

    def get(self, key: str) -> int:
        from redis.exceptions import RedisError

        try:
            value = self.redis.get(self.prefix + key)
        except RedisError as err:
            self._unreachable(err)
            return self.fallback.get(key)
        return int(value or 0)

    def _unreachable(self, err: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at > 60:  # once a minute, not once a request
            self._warned_at = now
            log.warning("rate-limit counts kept in this process: Redis unreachable (%s)", err)


def counter_for(redis_url: str | None, prefix: str = "liftcase:rl:") -> Counter:
    """Redis when the deployment has one (the counts are shared), else this process's memory."""
    return RedisCounter(redis_url, prefix) if redis_url else MemoryCounter()


class RateLimiter:
    def __init__(self, counter: Counter, clock: Clock, limits: Mapping[str, Limit]) -> None:
        self.counter = counter
        self.clock = clock
        self.limits = dict(limits)

    def _window(self, limit: Limit) -> tuple[int, int]:
        now = self.clock.now().timestamp()
        window = int(now // limit.window_seconds)
        return window, int((window + 1) * limit.window_seconds - now) + 1

    def check(self, name: str, subject: str) -> Verdict:
        """Count one hit for `subject` under limit `name`; allowed while within the limit."""
        limit = self.limits[name]
        window, retry = self._window(limit)
        count = self.counter.hit(f"{name}:{subject}:{window}", limit.window_seconds)
        return Verdict(count <= limit.max_hits, limit, retry)

    def peek(self, name: str, subject: str) -> Verdict:
        """Whether one more hit would be allowed, without counting one (e.g. before checking a password)."""
        limit = self.limits[name]
        window, retry = self._window(limit)
        count = self.counter.get(f"{name}:{subject}:{window}")
        return Verdict(count < limit.max_hits, limit, retry)

    def check_all(self, checks: list[tuple[str, str]]) -> Verdict | None:
        """The first limit exceeded, or None. Checks run in order and stop at a refusal, so a client
        refused by its own limit does not use up the elevator's budget for other passengers."""
        for name, subject in checks:
            verdict = self.check(name, subject)
            if not verdict.allowed:
                return verdict
        return None
