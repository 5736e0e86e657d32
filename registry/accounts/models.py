"""Personal API tokens, signed-in sessions, sign-in attempts (the audit trail and the throttle's memory)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from infra.db import Base, UTCDateTime
from registry.models import User


class ApiToken(Base):
    """A personal token for integrations. Only its SHA-256 is stored; the secret is shown once."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None: until revoked


class UserSession(Base):
    """A browser signed in. The cookie holds a random token; only its SHA-256 is stored, so a copy
    of this table signs nobody in. Ended (never deleted) by sign-out, timeouts and account changes."""

    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # sign_out, idle, expired, password_changed, roles_changed, deactivated, ended_by_user,
    # ended_by_admin, signed_in_again, provider_logout (the city platform's back-channel logout)
    end_reason: Mapped[str | None] = mapped_column(String(20))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    user: Mapped[User] = relationship(lazy="raise")  # listings load it explicitly


class SignInEvent(Base):
    """Every sign-in, failed or throttled sign-in and sign-out, kept for the audit trail (and read
    by the throttle). Rows from before the throttle may have kind "locked"."""

    __tablename__ = "sign_in_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(60), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # sign_in, failed, throttled, sign_out, token_created
    success: Mapped[bool] = mapped_column(Boolean, default=False)
    remote_addr: Mapped[str | None] = mapped_column(String(64), index=True)  # the throttle counts by address
    user_agent: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class UserIdentity(Base):
    """A user's account at the city platform (OpenID Connect): the provider's issuer and its stable
    subject. Signing in through the provider finds the user by this pair, never by a name that an
    account at the provider could change."""

    __tablename__ = "user_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    issuer: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_sign_in_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SsoSession(Base):
    """A session started through the provider, with the ID token it was given: sign-out hands it
    back to the provider's end-session endpoint (id_token_hint) so the provider's session ends too.
    `sid`: the provider's session (the ID token's claim), which its back-channel logout names."""

    __tablename__ = "sso_sessions"
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("user_identities.id"), index=True)
    id_token: Mapped[str] = mapped_column(Text)
    sid: Mapped[str | None] = mapped_column(String(255), index=True)
