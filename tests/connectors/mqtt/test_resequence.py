"""Putting a box's messages back in seq order (two relays may append them the wrong way round), and
dealing partitions to the live ingest processes."""

from __future__ import annotations

import json

from connectors.mqtt.leases import deal
from connectors.mqtt.resequence import Resequencer


def status(device: str, seq: int) -> tuple[str, bytes]:
    return f"lift/{device}/status", json.dumps({"device_id": device, "seq": seq, "door_status": 1}).encode()


def feed(r: Resequencer, device: str, seqs: list[int], now: float = 0.0) -> list[int]:
    out = []
    for seq in seqs:
        topic, payload = status(device, seq)
        out.extend(r.add(topic, payload, seq, now))
    return out


def test_swapped_messages_are_judged_in_seq_order() -> None:
    r = Resequencer(window_s=2.0)
    assert feed(r, "A", [1, 3, 2, 5, 4]) == [1, 2, 3, 4, 5]
    assert r.holding() == 0


def test_a_gap_waits_for_the_window_then_goes_on_in_order() -> None:
    r = Resequencer(window_s=2.0)
    assert feed(r, "A", [1, 2, 5, 4], now=10.0) == [1, 2]  # 3 is missing
    assert list(r.expired(11.9)) == []
    assert list(r.expired(12.0)) == [4, 5]
    assert feed(r, "A", [6], now=12.1) == [6]


def test_repeats_and_older_seqs_and_other_boxes_pass_at_once() -> None:
    r = Resequencer(window_s=2.0)
    assert feed(r, "A", [1, 2, 2, 1]) == [1, 2, 2, 1]  # the gate tells duplicates from late ones
    assert feed(r, "B", [7, 9]) == [7]
    assert feed(r, "A", [3]) == [3]  # B's gap holds only B
    assert list(r.add("lift/A/event", b'{"event_id": "e"}', "event", 0.0)) == ["event"]
    r.drop({"B"})
    assert r.holding() == 0


def test_a_copy_arriving_while_its_seq_is_held_is_kept_and_released_with_it() -> None:
    """Each copy is a stream entry that must be judged (as a duplicate) and acknowledged; a copy
    dropped here stayed pending for good and held the stream's trimming back."""
    r = Resequencer(window_s=2.0)
    assert feed(r, "A", [1, 3, 3], now=0.0) == [1]
    assert r.holding() == 2
    assert feed(r, "A", [2], now=0.5) == [2, 3, 3]
    assert feed(r, "A", [5, 5], now=1.0) == []
    assert list(r.expired(3.0)) == [5, 5]


def test_partitions_are_dealt_evenly_and_alike_in_every_process() -> None:
    dealt = deal(32, ["ingest-b", "ingest-a", "ingest-c"])
    assert sorted(len(p) for p in dealt.values()) == [10, 11, 11]
    assert set().union(*dealt.values()) == set(range(32))
    assert dealt == deal(32, ["ingest-c", "ingest-a", "ingest-b"])
