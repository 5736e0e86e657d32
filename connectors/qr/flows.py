"""A passenger's rescue call or complaint: open or join the elevator's case, hand out a tracking link."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from connectors.qr.service import create_link
from processes import case_flows
from processes.intake import IntakeResult
from processes.system import System

PHONE = re.compile(r"^\+?[0-9][0-9 \-]{4,19}$")
COMPLAINT_CATEGORIES = ("out_of_service", "trapped_before", "noise_or_shaking", "door", "dirty", "maintenance", "other")


@dataclass(frozen=True)
class Submitted:
    token: str
    intake: IntakeResult


def _text(form: dict[str, str], name: str, limit: int) -> str:
    return (form.get(name) or "").strip()[:limit]


def rescue_fields(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Cleaned fields and per-field problems (message ids the page translates)."""
    errors: dict[str, str] = {}
    phone = _text(form, "phone", 30)
    if phone and not PHONE.match(phone):
        errors["phone"] = "phone"
    raw = _text(form, "trapped_count", 4) or "1"
    count = int(raw) if raw.isdigit() else 0
    if not 1 <= count <= 30:
        errors["trapped_count"] = "trapped_count"
    return {"phone": phone or None, "trapped_count": count, "note": _text(form, "note", 500)}, errors


def complaint_fields(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    phone = _text(form, "phone", 30)
    if phone and not PHONE.match(phone):
        errors["phone"] = "phone"
    category = _text(form, "category", 40) or "other"
    if category not in COMPLAINT_CATEGORIES:
        errors["category"] = "category"
    text = _text(form, "text", 1000)
    if len(text) < 4:
        errors["text"] = "text"
    return {"phone": phone or None, "category": category, "text": text}, errors


def _submit(system: System, case_type: str, elevator_id: int, signal: dict[str, Any], kind: str) -> Submitted:
    intake = case_flows.take_signal(system, case_type, elevator_id=elevator_id, signal=signal, actor="public")
    with system.sessions() as session, session.begin():
        token = create_link(
            session,
            case_id=intake.case_id,
            elevator_id=elevator_id,
            kind=kind,
            joined=intake.joined or intake.duplicate,
            now=system.clock.now(),
        )
    return Submitted(token, intake)


def call_rescue(system: System, elevator_id: int, fields: dict[str, Any], nonce: str) -> Submitted:
    """一键救援: a P1 rescue case, or a timeline entry on the elevator's open one."""
    signal = {
        "source": "qr",
        "kind": "rescue_call",
        "trapped_count": fields["trapped_count"],
        "phone": fields["phone"],
        "note": fields["note"],
        "ts": system.clock.now().isoformat(),
        # one form served = one signal: a double tap does not count twice
        "idempotency_key": f"qr:rescue:{nonce}" if nonce else None,
    }
    done = _submit(system, "rescue", elevator_id, signal, "rescue")
    if fields["note"] and not done.intake.duplicate:
        case_flows.add_passenger_note(system, done.intake.case_id, fields["note"])
    return done


def file_complaint(system: System, elevator_id: int, fields: dict[str, Any], nonce: str) -> Submitted:
    signal = {
        "source": "qr",
        "kind": "complaint",
        "category": fields["category"],
        "text": fields["text"],
        "phone": fields["phone"],
        "ts": system.clock.now().isoformat(),
        "idempotency_key": f"qr:complaint:{nonce}" if nonce else None,
    }
    return _submit(system, "complaint", elevator_id, signal, "complaint")
