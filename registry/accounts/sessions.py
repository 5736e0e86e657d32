"""Server-side sessions: started at sign-in, looked up on every request, ended by sign-out, by
the idle and absolute timeouts, and for every session of a user at once when an account change
(password, roles, deactivation) must take effect now. Plain reads and writes; the caller commits."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from registry.accounts.models import UserSession
from registry.models import Organisation, User

# last_seen_at is written at most this often: the idle timeout is that much coarse, and a busy
# console does not write on every request.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Lifetime:
    idle: timedelta
    absolute: timedelta


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(
    db: Session, user: User, *, now: datetime, remote_addr: str | None = None, user_agent: str | None = None
) -> tuple[UserSession, str]:
    """A new session; the token (for the cookie) is returned once and only its hash is kept."""
    token = secrets.token_urlsafe(32)
    row = UserSession(
        token_hash=digest(token),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        remote_addr=remote_addr,
        user_agent=(user_agent or "")[:200] or None,
    )
    db.add(row)
    db.flush()
    return row, token


# Built once: this runs on every signed-in request, and building the statement cost as much as running it.
_LIVE_SESSION = (
    select(UserSession, User, Organisation)
    .join(User, User.id == UserSession.user_id)
    .outerjoin(Organisation, Organisation.id == User.organisation_id)
    .where(UserSession.token_hash == bindparam("token_hash"), UserSession.ended_at.is_(None), User.active.is_(True))
)


def find(db: Session, token: str) -> tuple[UserSession, User, Organisation | None] | None:
    """(session, user, organisation or None) of a live session of an active user: one query on
    the token's unique index, which also loads the principal."""
    found = db.execute(_LIVE_SESSION, {"token_hash": digest(token)}).first()
    return None if found is None else (found[0], found[1], found[2])


def lapsed(row: UserSession, now: datetime, lifetime: Lifetime) -> str | None:
    """Why this live session is over anyway ("idle", "expired"), or None."""
    if now - row.created_at >= lifetime.absolute:
        return "expired"
    if now - row.last_seen_at >= lifetime.idle:
        return "idle"
    return None


def needs_touch(row: UserSession, now: datetime) -> bool:
    return now - row.last_seen_at >= TOUCH_EVERY


def touch(db: Session, session_id: int, now: datetime) -> None:
    db.execute(update(UserSession).where(UserSession.id == session_id).values(last_seen_at=now))


def end(db: Session, session_id: int, *, reason: str, now: datetime) -> None:
    db.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
    )


def end_token(db: Session, token: str, *, reason: str, now: datetime) -> None:
    db.execute(
        update(UserSession)
        .where(UserSession.token_hash == digest(token), UserSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
    )


def end_all(db: Session, user_id: int, *, reason: str, now: datetime) -> int:
    """End every live session of the user; how many there were."""
    result = db.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def revoking_change(user: User, changes: dict[str, Any]) -> str | None:
    """Why an admin's change to `user` must sign them out everywhere, or None: a new password
    (a stolen session must not outlive the reset), other roles, deactivation."""
    if changes.get("active") is False:
        return "deactivated"
    if "password" in changes:
        return "password_changed"
    if "roles" in changes and sorted(changes["roles"]) != sorted(user.roles):
        return "roles_changed"
    return None
