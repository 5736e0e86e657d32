"""Who is calling: a session cookie (console, with a CSRF token on every unsafe request) or a
personal API token (`Authorization: Bearer lct_...`, integrations, no CSRF since no cookie).

Deny by default: every view needs a signed-in user unless marked `@public`.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, current_app, g, request, session
from flask_smorest import abort
from sqlalchemy.exc import OperationalError

from registry.accounts.service import user_for_token
from registry.models import Organisation, User
from registry.scope import Scope
from web.http import context

F = TypeVar("F", bound=Callable[..., Any])
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"


def public(view: F) -> F:
    """Mark a view as open to everyone (QR pages, the AI webhook with its own signature, sign-in)."""
    view.liftcase_public = True  # type: ignore[attr-defined]
    return view


def require_roles(*roles: str) -> Callable[[F], F]:
    """The signed-in user must hold one of `roles` (403 otherwise: the action, not a resource, is refused)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not context.scope().has(*roles):
                abort(403, message=f"needs one of the roles: {', '.join(roles)}")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def csrf_token() -> str:
    """The session's CSRF token (created on first use); the console sends it back in a header."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


def start_session(user: User) -> str:
    session.clear()
    session["uid"] = user.id
    session.permanent = False
    return csrf_token()


def end_session() -> None:
    uid = session.get("uid")
    if uid is not None:
        forget_principal(uid)
    session.clear()


def _is_public() -> bool:
    if request.endpoint is None:
        return True  # 404/405 from the router: nothing to protect
    if request.endpoint == "static" or request.endpoint.startswith("api-docs."):
        return True
    view = current_app.view_functions.get(request.endpoint)
    view_class = getattr(view, "view_class", None)
    if view_class is not None:  # a MethodView: the mark is on the method
        view = getattr(view_class, request.method.lower(), None)
    return bool(getattr(view, "liftcase_public", False))


def _authenticate() -> User | None:
    db = context.db()
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        user = user_for_token(db, header[7:].strip(), now=context.system().clock.now())
        if user is not None:
            try:
                db.commit()  # the token's last-used time: best effort, never worth failing a request
            except OperationalError:
                db.rollback()
                user = db.get(User, user.id)
        g.via_token = True
        return user
    uid = session.get("uid")
    if uid is None:
        return None
    user = db.get(User, uid)
    if user is None or not user.active:
        return None
    _check_csrf()
    return user


def _check_csrf() -> None:
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent, session.get("csrf", "")):
            abort(403, message="missing or wrong CSRF token (send the X-CSRF-Token header)")


# Signed-in users and their scope, per process, for a few seconds: two queries saved on every
# request. A user disabled or moved to another organisation is refused within PRINCIPAL_TTL.
PRINCIPAL_TTL = 10.0


def _principals() -> dict[int, tuple[float, User, Scope]]:
    return current_app.extensions.setdefault("liftcase.principals", {})  # one per app (and database)


def _principal(user: User) -> tuple[User, Scope]:
    org = context.db().get(Organisation, user.organisation_id) if user.organisation_id else None
    return user, Scope.of(user, org)


def install(app: Flask) -> None:
    context.install(app)

    @app.before_request
    def _require_user() -> None:
        g.user = None
        if _is_public():
            return
        uid = session.get("uid") if not request.headers.get("Authorization") else None
        cached = _principals().get(uid) if uid is not None else None
        if cached is not None and cached[0] > time.monotonic():
            _check_csrf()
            g.user, g.scope = cached[1], cached[2]
            return
        user = _authenticate()
        if user is None:
            abort(401, message="sign in first (session cookie or Bearer token)")
        g.user, g.scope = _principal(user)
        if uid is not None:
            context.db().expunge(user)  # kept beyond this request: detach it from the session
            _principals()[uid] = (time.monotonic() + PRINCIPAL_TTL, g.user, g.scope)


def forget_principal(user_id: int) -> None:
    """Drop this process's cached copy (sign-out, admin changes to the user)."""
    _principals().pop(user_id, None)


def current_user() -> User:
    return g.user
