"""Passwords, sign-in and tokens: plain reads and writes on a session the caller commits."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from registry.accounts import throttle
from registry.accounts.models import ApiToken, SignInEvent
from registry.models import Organisation, User

TOKEN_PREFIX = "lct_"
# Checked against when the username is unknown, so a wrong username costs the same time as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-password")


def hash_password(password: str) -> str:
    return generate_password_hash(password)


@dataclass(frozen=True)
class SignInResult:
    user: User | None
    reason: str | None = None  # "invalid" or "throttled"
    retry_after: timedelta = timedelta(0)  # throttled: how long to wait


def sign_in(
    session: Session,
    username: str,
    password: str,
    *,
    now: datetime,
    policy: throttle.Policy,
    remote_addr: str | None = None,
    user_agent: str | None = None,
) -> SignInResult:
    """Check the password unless the throttle says wait (registry.accounts.throttle); every
    attempt is recorded, the refused ones as "throttled"."""

    def record(kind: str, user: User | None) -> None:
        session.add(
            SignInEvent(
                username=username[:60],
                user_id=user.id if user else None,
                kind=kind,
                success=kind == "sign_in",
                remote_addr=remote_addr,
                user_agent=(user_agent or "")[:200] or None,
                at=now,
            )
        )

    user = session.scalar(select(User).where(User.username == username))
    retry_after = throttle.wait(session, username, remote_addr, now=now, policy=policy)
    if retry_after > timedelta(0):
        record("throttled", user)
        return SignInResult(None, "throttled", retry_after)
    stored = user.password_hash if user and user.active and user.password_hash else None
    if not check_password_hash(stored or _DUMMY_HASH, password) or stored is None:
        record("failed", user)
        return SignInResult(None, "invalid")
    record("sign_in", user)
    return SignInResult(user)


def record_sign_out(session: Session, user: User, *, now: datetime, remote_addr: str | None = None) -> None:
    session.add(
        SignInEvent(username=user.username, user_id=user.id, kind="sign_out", success=True,
                    remote_addr=remote_addr, at=now)
    )


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    session: Session, user: User, name: str, *, now: datetime, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """A new personal token, valid until revoked or `expires_at`; the secret is returned once and
    only its hash is kept."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id, name=name, prefix=secret[:12], token_hash=_digest(secret), created_at=now,
        expires_at=expires_at,
    )
    session.add(token)
    session.add(SignInEvent(username=user.username, user_id=user.id, kind="token_created", success=True, at=now))
    session.flush()
    return token, secret


# Built once: this runs on every request an integration makes (cf. sessions._LIVE_SESSION).
_LIVE_TOKEN = (
    select(ApiToken.id, ApiToken.last_used_at, User, Organisation)
    .join(User, User.id == ApiToken.user_id)
    .outerjoin(Organisation, Organisation.id == User.organisation_id)
    .where(
        ApiToken.token_hash == bindparam("token_hash"),
        ApiToken.revoked_at.is_(None),
        or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > bindparam("now")),
        User.active.is_(True),
    )
)
# A busy integration should not write on every request: last_used_at is that coarse.
TOKEN_TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class TokenPrincipal:
    """Who a live token signs in: the user, their organisation, and whether the token's last-used
    time is stale enough to write (`touch_token`, in a transaction of its own)."""

    token_id: int
    user: User
    organisation: Organisation | None
    needs_touch: bool


def principal_for_token(session: Session, secret: str, *, now: datetime) -> TokenPrincipal | None:
    """The principal of a live token of an active user, in one query on the token's unique index;
    None for anything else (unknown, revoked, expired, deactivated user)."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    found = session.execute(_LIVE_TOKEN, {"token_hash": _digest(secret), "now": now}).first()
    if found is None:
        return None
    token_id, last_used_at, user, organisation = found
    stale = last_used_at is None or now - last_used_at > TOKEN_TOUCH_EVERY
    return TokenPrincipal(token_id, user, organisation, stale)


def touch_token(session: Session, token_id: int, *, now: datetime) -> None:
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))

