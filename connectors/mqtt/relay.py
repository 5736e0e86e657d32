"""Stage 1 of the partitioned ingest: MQTT messages appended to the partition of their box.

`StreamRelay` is the sink an `IngestService` feeds in deployed mode (the same `handle / pending /
take / commit` as `IngestPipeline`): `handle` only buffers; `commit` appends the batch with one
pipelined round trip (XADD per message). The service acknowledges the MQTT messages only after the
commit returned, so a relay killed or cut from Redis loses nothing: the broker redelivers, and a
message appended twice is judged a duplicate downstream.
"""

from __future__ import annotations

from redis import Redis

from connectors.mqtt.partitions import Layout, topic_partition


class StreamRelay:
    def __init__(self, redis: Redis, lay: Layout) -> None:
        self.redis = redis
        self.layout = lay
        self.buffer: list[tuple[str, bytes]] = []
        self.handled = 0
        self.appended = 0

    def handle(self, topic: str, payload: bytes) -> None:
        self.handled += 1
        self.buffer.append((topic, payload))

    def pending(self) -> bool:
        return bool(self.buffer)

    def take(self) -> list[tuple[str, bytes]]:
        cut, self.buffer = self.buffer, []
        return cut

    def commit(self, cut: list[tuple[str, bytes]]) -> None:
        """Append in arrival order; raises when Redis fails (the caller retries the same cut)."""
        if not cut:
            return
        lay, n = self.layout, self.layout.partitions
        pipe = self.redis.pipeline(transaction=False)
        for topic, payload in cut:
            pipe.xadd(lay.stream(topic_partition(topic, n)), {"t": topic, "p": payload})
        pipe.execute()
        self.appended += len(cut)
