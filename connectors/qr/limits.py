"""Fixed-window rate limits for the public pages, per client IP and per elevator.

Deployed (several API processes) the counters live in Redis so every process sees the same count;
embedded, in this process. Windows are numbered from the injected clock."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from infra.clock import Clock


@dataclass(frozen=True)
class Limit:
    name: str  # e.g. "call-ip"
    max_hits: int
    window_seconds: int


# Generous for people, tight for scripts: a trapped passenger may press several times (those join
# the open case); a flood from one address or at one elevator is cut off.
DEFAULT_LIMITS: dict[str, Limit] = {
    "post-ip": Limit("post-ip", 10, 600),
    "post-elevator": Limit("post-elevator", 30, 600),
    "view-ip": Limit("view-ip", 120, 60),
}


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: Limit
    retry_after: int  # seconds until the window ends


class Counter(Protocol):
    def hit(self, key: str, window_seconds: int) -> int:
        """Count one hit in `key`'s current window; returns the count so far."""


class MemoryCounter:
    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, window_seconds: int) -> int:
        with self._lock:
            if len(self._counts) > 100_000:  # old windows: drop them all rather than grow without end
                self._counts.clear()
            self._counts[key] = self._counts.get(key, 0) + 1
            return self._counts[key]


class RedisCounter:
    def __init__(self, url: str, prefix: str = "liftcase:qr:rl:") -> None:
        from redis import Redis

        self.redis = Redis.from_url(url)
        self.prefix = prefix

    def hit(self, key: str, window_seconds: int) -> int:
        pipe = self.redis.pipeline()
        pipe.incr(self.prefix + key)
        pipe.expire(self.prefix + key, window_seconds * 2)
        count, _ = pipe.execute()
        return int(count)


class RateLimiter:
    def __init__(self, counter: Counter, clock: Clock, limits: dict[str, Limit] | None = None) -> None:
        self.counter = counter
        self.clock = clock
        self.limits = {**DEFAULT_LIMITS, **(limits or {})}

    def check(self, name: str, subject: str) -> Verdict:
        limit = self.limits[name]
        now = self.clock.now().timestamp()
        window = int(now // limit.window_seconds)
        count = self.counter.hit(f"{name}:{subject}:{window}", limit.window_seconds)
        retry = int((window + 1) * limit.window_seconds - now) + 1
        return Verdict(count <= limit.max_hits, limit, retry)

    def check_all(self, checks: list[tuple[str, str]]) -> Verdict | None:
        """The first limit exceeded, or None. Checks run in order and stop at a refusal, so a client
        refused by its own limit does not use up the elevator's budget for other passengers."""
        for name, subject in checks:
            verdict = self.check(name, subject)
            if not verdict.allowed:
                return verdict
        return None
