"""Plain reads and writes of back-channel logout; the caller commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from connectors.sso.models import SeenLogoutToken


def remember_jti(db: Session, issuer: str, jti: str, *, keep_until: datetime, now: datetime) -> None:
    """Take a logout token's jti; sqlalchemy's IntegrityError (at the flush) when it was taken
    already. Forgets the ones whose tokens are past their acceptance (`now`: the wall clock)."""
    db.execute(delete(SeenLogoutToken).where(SeenLogoutToken.keep_until < now))
    db.add(SeenLogoutToken(issuer=issuer, jti=jti, keep_until=keep_until))
    db.flush()
