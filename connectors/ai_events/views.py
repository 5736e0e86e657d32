"""`POST /hooks/ai-events`: public (no user) but every request is verified: the source's HMAC over
the raw body, a ts inside the window, a well-formed event. Answers:
200 accepted (or duplicate event_id: the same case again), 401 bad or missing signature,
409 outside the time window (replay), 400 not JSON (or nested too deep, numbers too long: web.http.json_body),
422 per-field problems (a snapshot that is no image, or claims too many pixels)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from connectors.ai_events import flows, service, signature
from connectors.ai_events.models import AiSource
from connectors.ai_events.schema import EventInvalid, parse_event
from web.http import context
from web.http.auth import public
from web.http.errors import body
from web.http.json_body import JsonRefused, loads, own_body

bp = Blueprint("ai_events", __name__)


@bp.post("/hooks/ai-events")
@public
@own_body  # the signature first: a stranger's body is never parsed
def receive() -> tuple[Any, int]:
    system = context.system()
    raw = request.get_data(cache=False)
    db = context.db()

    def secret_of(name: str) -> tuple[AiSource, str] | None:
        source = service.active_source(db, name)
        return (source, source.secret) if source is not None else None

    source = signature.signed_by(request.headers, raw, secret_of)
    if source is None:
        return body(401, signature.UNSIGNED)
    secret_owner = source.name
    context.db().rollback()  # release the read before the slower work below
    try:
        payload = loads(raw)
    except JsonRefused as err:
        return body(400, str(err))
    try:
        event = parse_event(payload, max_bytes=system.settings.max_upload_bytes)
        if event.source != secret_owner:
            raise EventInvalid({"source": [f"must be {secret_owner!r}, the source that signed the request"]})
    except EventInvalid as err:
        return body(422, "the event has errors", err.errors)
    now = system.clock.now()
    if not signature.fresh(event.ts, now):
        return body(
            409,
            f"replay refused: ts {event.ts.isoformat()} is more than "
            f"{int(signature.WINDOW.total_seconds())} s from the server time {now.isoformat()}",
        )
    try:
        accepted = flows.accept_event(system, event)
    except EventInvalid as err:
        return body(422, "the event has errors", err.errors)
    return jsonify(
        status="duplicate" if accepted.duplicate else "joined" if accepted.joined else "opened",
        case_id=accepted.case_id,
        case_number=accepted.case_number,
        case_type=accepted.case_type,
        priority=accepted.priority,
        attachment_id=accepted.attachment_id,
    ), 200
