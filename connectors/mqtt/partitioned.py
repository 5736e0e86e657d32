"""The deployed ingest: one process = a relay (stage 1) and a judge of the partitions it holds (stage 2).

    broker --$share--> relay (any process) --XADD by hash(device)--> Redis Streams, P partitions
                                                                        |  one holder per partition
                     findings (rq), states (DB) <-- judge (IngestPipeline) <--+  (leases, consumer group)

Mosquitto deals shared-subscription messages one at a time, not per box, so with N processes each
would see a part of every box's stream; the relay only moves messages to the partition of their box,
and the judging, which needs a box's whole stream in order, happens where that partition is held.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from redis import Redis

from connectors.mqtt.ingest import IngestConfig, IngestService
from connectors.mqtt.owner import OwnerConfig, PartitionOwner
from connectors.mqtt.partitions import DEFAULT_PARTITIONS, ensure_groups, layout
from connectors.mqtt.pipeline import IngestPipeline
from connectors.mqtt.relay import StreamRelay
from connectors.mqtt.sessions import drain_session


@dataclass(frozen=True)
class PartitionConfig:
    partitions: int = DEFAULT_PARTITIONS  # fixed per group by the first process (stored in Redis)
    relay_flush_s: float = 0.05  # how long a message may wait before it is appended
    lease_ttl_s: float = 10.0
    reorder_s: float = 2.0
    flush_seconds: float = 1.0


class PartitionedIngest:
    def __init__(self, pipeline: IngestPipeline, redis_url: str, config: IngestConfig,
                 parts: PartitionConfig | None = None) -> None:  # fmt: skip
        parts = parts or PartitionConfig()
        self.redis = Redis.from_url(redis_url, socket_timeout=10, socket_connect_timeout=5, health_check_interval=30)
        self.layout = layout(self.redis, config.group, parts.partitions)
        ensure_groups(self.redis, self.layout)
        relay_config = IngestConfig(**{**config.__dict__, "flush_seconds": parts.relay_flush_s,
                                       "flush_messages": 2000, "offline_check_s": 10**9,
                                       # Redis is back within a second: relays that retried on different
                                       # schedules would append a box's messages far apart
                                       "retry_max_s": 1.0})  # fmt: skip
        self.relay = StreamRelay(self.redis, self.layout)
        self.service = IngestService(self.relay, relay_config)
        self.owner = PartitionOwner(
            self.redis, self.layout, pipeline,
            OwnerConfig(consumer=config.client_id, lease_ttl_s=parts.lease_ttl_s, reorder_s=parts.reorder_s,
                        flush_seconds=parts.flush_seconds, offline_check_s=config.offline_check_s),
            link_up=self.service.flowing,  # messages may be held up on the way: no box looks silent
        )  # fmt: skip
        self.owner.on_departed = self.drain
        self.config = config
        self.pipeline = pipeline
        self.connected = self.service.connected
        self.stopping = threading.Event()

    def run(self, seconds: float | None = None) -> None:
        relay = threading.Thread(target=self.service.run, args=(seconds,), name="ingest-relay", daemon=True)
        relay.start()
        try:
            self.owner.run(seconds)
        finally:
            self.service.stop()
            relay.join(30)

    def drain(self, client_id: str) -> None:
        """Relay what the broker kept for a departed process's session, in the background."""
        threading.Thread(target=drain_session, args=(self.relay, self.config, client_id), daemon=True,
                         name=f"drain-{client_id}").start()  # fmt: skip

    def stop(self) -> None:
        self.stopping.set()
        self.owner.stop()
        self.service.stop()

    def idle(self) -> bool:
        return self.service.idle() and self.owner.idle()

    def wait_holding(self, timeout: float = 30) -> bool:
        """Until this process holds some partition (tests and benchmarks start publishing then)."""
        deadline = time.monotonic() + timeout
        while not self.owner.owned and time.monotonic() < deadline:
            time.sleep(0.05)
        return bool(self.owner.owned)
