"""Stage 2 of the partitioned ingest: the partitions this process holds, judged in order.

Each round: renew membership and leases now and then (taking and giving up partitions as the
members change), read the held partitions' streams through the consumer group, put each box's
messages back in seq order, judge them with the `IngestPipeline` (one in-memory rule state per box,
as with one ingest, because only the holder of a box's partition ever judges it), judge the boxes
whose deadline passed, and every `flush_seconds` write the batch and XACK what it judged.

Taking a partition: its boxes' states are read again from the database (what the previous holder
last wrote), then its pending entries, those the previous holder read but never acknowledged, are
claimed and judged first (XAUTOCLAIM, then reading the own pending list from the start), then new
ones. Re-judging is harmless: a seq already taken is a duplicate, and every finding carries an
idempotency key. Giving one up: write and acknowledge first, then release the lease.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis import Redis

from connectors.mqtt.leases import Leases
from connectors.mqtt.partitions import CONSUMER_GROUP, Layout, ensure_groups, partition_of
from connectors.mqtt.pipeline import Flush, IngestPipeline
from connectors.mqtt.resequence import Resequencer

log = logging.getLogger(__name__)
NEW = ">"


@dataclass(frozen=True)
class OwnerConfig:
    consumer: str  # stable per process (the client id)
    lease_ttl_s: float = 10.0  # a dead holder's partitions are taken over after this
    rebalance_s: float = 1.0
    read_count: int = 2000
    block_ms: int = 100
    flush_seconds: float = 1.0
    flush_messages: int = 10000
    reorder_s: float = 2.0
    offline_check_s: float = 60.0
    trim_s: float = 10.0


class PartitionOwner:
    def __init__(self, redis: Redis, lay: Layout, pipeline: IngestPipeline, config: OwnerConfig,
                 link_up: Callable[[], bool] = lambda: True) -> None:  # fmt: skip
        self.redis = redis
        self.layout = lay
        self.pipeline = pipeline
        self.config = config
        self.link_up = link_up
        self.leases = Leases(redis, lay, config.consumer, config.lease_ttl_s)
        self.owned: set[int] = set()
        self.cursor: dict[int, str] = {}  # partition -> where the next read starts (">" once caught up)
        self.reseq = Resequencer(config.reorder_s)
        self.unflushed: dict[int, list[Any]] = {}  # partition -> entry ids judged since the last flush
        self.judged = 0
        self._cut: tuple[Flush, dict[int, list[Any]]] | None = None
        self._retry_at = 0.0
        self._failures = 0
        self._last_read = 0
        self._next = {"rebalance": 0.0, "flush": 0.0, "offline": 0.0, "trim": 0.0}
        self._stream_partition = {lay.stream(p): p for p in range(lay.partitions)}
        pipeline.use_lanes(lambda device_id: partition_of(device_id, lay.partitions))
        self.stopping = threading.Event()
        self.on_departed: Callable[[str], None] | None = None  # a member went away: drain its session

    # -- running --------------------------------------------------------------------------------
    def run(self, seconds: float | None = None) -> None:
        deadline = None if seconds is None else time.monotonic() + seconds
        started = False
        try:
            while not self.stopping.is_set() and (deadline is None or time.monotonic() < deadline):
                try:
                    if not started:
                        ensure_groups(self.redis, self.layout)
                        started = True
                    self.round()
                except Exception:  # Redis or the database away: keep the loop, try again shortly
                    self._failures += 1
                    self._reread_pending()
                    self.pipeline.deadlines.hold()  # what was on its way arrives late: nobody is silent
                    if self._failures in (1, 10) or self._failures % 100 == 0:
                        log.exception("ingest judge round failed (%d in a row); retrying", self._failures)
                    self.stopping.wait(min(5.0, 0.2 * self._failures))
                else:
                    self._failures = 0
        finally:
            self.close()

    def stop(self) -> None:
        self.stopping.set()

    def round(self) -> None:
        now = time.monotonic()
        if now >= self._next["rebalance"]:  # also while a batch waits: the leases must not lapse
            self._next["rebalance"] = now + self.config.rebalance_s
            self.rebalance()
        if self._cut is not None:  # a batch failed to write: nothing newer before it is written
            if now >= self._retry_at:
                self._commit()
            else:
                self.stopping.wait(min(0.2, self._retry_at - now))
            return
        for item in self._read():
            for ready in self.reseq.add(item[2], item[3], item, now):
                self._judge(ready)
        for ready in self.reseq.expired(time.monotonic()):
            self._judge(ready)
        self.pipeline.judge_deadlines(self.link_up(), self.owned, set(self.reseq.held))
        now = time.monotonic()
        if now >= self._next["flush"] or sum(map(len, self.unflushed.values())) >= self.config.flush_messages:
            self._next["flush"] = now + self.config.flush_seconds
            self.flush()
        if now >= self._next["offline"]:
            self._next["offline"] = now + self.config.offline_check_s
            self.pipeline.check_offline()
        if now >= self._next["trim"]:
            self._next["trim"] = now + self.config.trim_s
            self._trim()

    def idle(self) -> bool:
        """Everything read was judged, written and acknowledged, and the last read found nothing new."""
        return (self._cut is None and not any(self.unflushed.values()) and not self.reseq.holding()
                and self._last_read == 0 and bool(self.owned) and all(c == NEW for c in self.cursor.values())
                and not self.pipeline.pending())  # fmt: skip

    def close(self) -> None:
        for _ in range(3):
            try:
                if self.flush():
                    break
            except Exception:
                log.exception("last flush failed")
            time.sleep(0.5)
        try:
            self.leases.leave(self.owned if self._cut is None else set())
        except Exception:
            log.warning("could not release the leases; they expire in %ss", self.config.lease_ttl_s)
        self.owned.clear()

    # -- partitions -----------------------------------------------------------------------------
    def rebalance(self) -> None:
        wanted = self.leases.wanted()
        for member in self.leases.departed:
            if member != self.config.consumer and self.on_departed is not None and self.leases.claim_drain(member):
                self.on_departed(member)
        for p in self.leases.renew(self.owned):
            log.warning("lease of partition %d lost (this process stalled?); its holder re-reads it", p)
            self._forget(p)
        giving_up = self.owned - wanted
        if giving_up and self._cut is None and self.flush():  # written and acknowledged first
            for p in sorted(giving_up):
                self._forget(p)
                self.leases.release(p)
            log.info("gave up partitions %s", sorted(giving_up))
        taken = [p for p in sorted(wanted - self.owned) if self.leases.acquire(p)]
        for p in taken:
            self._take(p)
        if taken:
            log.info("%s holds partitions %s", self.config.consumer, sorted(self.owned))

    def _take(self, p: int) -> None:
        n = self.layout.partitions
        self.pipeline.reload({d for d in self.pipeline.views if partition_of(d, n) == p})
        stream, start = self.layout.stream(p), "0-0"
        while True:  # the previous holder's unacknowledged entries become ours, to be read first
            reply: Any = self.redis.xautoclaim(stream, CONSUMER_GROUP, self.config.consumer, 0, start, count=1000)
            start = reply[0].decode() if isinstance(reply[0], bytes) else reply[0]
            if start == "0-0":
                break
        self.owned.add(p)
        self.cursor[p] = "0-0"
        self.unflushed[p] = []

    def _reread_pending(self) -> None:
        """After a failed round, read the own pending entries again from the start: a read whose reply
        was cut off left entries delivered to us that we never saw. What was judged already comes back
        as duplicates."""
        for p in self.owned:
            self.cursor[p] = "0-0"

    def _forget(self, p: int) -> None:
        self.owned.discard(p)
        self.cursor.pop(p, None)
        self.unflushed.pop(p, None)
        self.pipeline.deadlines.forget_lane(p)
        n = self.layout.partitions
        self.reseq.drop({d for d in list(self.reseq.held) + list(self.reseq.last) if partition_of(d, n) == p})

    # -- reading and judging --------------------------------------------------------------------
    def _read(self) -> list[tuple[int, Any, str, bytes]]:
        if not self.owned:
            self.stopping.wait(self.config.block_ms / 1000)
            self._last_read = 0
            return []
        streams: Any = {self.layout.stream(p): self.cursor[p] for p in sorted(self.owned)}
        catching_up = any(c != NEW for c in streams.values())
        reply: Any = self.redis.xreadgroup(CONSUMER_GROUP, self.config.consumer, streams, count=self.config.read_count,
                                      block=None if catching_up else self.config.block_ms)  # fmt: skip
        out: list[tuple[int, Any, str, bytes]] = []
        for key, entries in reply or []:
            p = self._stream_partition[key.decode() if isinstance(key, bytes) else key]
            if self.cursor.get(p, NEW) != NEW:
                if not entries:
                    self.cursor[p] = NEW  # the own pending list is read through
                    continue
                self.cursor[p] = entries[-1][0]
            for entry_id, fields in entries:
                if not fields:  # trimmed away meanwhile: nothing to judge, only to acknowledge
                    self.unflushed[p].append(entry_id)
                    continue
                topic = fields[b"t"].decode("utf-8", "replace")
                out.append((p, entry_id, topic, fields[b"p"]))
        self._last_read = len(out)
        return out

    def _judge(self, item: tuple[int, Any, str, bytes]) -> None:
        p, entry_id, topic, payload = item
        if p not in self.owned:
            return
        self.pipeline.handle(topic, payload)
        self.unflushed[p].append(entry_id)
        self.judged += 1

    # -- writing --------------------------------------------------------------------------------
    def flush(self) -> bool:
        if self._cut is None:
            if not any(self.unflushed.values()) and not self.pipeline.pending():
                return True
            ids, self.unflushed = self.unflushed, {p: [] for p in self.owned}
            self._cut = (self.pipeline.take(), ids)
        return self._commit()

    def _commit(self) -> bool:
        assert self._cut is not None
        cut, ids = self._cut
        try:
            self.pipeline.commit(cut)
        except Exception:
            self._failures += 1
            delay = min(30.0, 0.5 * 2 ** min(self._failures, 6))
            self._retry_at = time.monotonic() + delay
            log.exception("flush failed (%d in a row); retrying in %.1fs, entries stay unacknowledged",
                          self._failures, delay)  # fmt: skip
            return False
        self._failures = 0
        self._cut = None
        pipe = self.redis.pipeline(transaction=False)
        for p, entry_ids in ids.items():
            if entry_ids:
                pipe.xack(self.layout.stream(p), CONSUMER_GROUP, *entry_ids)
        pipe.execute()
        return True

    def _trim(self) -> None:
        """Drop what every reader has acknowledged: entries below the oldest pending one (or the last
        delivered, when nothing is pending)."""
        for p in sorted(self.owned):
            stream = self.layout.stream(p)
            pending = self.redis.xpending(stream, CONSUMER_GROUP)
            if pending["pending"]:
                floor = pending["min"]
            else:
                groups = {g["name"]: g for g in self.redis.xinfo_groups(stream)}
                group = groups.get(CONSUMER_GROUP.encode()) or groups.get(CONSUMER_GROUP)
                floor = group["last-delivered-id"] if group else None
            if floor:
                self.redis.xtrim(stream, minid=floor, approximate=False)
