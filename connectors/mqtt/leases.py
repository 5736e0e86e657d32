"""Which ingest process judges which partition: members that renew themselves, a fair assignment,
and a lease per partition that only one process can hold.

Every process renews its membership (a sorted set scored by expiry) and its leases each round. The
live members, sorted, deal the partitions round-robin; a process releases the partitions that are no
longer its own (after writing what it judged of them) and takes the free ones that are. A process
that dies stops renewing: its membership and leases expire after `ttl_s` and the others take its
partitions over. Leases are compare-and-set on the holder's name, so a process that stalled past its
lease cannot renew or release one that someone else holds.
"""

from __future__ import annotations

from redis import Redis

from connectors.mqtt.partitions import Layout

_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def deal(partitions: int, members: list[str]) -> dict[str, set[int]]:
    """Round-robin over the sorted members: every process computes the same answer."""
    ordered = sorted(members)
    out: dict[str, set[int]] = {m: set() for m in ordered}
    for p in range(partitions):
        out[ordered[p % len(ordered)]].add(p)
    return out


class Leases:
    def __init__(self, redis: Redis, lay: Layout, me: str, ttl_s: float) -> None:
        self.redis = redis
        self.layout = lay
        self.me = me
        self.ttl_ms = int(ttl_s * 1000)
        self.departed: list[str] = []
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    def live_members(self) -> list[str]:
        """Renew my membership, forget expired members (kept in `departed`), return the live ones."""
        seconds, micros = self.redis.time()
        now_ms = seconds * 1000 + micros // 1000
        pipe = self.redis.pipeline()
        pipe.zadd(self.layout.members, {self.me: now_ms + self.ttl_ms})
        pipe.zrangebyscore(self.layout.members, "-inf", now_ms)
        pipe.zremrangebyscore(self.layout.members, "-inf", now_ms)
        pipe.zrange(self.layout.members, 0, -1)
        _, departed, _, members = pipe.execute()
        self.departed = [m.decode() if isinstance(m, bytes) else m for m in departed]
        return [m.decode() if isinstance(m, bytes) else m for m in members]

    def claim_drain(self, member: str) -> bool:
        """One process drains a departed member's broker session (connectors/mqtt/sessions.py)."""
        return bool(self.redis.set(f"{self.layout.prefix}:drain:{member}", self.me, nx=True, px=300_000))

    def wanted(self) -> set[int]:
        return deal(self.layout.partitions, self.live_members()).get(self.me, set())

    def acquire(self, p: int) -> bool:
        return bool(self.redis.set(self.layout.lease(p), self.me, nx=True, px=self.ttl_ms))

    def renew(self, held: set[int]) -> set[int]:
        """Renew the leases held; returns those that were lost (expired and maybe taken)."""
        lost = set()
        for p in sorted(held):
            if not self._renew(keys=[self.layout.lease(p)], args=[self.me, self.ttl_ms]):
                lost.add(p)
        return lost

    def release(self, p: int) -> None:
        self._release(keys=[self.layout.lease(p)], args=[self.me])

    def leave(self, held: set[int]) -> None:
        """At shutdown: give everything back at once, so the others need not wait for expiry."""
        for p in held:
            self.release(p)
        self.redis.zadd(self.layout.members, {self.me: 0})  # expired: the next process to look drains my session
