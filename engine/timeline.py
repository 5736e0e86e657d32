"""The hash-chained case timeline: append, and verify that nothing was edited, deleted or reordered.

Each case has its own chain (so cases never wait for each other's appends). An event's hash
covers its case, sequence number, kind, time, actor, payload and the previous hash; the case
row keeps the head hash and the length, so a truncated tail is caught too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GENESIS = "0" * 64


def event_hash(case_id: int, seq: int, kind: str, at: datetime, actor: str, payload: Any, prev_hash: str) -> str:
    body = json.dumps(
        [case_id, seq, kind, at.isoformat(timespec="microseconds"), actor, payload, prev_hash],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class ChainLink:
    """The fields of one stored event, as the verifier reads them (from the database or an export)."""

    case_id: int
    seq: int
    kind: str
    at: datetime
    actor: str
    payload: Any
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Break:
    case_id: int
    seq: int | None
    reason: str

    def __str__(self) -> str:
        where = f"case {self.case_id}" + (f" event #{self.seq}" if self.seq is not None else "")
        return f"{where}: {self.reason}"


def verify_chain(
    case_id: int, links: Sequence[ChainLink], head: str | None = None, length: int | None = None
) -> Break | None:
    """The first broken link of one case's chain, or None. `links` in stored (seq) order."""
    prev = GENESIS
    for expected_seq, link in enumerate(links, start=1):
        if link.seq != expected_seq:
            return Break(case_id, link.seq, f"sequence gap or reorder: expected #{expected_seq}, found #{link.seq}")
        if link.prev_hash != prev:
            return Break(case_id, link.seq, "prev_hash does not match the previous event (deleted or reordered)")
        recomputed = event_hash(case_id, link.seq, link.kind, link.at, link.actor, link.payload, link.prev_hash)
        if recomputed != link.hash:
            return Break(case_id, link.seq, "content does not match its hash (edited)")
        prev = link.hash
    if length is not None and len(links) != length:
        return Break(case_id, None, f"chain has {len(links)} events, the case recorded {length} (tail deleted)")
    if head is not None and prev != (head or GENESIS):
        return Break(case_id, None, "chain head does not match the case's recorded head")
    return None


def verify_chains(grouped: Iterable[tuple[int, Sequence[ChainLink], str | None, int | None]]) -> list[Break]:
    return [b for case_id, links, head, n in grouped if (b := verify_chain(case_id, links, head, n))]
