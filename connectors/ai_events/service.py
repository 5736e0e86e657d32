"""Reads and writes for AI events: sources and their secrets, which elevator an event is about.
Their snapshots are attached to cases by processes.case_flows."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from connectors.ai_events.models import AiCamera, AiSource


def active_source(session: Session, name: str) -> AiSource | None:
    source = session.scalar(select(AiSource).where(AiSource.name == name))
    return source if source is not None and source.active else None


def add_source(session: Session, name: str, now: datetime, *, rotate: bool = False) -> str:
    """Create a source (or give it a new secret with rotate); returns the secret to hand to the sender."""
    secret = secrets.token_hex(32)
    source = session.scalar(select(AiSource).where(AiSource.name == name))
    if source is None:
        session.add(AiSource(name=name, secret=secret, active=True, created_at=now))
    elif rotate:
        source.secret, source.active = secret, True
    else:
        raise ValueError(f"source {name!r} exists; pass rotate to give it a new secret")
    return secret


def elevator_for(session: Session, *, source_name: str, elevator_code: str | None, camera_id: str | None) -> int | None:
    """The elevator an event names: by register code or QR code, else by the source's camera id."""
    from registry.models import Elevator

    if elevator_code:
        return session.scalar(
            select(Elevator.id).where(or_(Elevator.register_code == elevator_code, Elevator.qr_code == elevator_code))
        )
    if camera_id:
        return session.scalar(
            select(AiCamera.elevator_id)
            .join(AiSource, AiSource.id == AiCamera.source_id)
            .where(AiSource.name == source_name, AiCamera.camera_id == camera_id)
        )
    return None
