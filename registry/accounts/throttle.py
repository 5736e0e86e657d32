"""Sign-in throttling: failed attempts slow down whoever makes them, never lock an account.

A hard lock (N failures lock the account) lets anyone who knows a username deny its owner: five
wrong passwords locked the 96933 seat. Instead, from the sign-in trail:

- Per source address: after `free_failures` failures from one address (whatever the usernames:
  spraying counts too), that address waits 2^k seconds after its latest failure before the next
  attempt (k = failures beyond the free ones, the wait capped at `max_delay`).
- Per account: the same backoff for failures of one username from any addresses (a distributed
  guess), except from an address the account signed in from lately (KNOWN_ADDRESS_DAYS): its
  owner at their usual desk is never held back by strangers elsewhere.

Each counter starts over after a successful sign-in (from that address; of that account) and
forgets failures older than `memory`. A wait is measured from the latest failure and never
exceeds `max_delay`, so however long an attack, the right password works within `max_delay` of
it pausing, and at once from a known address. Refused attempts are recorded ("throttled") but
are not failures: hammering during a wait does not lengthen it, and the password is not checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from registry.accounts.models import SignInEvent

# An address the account signed in from within this many days counts as the owner's.
KNOWN_ADDRESS_DAYS = 30


@dataclass(frozen=True)
class Policy:
    free_failures: int
    max_delay: timedelta
    memory: timedelta


def backoff(failures: int, policy: Policy) -> timedelta:
    """The wait after the latest of `failures`: none for the free ones, then 2, 4, 8 ... seconds."""
    if failures < policy.free_failures:
        return timedelta(0)
    exponent = min(failures - policy.free_failures + 1, 30)  # 2^30 s is far beyond any cap
    return min(policy.max_delay, timedelta(seconds=2**exponent))


def wait(db: Session, username: str, remote_addr: str | None, *, now: datetime, policy: Policy) -> timedelta:
    """How long this attempt must still wait (zero: check the password)."""
    waits = [timedelta(0)]
    if remote_addr:
        waits.append(_wait(db, SignInEvent.remote_addr == remote_addr, now, policy))
    if not (remote_addr and _known_address(db, username, remote_addr, now)):
        waits.append(_wait(db, SignInEvent.username == username, now, policy))
    return max(waits)


def _wait(db: Session, who: ColumnElement[bool], now: datetime, policy: Policy) -> timedelta:
    last_success = db.scalar(select(func.max(SignInEvent.at)).where(who, SignInEvent.kind == "sign_in"))
    since = max(now - policy.memory, last_success) if last_success else now - policy.memory
    count, latest = db.execute(
        select(func.count(), func.max(SignInEvent.at)).where(
            who, SignInEvent.kind == "failed", SignInEvent.at > since
        )
    ).one()
    if not count:
        return timedelta(0)
    return max(timedelta(0), latest + backoff(count, policy) - now)


def _known_address(db: Session, username: str, remote_addr: str, now: datetime) -> bool:
    return (
        db.scalar(
            select(SignInEvent.id)
            .where(
                SignInEvent.username == username,
                SignInEvent.remote_addr == remote_addr,
                SignInEvent.kind == "sign_in",
                SignInEvent.at > now - timedelta(days=KNOWN_ADDRESS_DAYS),
            )
            .limit(1)
        )
        is not None
    )
