"""Single sign-on's side effects: sign in with verified claims (resolve the user, write the trail,
start the session and remember its ID token) and the provider's end-session address at sign-out."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import request
from sqlalchemy.orm import Session

from connectors.sso import client
from infra.settings import Settings
from infra.sso import SsoConfig
from registry.accounts import identities
from web.http import auth

log = logging.getLogger(__name__)


def sign_in(
    writes: Session, config: SsoConfig, claims: Mapping[str, Any], id_token: str, *, now: datetime,
    remote_addr: str | None, user_agent: str | None,
) -> identities.Resolved:
    """In the caller's transaction: the user these verified claims are (linked, matched or made),
    the sign-in trail, and a new console session for them; or the refusal, in the trail too."""
    resolved = identities.resolve(writes, config, config.issuer, claims, now=now)
    identities.record(writes, resolved, claims, config, now=now, remote_addr=remote_addr, user_agent=user_agent)
    if resolved.user is not None and resolved.identity is not None:
        auth.start_session(writes, resolved.user, now=now)
        session_id = auth.current_session_id()
        assert session_id is not None
        identities.remember_session(writes, session_id, resolved.identity, id_token)
    return resolved


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
