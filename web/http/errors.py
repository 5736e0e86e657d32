"""One error body everywhere: `{"code": 422, "status": "Unprocessable Entity", "message": "...",
"errors": {"field": ["message", ...]}}` (flask-smorest's shape, used for our own errors too)."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from flask_babel import get_locale
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from forms.validation import FormInvalid
from infra.db import database_unavailable
from infra.errors import Conflict, NotFound

DATABASE_AWAY = "the database is unreachable for the moment; try again in a few seconds"


def body(code: int, message: str, errors: dict[str, Any] | None = None) -> tuple[Any, int]:
    status = HTTP_STATUS_CODES.get(code, "Error")
    payload: dict[str, Any] = {"code": code, "status": status, "message": message}
    if errors:
        payload["errors"] = errors
    return jsonify(payload), code


def install(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[Any, int]:
        data = getattr(exc, "data", {}) or {}
        message = data.get("message") or exc.description or exc.name
        errors = data.get("messages") or data.get("errors")
        if isinstance(errors, dict) and set(errors) <= {"json", "query", "form", "files", "headers", "view_args"}:
            # webargs nests by location; flatten the common single-location case
            errors = next(iter(errors.values())) if len(errors) == 1 else errors
        response, code = body(exc.code or 500, str(message), errors)
        response.headers.update(data.get("headers") or {})  # abort(..., headers=...): e.g. Retry-After
        return response, code

    @app.errorhandler(FormInvalid)
    def _form(exc: FormInvalid) -> tuple[Any, int]:
        # one message per field, in the language of the person who filled the form in
        return body(422, "the form has errors", exc.messages(str(get_locale() or "")))

    @app.errorhandler(NotFound)
    def _missing(exc: NotFound) -> tuple[Any, int]:
        return body(404, str(exc) or "not found")

    @app.errorhandler(Conflict)
    def _conflict(exc: Conflict) -> tuple[Any, int]:
        return body(409, str(exc) or "conflict")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Any, int]:
        app.logger.exception("unhandled error")
        return body(500, "internal error; it has been logged")

    @app.errorhandler(DBAPIError)
    def _database(exc: DBAPIError) -> tuple[Any, int]:
        """PostgreSQL away: 503 with a clear message, no traceback per request (infra.db logs the
        outage once, and once when it is back; the pool reconnects by itself)."""
        if not database_unavailable(exc):
            return _unexpected(exc)
        response, code = body(503, DATABASE_AWAY)
        response.headers["Retry-After"] = "2"
        return response, code
