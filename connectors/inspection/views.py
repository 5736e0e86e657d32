"""`POST /hooks/inspection-results`: public (no user) but every request is verified the way the AI
webhook's are, with its signature code (connectors.ai_events.signature): the source's HMAC over
the raw body, a `ts` inside the window, a well-formed report. Answers:
200 accepted (or already received under that idempotency key: the same outcome again, nothing
changed), 401 bad or missing signature, 409 outside the time window (replay), 400 not JSON,
422 per-field problems (an unknown register code, a failed report without its nonconformities),
503 with Retry-After when a write met another at the same moment (send it again)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from connectors.ai_events import signature
from connectors.inspection import flows, service
from connectors.inspection.schema import ReportInvalid, parse_report
from infra.errors import Conflict
from web.http import context
from web.http.auth import public
from web.http.errors import body
from web.http.json_body import JsonRefused, loads, own_body

bp = Blueprint("inspection_results", __name__)


@bp.post("/hooks/inspection-results")
@public
@own_body  # the signature first: a stranger's body is never parsed
def receive() -> tuple[Any, int]:
    system = context.system()
    raw = request.get_data(cache=False)
    db, key = context.db(), system.settings.secret_key
    found = signature.signed_by(request.headers, raw, lambda name: service.active_source(db, name, key))
    if found is None:
        return body(401, signature.UNSIGNED)
    source_id, source_name = found.id, found.name
    context.db().rollback()  # release the read before the slower work below
    try:
        payload = loads(raw)
    except JsonRefused as err:
        return body(400, str(err))
    try:
        report = parse_report(payload)
        if report.source != source_name:
            raise ReportInvalid({"source": [f"must be {source_name!r}, the source that signed the request"]})
    except ReportInvalid as err:
        return body(422, "the report has errors", err.errors)
    now = system.clock.now()
    if report.ts is None or not signature.fresh(report.ts, now):
        return body(
            409,
            f"replay refused: ts {report.ts.isoformat() if report.ts else None} is more than "
            f"{int(signature.WINDOW.total_seconds())} s from the server time {now.isoformat()}",
        )
    try:
        accepted = flows.accept_report(system, source_id, report, via="webhook", actor=f"inspection:{source_name}"[:60])
    except ReportInvalid as err:
        return body(422, "the report has errors", err.errors)
    except flows.KeyReused as err:
        field = "idempotency_key" if payload.get("idempotency_key") else "report_no"
        return body(422, str(err), {field: [str(err)]})
    except Conflict as err:
        # A write that met another at the same moment: not a replay (409 tells a sender to stop), so
        # 503 with Retry-After; the idempotency key keeps the report once when it comes again.
        answer, code = body(503, f"busy, send the report again: {err}")
        answer.headers["Retry-After"] = "5"
        return answer, code
    return jsonify(
        status="duplicate" if accepted.duplicate else "accepted",
        report_id=accepted.report_id,
        outcome=accepted.outcome,
        case_id=accepted.case_id,
        case_number=accepted.case_number,
        expiry_case_id=accepted.expiry_case_id,
    ), 200
