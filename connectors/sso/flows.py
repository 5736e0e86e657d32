"""Single sign-on's side effects: sign in with verified claims (resolve the user, write the trail,
start the session and remember its ID token and the provider's sid), the provider's end-session
address at sign-out, and the provider's back-channel logout (end the sessions its logout token
names, remember the token's jti, write the admin audit entry)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import request
from sqlalchemy.orm import Session

from connectors.sso import client, service
from connectors.sso.logout_token import LogoutToken
from infra.settings import Settings
from infra.sso import SsoConfig
from processes import admin_audit
from registry.accounts import identities, sessions
from web.http import auth

log = logging.getLogger(__name__)


def sign_in(
    writes: Session, config: SsoConfig, claims: Mapping[str, Any], id_token: str, *, now: datetime,
    remote_addr: str | None, user_agent: str | None, sid: str | None = None,
) -> identities.Resolved:
    """In the caller's transaction: the user these verified claims are (linked, matched or made),
    the sign-in trail, and a new console session for them (with the provider's session `sid`, from
    the ID token); or the refusal, in the trail too."""
    resolved = identities.resolve(writes, config, config.issuer, claims, now=now)
    identities.record(writes, resolved, claims, config, now=now, remote_addr=remote_addr, user_agent=user_agent)
    if resolved.user is not None and resolved.identity is not None:
        auth.start_session(writes, resolved.user, now=now)
        session_id = auth.current_session_id()
        assert session_id is not None
        identities.remember_session(writes, session_id, resolved.identity, id_token, sid)
    return resolved


LOGOUT_REASON = "provider_logout"  # the sessions' end_reason
AUDIT_KIND = "session.provider_logout"
AUDIT_ACTOR = "sso-provider"


def back_channel_logout(writes: Session, token: LogoutToken, *, now: datetime, wall_now: float) -> list[int]:
    """In the caller's transaction: take the token's jti (sqlalchemy's IntegrityError when it was
    taken before: a replay), end the live SSO sessions it names and write one admin audit entry,
    also when none was live (the provider's word is on record). The ids of the sessions ended.
    `now`: the app's clock; `wall_now`: seconds since the epoch, the clock of the token's times."""
    service.remember_jti(
        writes, token.issuer, token.jti, keep_until=datetime.fromtimestamp(token.keep_until, UTC),
        now=datetime.fromtimestamp(wall_now, UTC),
    )  # fmt: skip
    named = identities.live_sso_sessions(writes, token.issuer, subject=token.subject, sid=token.sid)
    for session_id, _identity in named:
        sessions.end(writes, session_id, reason=LOGOUT_REASON, now=now)
    identity = named[0][1] if named else (
        identities.identity_of(writes, token.issuer, token.subject) if token.subject else None
    )  # fmt: skip
    ended = [session_id for session_id, _identity in named]
    admin_audit.record(
        writes, AUDIT_KIND, actor=AUDIT_ACTOR, at=now,
        target={"type": "sso_identity", "issuer": token.issuer, "subject": token.subject, "sid": token.sid,
                "user_id": identity.user_id if identity else None},
        changes={"sessions_ended": ended, "jti": token.jti},
    )  # fmt: skip
    log.info("SSO back-channel logout: sub=%s sid=%s ended sessions %s", token.subject, token.sid, ended)
    return ended


def end_session_url(db: Session, settings: Settings, session_id: int | None) -> str | None:
    """Where the browser goes to end its session at the provider too, after ours ended: None for a
    session started with a password, or when the provider has no end-session endpoint (or cannot
    be reached: our session ends all the same)."""
    config = settings.sso
    if config is None or session_id is None or request.headers.get("Authorization"):
        return None
    id_token = identities.id_token_of(db, session_id)
    if id_token is None:
        return None
    try:
        metadata = client.provider().load_server_metadata()
        if not metadata.get("end_session_endpoint"):
            return None
        logout = client.provider().create_logout_url(
            post_logout_redirect_uri=client.post_logout_uri(config, settings), id_token_hint=id_token,
            client_id=config.client_id,
        )  # fmt: skip
    except Exception as err:  # a provider that is down must not keep anyone signed in
        log.warning("SSO: no end-session address (the provider's discovery failed): %s", err)
        return None
    return str(logout["url"])
