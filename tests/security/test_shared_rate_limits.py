"""Rate limits hold across API processes: two apps on one Redis share the count, and a Redis outage
does not turn a passenger's rescue call into an error."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask import Flask

from infra.clock import SimulatedClock
from infra.jobs import InProcessJobs
from infra.ratelimit import Limit, MemoryCounter, RateLimiter, RedisCounter, counter_for
from liftcase.bootstrap import JOBS, build_system
from processes.system import System
from tests.connectors.qr.test_qr_pages import an_elevator, call
from tests.support.api_client import app_for
from tests.support.services import REDIS_URL, need_service
from tests.support.system import make_system

TIGHT = {"post-ip": Limit("post-ip", 3, 600), "post-elevator": Limit("post-elevator", 1000, 600)}


@pytest.fixture
def seeded(sqlite_url: str, clock: SimulatedClock) -> Iterator[System]:
    system = make_system(sqlite_url, clock, elevators=30)
    yield system
    system.db.dispose()


def api_process(seeded: System, clock: SimulatedClock, redis_url: str | None) -> Flask:
    """One more API process over the same database, as gunicorn would start it with these settings."""
    system = build_system(replace(seeded.settings, redis_url=redis_url), clock=clock, jobs=InProcessJobs(JOBS))
    app = app_for(system)
    app.config["QR_RATE_LIMITS"] = TIGHT
    return app


def a_client_address() -> str:
    # unique per run: the Redis database is shared with other runs within the window
    return f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"


def test_two_api_processes_on_one_redis_share_the_qr_limit(seeded: System, clock: SimulatedClock) -> None:
    need_service(6379, "Redis")
    first, second = api_process(seeded, clock, REDIS_URL), api_process(seeded, clock, REDIS_URL)
    code = an_elevator(seeded).qr_code
    ip = {"REMOTE_ADDR": a_client_address()}
    a, b = first.test_client(), second.test_client()
    # three calls spread over both processes use up one budget of three
    assert [call(c, code, environ_base=ip).status_code for c in (a, b, a)] == [303, 303, 303]
    assert call(b, code, environ_base=ip).status_code == 429
    assert call(a, code, environ_base=ip).status_code == 429
    assert call(b, code, environ_base={"REMOTE_ADDR": a_client_address()}).status_code == 303


def test_embedded_processes_count_for_themselves(seeded: System, clock: SimulatedClock) -> None:
    first, second = api_process(seeded, clock, None), api_process(seeded, clock, None)
    code = an_elevator(seeded).qr_code
    ip = {"REMOTE_ADDR": a_client_address()}
    a, b = first.test_client(), second.test_client()
    assert [call(a, code, environ_base=ip).status_code for _ in range(4)] == [303, 303, 303, 429]
    assert call(b, code, environ_base=ip).status_code == 303  # its own memory: embedded is one process


def test_a_rescue_call_goes_through_while_redis_is_down(seeded: System, clock: SimulatedClock) -> None:
    app = api_process(seeded, clock, "redis://127.0.0.1:1/0")  # nothing listens on port 1
    code = an_elevator(seeded).qr_code
    ip = {"REMOTE_ADDR": a_client_address()}
    client = app.test_client()
    # counted in the process meanwhile: the limit still holds, per process
    assert [call(client, code, environ_base=ip).status_code for _ in range(4)] == [303, 303, 303, 429]


def test_counters_shared_through_redis_and_peek_counts_nothing(clock: SimulatedClock) -> None:
    need_service(6379, "Redis")
    prefix = f"liftcase:test:{uuid.uuid4().hex[:8]}:"
    limits = {"sign-in": Limit("sign-in", 2, 900)}
    one = RateLimiter(RedisCounter(REDIS_URL, prefix), clock, limits)
    two = RateLimiter(RedisCounter(REDIS_URL, prefix), clock, limits)
    assert one.peek("sign-in", "ops").allowed
    assert one.check("sign-in", "ops").allowed and two.check("sign-in", "ops").allowed
    assert not one.peek("sign-in", "ops").allowed and not two.peek("sign-in", "ops").allowed
    assert not two.check("sign-in", "ops").allowed
    assert one.peek("sign-in", "someone-else").allowed
    assert isinstance(counter_for(None), MemoryCounter) and isinstance(counter_for(REDIS_URL), RedisCounter)
