"""Pushing the feed to a real HTTP receiver that is away, fails, times out, drops connections and
recovers: every committed timeline entry arrives (lost = 0), in order per case, each signed; a
repeat is only ever a redelivery of the same event (same id, same body)."""

from __future__ import annotations

import zlib
from collections import defaultdict
from datetime import timedelta

from sqlalchemy import select

from connectors.feed import flows
from connectors.feed.models import FeedDelivery
from engine.models import Case, TimelineEvent
from infra.clock import SimulatedClock
from processes import administration
from processes.system import System
from registry.models import Elevator
from tests.connectors.feed.conftest import SECRET, next_port, open_cases, pending, pump, subscribe
from tests.support.feed_receiver import Receiver


def _elevators(system: System, n: int, district: str | None = None) -> list[int]:
    with system.sessions() as session:
        stmt = select(Elevator.id).order_by(Elevator.id).limit(n)
        if district:
            stmt = stmt.where(Elevator.district_code == district)
        return list(session.scalars(stmt))


def _committed(system: System) -> dict[str, tuple[str, int]]:
    """Every committed timeline entry by its feed event id: (case number, seq)."""
    with system.sessions() as session:
        rows = session.execute(select(Case.number, TimelineEvent.seq).join(Case, Case.id == TimelineEvent.case_id))
        return {f"case:{number}:{seq}": (number, seq) for number, seq in rows}


def _first_arrivals(receiver: Receiver) -> list[tuple[str, int]]:
    seen: set[str] = set()
    out = []
    for a in receiver.taken():
        if a.event_id not in seen:
            seen.add(a.event_id)
            out.append((a.body["case"]["number"], a.body["seq"]))
    return out


def test_push_survives_an_outage_failures_timeouts_and_drops(system: System, clock: SimulatedClock) -> None:
    port = next_port()
    away = Receiver(SECRET, port)
    away.stop()  # the platform is down when the first events are owed
    sub = subscribe(system, f"http://127.0.0.1:{port}/liftcase-feed")
    cases = open_cases(system, _elevators(system, 4), comments=4)

    flows.sequence(system)
    assert flows.deliver(system, sub) == 0
    with system.sessions() as session:
        tried = session.scalars(select(FeedDelivery).where(FeedDelivery.attempts > 0)).all()
        # One head per case was tried; each case's later events wait behind it.
        assert sorted(d.case_key for d in tried) == sorted(cases)
        assert all(d.status == "pending" and d.last_error for d in tried)

    def answer(body: dict, n: int) -> str:  # type: ignore[type-arg]
        if n > 1:
            return "ok"
        return ("fail", "slow", "drop", "ok", "ok")[zlib.crc32(body["event_id"].encode()) % 5]

    receiver = Receiver(SECRET, port, answer, slow_seconds=0.8)
    try:
        pump(system, clock, [sub])
    finally:
        receiver.stop()

    committed = _committed(system)
    taken = receiver.taken()
    assert {a.event_id for a in taken} == set(committed)  # lost = 0, nothing invented
    assert all(a.signed_ok for a in receiver.arrivals)
    answers = {a.answer for a in receiver.arrivals}
    assert {"fail", "slow", "drop", "ok"} <= answers
    # In order per case: each case's first arrivals are its seq 1, 2, 3, ... with no gap.
    by_case: dict[str, list[int]] = defaultdict(list)
    for number, seq in _first_arrivals(receiver):
        by_case[number].append(seq)
    for number, seqs in by_case.items():
        assert seqs == list(range(1, len(seqs) + 1)), number
    # Repeats: only redeliveries of an event the receiver took late ("slow"), same id and body.
    repeats = defaultdict(list)
    for a in taken:
        repeats[a.event_id].append(a)
    doubled = {k: v for k, v in repeats.items() if len(v) > 1}
    assert doubled, "the slow answers must have caused redeliveries"
    for arrivals in doubled.values():
        assert arrivals[0].answer == "slow"
        assert all(a.body == arrivals[0].body for a in arrivals)
        assert [a.attempt for a in arrivals] == sorted(a.attempt for a in arrivals)


def test_a_failing_case_blocks_only_itself(system: System, clock: SimulatedClock) -> None:
    broken = {"on": True}
    numbers: dict[str, str] = {}
    troubled = Receiver(
        SECRET, next_port(), lambda body, n: "fail" if broken["on"] and body["case"]["number"] == numbers["a"] else "ok"
    )
    healthy = Receiver(SECRET, next_port())
    sub, other = subscribe(system, troubled.url), subscribe(system, healthy.url)
    a_id, _b = open_cases(system, _elevators(system, 2), comments=3)
    with system.sessions() as session:
        numbers["a"] = session.get(Case, a_id).number  # type: ignore[union-attr]
    committed = _committed(system)
    try:
        for _ in range(3):
            flows.sequence(system)
            flows.deliver(system, sub)
            flows.deliver(system, other)
            clock.advance(timedelta(minutes=11))
        a_seen = {a.body["seq"] for a in troubled.arrivals if a.body["case"]["number"] == numbers["a"]}
        assert a_seen == {1}, "case A's later events wait behind its failing first one"
        b_events = {k for k, (number, _) in committed.items() if number != numbers["a"]}
        assert {a.event_id for a in troubled.taken()} == b_events  # case B went through
        assert {a.event_id for a in healthy.taken()} == set(committed)  # the other subscriber: all
        assert pending(system, sub) == len(committed) - len(b_events)
        broken["on"] = False
        pump(system, clock, [sub, other])
    finally:
        troubled.stop()
        healthy.stop()
    assert {a.event_id for a in troubled.taken()} == set(committed)
    a_order = [seq for number, seq in _first_arrivals(troubled) if number == numbers["a"]]
    assert a_order == list(range(1, len(a_order) + 1))


def test_subscription_filters_by_kind_and_district(system: System, clock: SimulatedClock) -> None:
    with system.sessions() as session:
        districts = list(session.scalars(select(Elevator.district_code).distinct().order_by(Elevator.district_code)))
    here, there = districts[0], districts[1]
    openings, register = Receiver(SECRET, next_port()), Receiver(SECRET, next_port())
    subs = [
        subscribe(system, openings.url, kinds=["case_opened", "case_closed"], districts=[here]),
        subscribe(system, register.url, kinds=["register"]),
    ]
    open_cases(system, _elevators(system, 2, here) + _elevators(system, 2, there), comments=2)
    with system.sessions() as session, session.begin():
        elevator = session.get(Elevator, _elevators(system, 1, there)[0])
        administration.update_elevator(session, elevator, {"address": "新地址 1 号"}, actor="admin", now=clock.now())
    try:
        pump(system, clock, subs)
    finally:
        openings.stop()
        register.stop()
    got = [a.body for a in openings.taken()]
    assert len(got) == 2
    assert {b["kind"] for b in got} == {"case_opened"} and {b["case"]["district_code"] for b in got} == {here}
    changes = [a.body for a in register.taken()]
    assert [b["kind"] for b in changes] == ["elevator.updated"]
    assert changes[0]["target"]["district_code"] == there and changes[0]["data"]["address"]
    assert changes[0]["event_id"].startswith("register:")


def test_the_sweep_places_and_queues_the_delivery_job(system: System, clock: SimulatedClock) -> None:
    from connectors.feed import jobs as feed_jobs
    from liftcase.bootstrap import JOBS, PERIODIC

    assert feed_jobs.SWEEP in PERIODIC and JOBS.job(feed_jobs.DELIVER).queue == "notify"
    receiver = Receiver(SECRET, next_port())
    subscribe(system, receiver.url)
    open_cases(system, _elevators(system, 1), comments=1)
    try:
        placed, queued = feed_jobs.sweep_feed(system)  # the system's in-process queue runs the job
    finally:
        receiver.stop()
    assert placed == len(_committed(system)) and queued == 1
    assert {a.event_id for a in receiver.taken()} == set(_committed(system))
