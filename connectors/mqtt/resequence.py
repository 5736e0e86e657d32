"""Putting a box's status messages back in `seq` order before they are judged.

Several ingest processes receive from the shared subscription and append to a box's partition
concurrently, so two consecutive messages of one box can land in its partition the wrong way round
(and the transport itself may reorder). A message whose seq follows the last one released goes on
at once; one after a gap waits up to `window_s` for the missing ones, then what is held goes on in
seq order (a box that really lost a message costs its stream that wait once). Older or repeated seqs
go on at once: the gate tells duplicates from late messages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from connectors.mqtt.topics import split

# The gate parses and checks the payload; ordering only needs the number, found without a JSON parse.
_SEQ = re.compile(rb'"seq"\s*:\s*(\d{1,18})[\s,}]')


@dataclass(slots=True)
class _Held:
    since: float
    items: dict[int, list[Any]] = field(default_factory=dict)  # seq -> its copies (a resent one too)


class Resequencer:
    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self.last: dict[str, int] = {}  # device -> last seq released
        self.held: dict[str, _Held] = {}

    def add(self, topic: str, payload: bytes, item: Any, now: float) -> Iterator[Any]:
        """The items that may be judged now, in order (this one, maybe with held successors)."""
        parts = split(topic)
        found = _SEQ.search(payload) if parts and parts[1] == "status" else None
        if found is None:
            yield item
            return
        device, seq = parts[0], int(found.group(1))  # type: ignore[index]
        last = self.last.get(device)
        if last is None or seq <= last + 1:
            if last is None or seq == last + 1:
                self.last[device] = seq
            yield item
            yield from self._contiguous(device)
            return
        held = self.held.get(device)
        if held is None:
            held = self.held[device] = _Held(now)
        # Every copy is kept: each is an entry to judge (the second as a duplicate) and acknowledge;
        # one dropped here stayed unacknowledged and held the stream's trimming back for good.
        held.items.setdefault(seq, []).append(item)

    def _contiguous(self, device: str) -> Iterator[Any]:
        held = self.held.get(device)
        while held is not None and (nxt := self.last[device] + 1) in held.items:
            self.last[device] = nxt
            yield from held.items.pop(nxt)
        if held is not None and not held.items:
            del self.held[device]

    def expired(self, now: float) -> Iterator[Any]:
        """Held items whose wait is over, in seq order per box."""
        for device in [d for d, h in self.held.items() if now - h.since >= self.window_s]:
            held = self.held.pop(device)
            for seq in sorted(held.items):
                self.last[device] = max(seq, self.last.get(device, seq))
                yield from held.items[seq]

    def drop(self, devices: set[str] | None = None) -> None:
        """Forget held items (their partitions were given up: they stay unacknowledged, the new owner
        reads them again) and the order memory."""
        if devices is None:
            self.held.clear()
            self.last.clear()
            return
        for d in devices:
            self.held.pop(d, None)
            self.last.pop(d, None)

    def holding(self) -> int:
        return sum(len(copies) for h in self.held.values() for copies in h.items.values())
