"""Who someone signed in by the city platform is here: the user linked to their (issuer, subject),
else an existing account with the same username or e-mail (linked now), else a new one; their
organisation and roles from the provider's claims, mapped as infra/sso.py configures. Plain reads
and writes on a session the caller commits; refusals say why, for the sign-in page to show."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from infra.sso import SsoConfig
from registry.accounts import sessions
from registry.accounts.models import SignInEvent, SsoSession, UserIdentity, UserSession
from registry.models import Organisation, Role, User

KNOWN_ROLES = frozenset(Role)
# Why a sign-in through the provider was refused (the console words each one).
REFUSALS = ("no_organisation", "unknown_organisation", "no_role", "not_provisioned", "deactivated",
            "linked_elsewhere")


@dataclass(frozen=True)
class Resolved:
    user: User | None
    identity: UserIdentity | None
    refusal: str | None = None  # one of REFUSALS
    detail: str = ""  # what the refusal is about (the organisation code, the provider's roles)
    created: bool = False  # a new account was provisioned


def unknown_roles(config: SsoConfig) -> set[str]:
    """liftcase roles the role map names that do not exist (a typo in the TOML)."""
    return {role for roles in config.roles.values() for role in roles} - KNOWN_ROLES


def mapped_roles(config: SsoConfig, claims: Mapping[str, Any]) -> list[str]:
    """The liftcase roles the provider's roles claim (a list, or a space-separated string) maps to."""
    raw = claims.get(config.claims.roles) or []
    theirs = raw.split() if isinstance(raw, str) else [str(r) for r in raw]
    return sorted({role for name in theirs for role in config.roles.get(name, ())})


def _organisation(db: Session, config: SsoConfig, claims: Mapping[str, Any]) -> tuple[Organisation | None, str]:
    value = claims.get(config.claims.organisation)
    if not value:
        return None, ""
    code = config.organisations.get(str(value), str(value))
    return db.scalar(select(Organisation).where(Organisation.code == code)), code


def _existing(db: Session, config: SsoConfig, claims: Mapping[str, Any]) -> User | None:
    if config.match_existing_by == "username" and claims.get(config.claims.username):
        return db.scalar(select(User).where(User.username == str(claims[config.claims.username])))
    if config.match_existing_by == "email" and claims.get(config.claims.email):
        email = str(claims[config.claims.email]).lower()
        return db.scalar(select(User).where(func.lower(User.email) == email))
    return None


def _free_username(db: Session, wanted: str) -> str:
    """`wanted`, or `wanted.2`, `wanted.3`... when a local account already has it."""
    base, n = wanted[:55], 1
    name = base
    while db.scalar(select(User.id).where(User.username == name)) is not None:
        n += 1
        name = f"{base}.{n}"
    return name


def resolve(db: Session, config: SsoConfig, issuer: str, claims: Mapping[str, Any], *, now: datetime) -> Resolved:
    """The user these verified claims sign in (their identity linked or created), or a refusal."""
    subject = str(claims["sub"])
    identity = db.scalar(select(UserIdentity).where(UserIdentity.issuer == issuer, UserIdentity.subject == subject))
    user = db.get(User, identity.user_id) if identity else _existing(db, config, claims)
    if user is not None and identity is None and _linked(db, issuer, user.id):
        return Resolved(None, None, "linked_elsewhere", user.username)
    if user is not None and not user.active:
        return Resolved(None, None, "deactivated")
    if user is None and not config.provision:
        return Resolved(None, None, "not_provisioned")
    org: Organisation | None = None
    roles: list[str] = []
    if user is None or config.update_on_sign_in:
        org, code = _organisation(db, config, claims)
        if not code:
            return Resolved(None, None, "no_organisation", config.claims.organisation)
        if org is None:
            return Resolved(None, None, "unknown_organisation", code)
        roles = mapped_roles(config, claims)
        if not roles:
            raw = claims.get(config.claims.roles) or []
            return Resolved(None, None, "no_role", raw if isinstance(raw, str) else " ".join(map(str, raw)))
    created = user is None
    if user is None:
        wanted = str(claims.get(config.claims.username) or f"sso-{subject}")
        user = User(username=_free_username(db, wanted), display_name="", roles=[], active=True)
        db.add(user)
    if org is not None:  # checked above: the claims set the organisation and roles
        if not created and (sorted(user.roles) != roles or user.organisation_id != org.id):
            # a stolen session must not keep the old rights (cf. sessions.revoking_change)
            sessions.end_all(db, user.id, reason="roles_changed", now=now)
        user.roles, user.organisation_id = roles, org.id
        user.display_name = str(claims.get(config.claims.display_name) or user.display_name or user.username)[:60]
        for attr in ("email", "phone"):
            value = claims.get(getattr(config.claims, attr))
            if value:
                setattr(user, attr, str(value)[:120 if attr == "email" else 30])
    db.flush()
    if identity is None:
        identity = UserIdentity(user_id=user.id, issuer=issuer, subject=subject, created_at=now, last_sign_in_at=now)
        db.add(identity)
    identity.last_sign_in_at = now
    db.flush()
    return Resolved(user, identity, created=created)


def _linked(db: Session, issuer: str, user_id: int) -> bool:
    """The user already has another account at this provider."""
    found = select(UserIdentity.id).where(UserIdentity.issuer == issuer, UserIdentity.user_id == user_id)
    return db.scalar(found) is not None


def record(db: Session, resolved: Resolved, claims: Mapping[str, Any], config: SsoConfig, *, now: datetime,
           remote_addr: str | None, user_agent: str | None) -> None:
    """The sign-in trail: "sso_sign_in", or "sso_refused" (never counted by the password throttle)."""
    name = resolved.user.username if resolved.user else str(claims.get(config.claims.username) or claims["sub"])
    db.add(SignInEvent(
        username=name[:60], user_id=resolved.user.id if resolved.user else None,
        kind="sso_sign_in" if resolved.user else "sso_refused", success=resolved.user is not None,
        remote_addr=remote_addr, user_agent=(user_agent or "")[:200] or None, at=now,
    ))  # fmt: skip


def remember_session(
    db: Session, session_id: int, identity: UserIdentity, id_token: str, sid: str | None = None
) -> None:
    db.add(SsoSession(session_id=session_id, identity_id=identity.id, id_token=id_token, sid=sid))


def live_sso_sessions(
    db: Session, issuer: str, *, subject: str | None, sid: str | None
) -> list[tuple[int, UserIdentity]]:
    """(session id, identity) of the live sessions started through `issuer` that a back-channel
    logout names: the provider's session `sid` (of `subject` too, when both are given), or every
    session of `subject` when no sid is given."""
    found = (
        select(SsoSession.session_id, UserIdentity)
        .join(UserIdentity, UserIdentity.id == SsoSession.identity_id)
        .join(UserSession, UserSession.id == SsoSession.session_id)
        .where(UserIdentity.issuer == issuer, UserSession.ended_at.is_(None))
        .order_by(SsoSession.session_id)
    )
    if sid is not None:
        found = found.where(SsoSession.sid == sid)
    if subject is not None:
        found = found.where(UserIdentity.subject == subject)
    return [(row[0], row[1]) for row in db.execute(found)]


def identity_of(db: Session, issuer: str, subject: str) -> UserIdentity | None:
    return db.scalar(select(UserIdentity).where(UserIdentity.issuer == issuer, UserIdentity.subject == subject))


def id_token_of(db: Session, session_id: int) -> str | None:
    """The ID token the session was started with, None for a session started with a password."""
    return db.scalar(select(SsoSession.id_token).where(SsoSession.session_id == session_id))
