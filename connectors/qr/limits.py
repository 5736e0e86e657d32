"""The public pages' rate limits, per client IP and per elevator; the counting is infra/ratelimit.py's
(shared through Redis when deployed, in this process when embedded)."""

from __future__ import annotations

from collections.abc import Mapping

from infra.clock import Clock
from infra.ratelimit import Counter, Limit, MemoryCounter, RateLimiter, RedisCounter, Verdict, counter_for

__all__ = ["DEFAULT_LIMITS", "Counter", "Limit", "MemoryCounter", "RateLimiter", "RedisCounter", "Verdict",
           "qr_limiter"]  # fmt: skip

# Keys of their own in a Redis shared with other limits (and with older releases' counts).
PREFIX = "liftcase:qr:rl:"

# Generous for people, tight for scripts: a trapped passenger may press several times (those join
# the open case); a flood from one address or at one elevator is cut off.
DEFAULT_LIMITS: dict[str, Limit] = {
    "post-ip": Limit("post-ip", 10, 600),
    "post-elevator": Limit("post-elevator", 30, 600),
    "view-ip": Limit("view-ip", 120, 60),
}


def qr_limiter(redis_url: str | None, clock: Clock, overrides: Mapping[str, Limit] | None = None) -> RateLimiter:
    """Redis-backed whenever the deployment has Redis: every API process counts into the same keys."""
    return RateLimiter(counter_for(redis_url, PREFIX), clock, {**DEFAULT_LIMITS, **(overrides or {})})
