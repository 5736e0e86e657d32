"""Logout tokens already taken (their `jti`), kept until the token would be refused as too old
anyway: a replayed logout token is refused. In the database, not Redis: embedded mode has no
Redis, and the row is written in the same transaction that ends the sessions, so a failed logout
leaves nothing behind (the provider's retry is taken) and two deliveries of one token at once
end in one primary-key conflict, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, UTCDateTime


class SeenLogoutToken(Base):
    __tablename__ = "sso_logout_tokens_seen"
    issuer: Mapped[str] = mapped_column(String(200), primary_key=True)
    jti: Mapped[str] = mapped_column(String(255), primary_key=True)
    keep_until: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
