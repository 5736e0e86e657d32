"""DESIGN's topics: `lift/{device_id}/status|event|online`, and the shared subscriptions over them."""

from __future__ import annotations

KINDS = ("status", "event", "online")
SHARE_GROUP = "liftcase"


def topic(device_id: str, kind: str) -> str:
    return f"lift/{device_id}/{kind}"


def shared_filters(group: str = SHARE_GROUP) -> list[str]:
    """`$share/<group>/lift/+/<kind>`: the broker hands each message to one member of the group,
    so N ingest processes split the load."""
    return [f"$share/{group}/lift/+/{kind}" for kind in KINDS]


def split(topic_name: str) -> tuple[str, str] | None:
    """(device_id, kind), or None when the topic is not one of ours."""
    parts = topic_name.split("/")
    if len(parts) != 3 or parts[0] != "lift" or parts[2] not in KINDS or not parts[1]:
        return None
    return parts[1], parts[2]
