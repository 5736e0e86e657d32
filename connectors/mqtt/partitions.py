"""The partitioned telemetry log on Redis Streams: which partition a box's messages go to, the
streams' and keys' names, and the consumer groups.

A box's messages all go to one partition (a hash of its device id), so whichever ingest owns that
partition sees the box's whole stream in order; the partition count is fixed per group when the
first ingest starts (stored in Redis) so every process agrees on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from zlib import crc32

from redis import Redis
from redis.exceptions import ResponseError

from connectors.mqtt.topics import split

DEFAULT_PARTITIONS = 32
CONSUMER_GROUP = "judges"


def partition_of(device_id: str, partitions: int) -> int:
    return crc32(device_id.encode()) % partitions


def topic_partition(topic: str, partitions: int) -> int:
    """The box's partition; a topic that is not ours still goes somewhere (to be dead-lettered)."""
    parts = split(topic)
    return partition_of(parts[0] if parts else topic, partitions)


@dataclass(frozen=True)
class Layout:
    """The keys of one share group's log: `liftcase:ingest:<group>:...`."""

    group: str
    partitions: int

    @property
    def prefix(self) -> str:
        return f"liftcase:ingest:{self.group}"

    def stream(self, p: int) -> str:
        return f"{self.prefix}:p{p}"

    def lease(self, p: int) -> str:
        return f"{self.prefix}:lease:{p}"

    @property
    def members(self) -> str:
        return f"{self.prefix}:members"


def layout(redis: Redis, group: str, wanted: int = DEFAULT_PARTITIONS) -> Layout:
    """The group's layout: the partition count the first process set, or `wanted` if it is the first."""
    key = f"liftcase:ingest:{group}:partitions"
    redis.set(key, wanted, nx=True)
    return Layout(group, int(redis.get(key) or wanted))


def ensure_groups(redis: Redis, lay: Layout) -> None:
    """Every partition's stream with its consumer group, reading from the start (a relay may append
    before any judge has started)."""
    for p in range(lay.partitions):
        try:
            redis.xgroup_create(lay.stream(p), CONSUMER_GROUP, id="0", mkstream=True)
        except ResponseError as err:
            if "BUSYGROUP" not in str(err):
                raise
