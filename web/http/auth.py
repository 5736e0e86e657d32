"""Who is calling: a server-side session (console: a cookie with the session's token, a CSRF token
on every unsafe request) or a personal API token (`Authorization: Bearer lct_...`, integrations,
no CSRF since no cookie).

Deny by default: every view needs a signed-in user unless marked `@public`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial, wraps
from typing import Any, TypeVar

from flask import Flask, current_app, g, request
from flask_smorest import abort
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from infra.settings import Settings
from registry.accounts import sessions
from registry.accounts.service import principal_for_token, touch_token
from registry.models import Organisation, User
from registry.scope import Scope
from web.http import context

F = TypeVar("F", bound=Callable[..., Any])
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
SESSION_COOKIE = "lc_session"  # holds the session's random token, nothing else


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
    """The session's CSRF token ("" without a session); the console sends it back in a header.
    Derived from the session's token with the secret key: nothing to store, and it dies with the session."""
    token = g.get("session_token")
    if not token:
        return ""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"csrf:" + token.encode(), hashlib.sha256).hexdigest()[:32]


def start_session(writes: Session, user: User, *, now: datetime) -> str:
    """A new server-side session for `user` (in the caller's transaction); the cookie is set on the
    answer. A session this browser still had ends: one browser, one session, never a fixed one."""
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        sessions.end_token(writes, previous, reason="signed_in_again", now=now)
    row, token = sessions.start(
        writes, user, now=now, remote_addr=request.remote_addr, user_agent=request.user_agent.string
    )
    g.session_token, g.session_id, g.set_session_cookie = token, row.id, True
    return csrf_token()


def end_session(writes: Session, *, reason: str, now: datetime) -> None:
    """End this request's session (nothing to do for a token) and drop the cookie."""
    if g.get("session_id") is not None:
        sessions.end(writes, g.session_id, reason=reason, now=now)
    end_session_cookie()


def end_session_cookie() -> None:
    """The answer tells the browser to forget its session cookie."""
    g.clear_session_cookie = True


def current_session_id() -> int | None:
    session_id: int | None = g.get("session_id")
    return session_id


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


def _authenticate() -> tuple[User, Organisation | None] | None:
    db = context.db()
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        g.via_token = True
        now = context.system().clock.now()
        found = principal_for_token(db, header[7:].strip(), now=now)
        if found is None:
            return None
        if found.needs_touch:  # the token's last-used time: best effort, never worth failing a request
            _best_effort(partial(touch_token, token_id=found.token_id, now=now))
        return found.user, found.organisation
    token = request.cookies.get(SESSION_COOKIE)
    return _from_session(db, token) if token else None


def _from_session(db: Session, token: str) -> tuple[User, Organisation | None] | None:
    """The session's user and organisation: checked on every request (one indexed query), so an
    ended session, an idle or expired one, or a deactivated user is refused at once."""
    found = sessions.find(db, token)
    if found is None:
        g.clear_session_cookie = True
        return None
    row, user, org = found
    system = context.system()
    now = system.clock.now()
    reason = sessions.lapsed(row, now, _lifetime(system.settings))
    if reason is not None:
        _best_effort(partial(sessions.end, session_id=row.id, reason=reason, now=now))
        g.clear_session_cookie = True
        return None
    if sessions.needs_touch(row, now):
        _best_effort(partial(sessions.touch, session_id=row.id, now=now))
    g.session_token, g.session_id = token, row.id
    _check_csrf()
    return user, org


def _lifetime(settings: Settings) -> sessions.Lifetime:
    return sessions.Lifetime(
        idle=timedelta(minutes=settings.session_idle_minutes), absolute=timedelta(hours=settings.session_max_hours)
    )


def _best_effort(write: Callable[[Session], object]) -> None:
    """A bookkeeping write in its own short transaction (the request's session only reads). Failing
    it (SQLite busy) costs at most a minute's precision of the idle timeout: never the request."""
    try:
        with context.writer() as writes, writes.begin():
            write(writes)
    except OperationalError:
        pass


def _check_csrf() -> None:
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent, csrf_token()):
            abort(403, message="missing or wrong CSRF token (send the X-CSRF-Token header)")


def _set_cookie(response: Response) -> Response:
    if g.get("set_session_cookie"):
        # A browser-session cookie (no Max-Age); Secure whenever the request came over https,
        # as seen through the trusted proxies (ProxyFix, settings.proxy_hops).
        response.set_cookie(
            SESSION_COOKIE, g.session_token, httponly=True, samesite="Lax", secure=request.is_secure, path="/"
        )
    elif g.get("clear_session_cookie") and SESSION_COOKIE in request.cookies:
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Lax", secure=request.is_secure)
    return response


def install(app: Flask) -> None:
    context.install(app)

    @app.before_request
    def _require_user() -> None:
        g.user = None
        if _is_public():
            return
        if (found := _authenticate()) is not None:
            g.user, g.scope = found[0], Scope.of(*found)
            return
        abort(401, message="sign in first (session cookie or Bearer token)")

    app.after_request(_set_cookie)


def current_user() -> User:
    return g.user
