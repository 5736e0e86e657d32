"""Lockout is no weapon: failed sign-ins slow down the address that makes them, and an account
guessed at from many addresses makes strangers wait, never its owner at a known address; the
wait is bounded, and every attempt stays in the sign-in trail."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from infra.clock import SimulatedClock
from processes.system import System
from registry.accounts.models import SignInEvent
from registry.accounts.throttle import Policy, backoff
from tests.support.api_client import PASSWORD, app_for
from tests.support.system import make_system

SEAT = "dispatcher"  # the 96933 seat
DESK = "10.1.2.3"  # where the seat signs in every day


@pytest.fixture
def api(db_url: str, clock: SimulatedClock) -> Iterator[tuple[System, Flask]]:
    system = make_system(db_url, clock, elevators=20)
    yield system, app_for(system)
    system.db.dispose()


def attempt(app: Flask, username: str, password: str, addr: str) -> tuple[int, int | None]:
    r = app.test_client().post(
        "/api/v1/session", json={"username": username, "password": password}, environ_base={"REMOTE_ADDR": addr}
    )
    return r.status_code, int(r.headers["Retry-After"]) if "Retry-After" in r.headers else None


def test_five_wrong_passwords_do_not_lock_the_seat_out(api: tuple[System, Flask], clock: SimulatedClock) -> None:
    _, app = api
    assert attempt(app, SEAT, PASSWORD, DESK) == (200, None)  # yesterday, at the desk
    clock.advance(timedelta(hours=20))
    for _ in range(5):
        assert attempt(app, SEAT, "guess", "198.51.100.7")[0] == 401
    assert attempt(app, SEAT, "guess", "198.51.100.7") == (429, 2)  # the attacker waits...
    assert attempt(app, SEAT, PASSWORD, DESK) == (200, None)  # ...the seat signs in at once


def test_the_attacking_address_backs_off_exponentially(api: tuple[System, Flask], clock: SimulatedClock) -> None:
    system, app = api
    evil = "198.51.100.7"
    for _ in range(5):
        assert attempt(app, "maint", "guess", evil)[0] == 401
    waits = []
    for _ in range(4):
        status, retry = attempt(app, "maint", "guess", evil)
        assert status == 429 and retry is not None
        waits.append(retry)
        assert attempt(app, "maint", PASSWORD, evil)[0] == 429  # hammering during the wait: not even checked
        clock.advance(timedelta(seconds=retry))
        assert attempt(app, "maint", "guess", evil)[0] == 401  # after the wait: one more guess
    assert waits == [2, 4, 8, 16]
    with system.sessions() as s:
        kinds = [k for k, in s.execute(select(SignInEvent.kind).order_by(SignInEvent.id))]
    assert kinds == ["failed"] * 5 + ["throttled", "throttled", "failed"] * 4  # all recorded


def test_spraying_many_accounts_from_one_address_is_throttled(api: tuple[System, Flask]) -> None:
    _, app = api
    for name in ("maint", "property", "regulator", "analyst", "auditor"):
        assert attempt(app, name, "Passw0rd!", "198.51.100.7")[0] == 401
    assert attempt(app, "admin", "Passw0rd!", "198.51.100.7")[0] == 429
    assert attempt(app, "admin", PASSWORD, "192.0.2.44")[0] == 200  # other addresses are not held back


def test_distributed_guessing_delays_strangers_not_the_owner(api: tuple[System, Flask], clock: SimulatedClock) -> None:
    system, app = api
    assert attempt(app, SEAT, PASSWORD, DESK)[0] == 200
    clock.advance(timedelta(minutes=5))
    for n in range(12):  # a botnet: one guess per address, spaced past each wait
        status, retry = attempt(app, SEAT, "guess", f"203.0.113.{n}")
        if status == 429:
            clock.advance(timedelta(seconds=retry or 0))
            status, _ = attempt(app, SEAT, "guess", f"203.0.113.{n}")
        assert status == 401
    status, retry = attempt(app, SEAT, PASSWORD, "192.0.2.44")  # the seat from a new phone
    assert status == 429 and retry is not None and 0 < retry <= system.settings.signin_max_delay_seconds
    assert attempt(app, SEAT, PASSWORD, DESK) == (200, None)  # from the desk, no wait at all
    clock.advance(timedelta(seconds=retry))
    assert attempt(app, SEAT, PASSWORD, "192.0.2.44")[0] == 200  # and the phone after the wait


def test_the_wait_is_capped_and_failures_are_forgotten(api: tuple[System, Flask], clock: SimulatedClock) -> None:
    system, app = api
    cap = system.settings.signin_max_delay_seconds
    policy = Policy(free_failures=5, max_delay=timedelta(seconds=cap), memory=timedelta(hours=24))
    assert [backoff(n, policy).total_seconds() for n in (0, 4, 5, 6, 7)] == [0, 0, 2, 4, 8]
    assert backoff(10_000, policy) == timedelta(seconds=cap)
    for _ in range(40):
        status, retry = attempt(app, "maint", "guess", "198.51.100.7")
        if status == 429:
            assert retry is not None and retry <= cap
            clock.advance(timedelta(seconds=retry))
    clock.advance(timedelta(seconds=cap))  # the attack pauses: the right password works
    assert attempt(app, "maint", PASSWORD, "198.51.100.7")[0] == 200
    clock.advance(timedelta(hours=25))
    for _ in range(5):  # a day later the earlier failures are forgotten (and the success reset them)
        assert attempt(app, "maint", "guess", "198.51.100.7")[0] == 401
