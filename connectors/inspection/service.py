"""Reads and writes for inspection sources: an institute's secret (derived, never stored) and the
reports already received."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.inspection.models import InspectionReport, InspectionSource
from registry.models import Organisation, OrgKind


def derive_secret(platform_key: str, salt: str) -> str:
    """The source's HMAC secret: HMAC-SHA256 of its salt under the platform's secret key. Only the
    salt is in the database; a new salt (rotate) is a new secret."""
    return hmac.new(platform_key.encode(), f"inspection-source:{salt}".encode(), hashlib.sha256).hexdigest()


def check_of(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def active_source(session: Session, name: str, platform_key: str) -> tuple[InspectionSource, str] | None:
    """The source and its secret, or None (unknown, inactive, or made under another platform key)."""
    source = session.scalar(select(InspectionSource).where(InspectionSource.name == name))
    if source is None or not source.active:
        return None
    secret = derive_secret(platform_key, source.secret_salt)
    return (source, secret) if hmac.compare_digest(check_of(secret), source.secret_check) else None


def add_source(
    session: Session, name: str, organisation_code: str, now: datetime, platform_key: str, *, rotate: bool = False
) -> str:
    """Register an inspection institute (an organisation of kind inspection_agency) as a source, or
    give it a new secret with rotate; returns the secret to hand to the institute."""
    org = session.scalar(select(Organisation).where(Organisation.code == organisation_code))
    if org is None or org.kind != OrgKind.INSPECTION_AGENCY:
        raise ValueError(f"{organisation_code!r} is not an inspection agency of the register")
    salt = secrets.token_hex(16)
    secret = derive_secret(platform_key, salt)
    source = session.scalar(select(InspectionSource).where(InspectionSource.name == name))
    if source is None:
        session.add(
            InspectionSource(
                name=name,
                organisation_id=org.id,
                secret_salt=salt,
                secret_check=check_of(secret),
                active=True,
                created_at=now,
            )
        )
    elif rotate:
        source.secret_salt, source.secret_check, source.active, source.organisation_id = (
            salt,
            check_of(secret),
            True,
            org.id,
        )
    else:
        raise ValueError(f"source {name!r} exists; pass rotate to give it a new secret")
    session.flush()
    return secret


def source_of_organisation(session: Session, organisation_id: int) -> InspectionSource | None:
    return session.scalar(
        select(InspectionSource)
        .where(InspectionSource.organisation_id == organisation_id, InspectionSource.active.is_(True))
        .order_by(InspectionSource.id)
    )


def received(session: Session, source_id: int, key: str) -> InspectionReport | None:
    return session.scalar(
        select(InspectionReport).where(InspectionReport.source_id == source_id, InspectionReport.idempotency_key == key)
    )
