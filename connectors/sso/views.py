"""The browser's round trip through the city platform: `/sso/signin` sends it to the provider's
sign-in page, `/sso/callback` takes the code back, checks it and starts a console session (the
same server-side session a password sign-in starts). A refusal goes back to the sign-in page,
which says why; nothing about it travels in the URL. `/sso/backchannel-logout`: the provider
POSTs a logout token there when a session ends at its side (OpenID Connect Back-Channel Logout)."""

from __future__ import annotations

import logging
import time
from typing import Any

from authlib.integrations.base_client import MismatchingStateError, OAuthError
from flask import Blueprint, abort, jsonify, redirect, request, url_for
from flask import session as browser_state
from joserfc.errors import JoseError
from requests import RequestException
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from connectors.sso import client, flows, logout_token
from infra.sso import SsoConfig
from web.http import auth, context
from web.http.redirects import console_path

bp = Blueprint("sso", __name__, url_prefix="/sso")
log = logging.getLogger(__name__)
NEXT_KEY, REFUSAL_KEY = "sso_next", "sso_refusal"


def _config() -> SsoConfig:
    config = context.system().settings.sso
    if config is None:
        abort(404)
    return config


@bp.get("/signin")
@auth.public
def signin() -> Response:
    """To the city platform's sign-in page; `next`: the console page to come back to."""
    settings = context.system().settings
    config = _config()
    browser_state[NEXT_KEY] = console_path(request.args.get("next", ""))
    try:
        return client.provider().authorize_redirect(client.redirect_uri(config, settings))  # type: ignore[no-any-return]
    except (RequestException, ValueError) as err:  # discovery failed: the provider is down or misconfigured
        log.warning("SSO: the provider's discovery document could not be read: %s", err)
        return _refused("unavailable")


@bp.get("/callback")
@auth.public
def callback() -> Response:
    """The provider sends the browser back here with a code (or an error) and our state."""
    config = _config()
    provider = client.provider()
    try:
        token = provider.authorize_access_token(claims_options=client.id_token_checks(config))
        verified = token.get("userinfo")
        if not verified:  # no ID token: not OpenID Connect, nothing to trust
            return _refused("token")
        extra = dict(provider.userinfo(token=token))
    except MismatchingStateError:
        return _refused("state")
    except OAuthError as err:  # the provider's own error (access_denied, invalid_grant ...)
        log.info("SSO: the provider answered %s: %s", err.error, err.description)
        return _refused("provider")
    except JoseError as err:  # signature, issuer, audience, expiry, nonce
        log.warning("SSO: ID token refused: %r", err)
        return _refused("token")
    except RequestException as err:
        log.warning("SSO: the provider could not be reached: %s", err)
        return _refused("unavailable")
    if extra.get("sub") != verified["sub"]:  # userinfo of someone else: refuse (OIDC Core 5.3.2)
        return _refused("token")
    claims = {**extra, **dict(verified)}  # the ID token's own claims (iss, sub, aud) win
    system = context.system()
    now = system.clock.now()
    with context.writer() as writes, writes.begin():
        resolved = flows.sign_in(
            writes, config, claims, token["id_token"], now=now,
            remote_addr=request.remote_addr, user_agent=request.user_agent.string,
            sid=verified["sid"] if isinstance(verified.get("sid"), str) else None,
        )  # fmt: skip
    if resolved.user is None:
        return _refused(resolved.refusal or "token", resolved.detail)
    return redirect(browser_state.pop(NEXT_KEY, "") or url_for("console.home"))


def _refused(reason: str, detail: str = "") -> Response:
    """Back to the sign-in page, which shows why (the reason rides in the signed `lc_sso` cookie)."""
    browser_state.pop(NEXT_KEY, None)
    browser_state[REFUSAL_KEY] = {"reason": reason, "detail": detail[:80]}
    return redirect(url_for("console.signin"))


@bp.post("/backchannel-logout")
@auth.public  # no user signs this request: the logout token's signature is its authentication
def backchannel_logout() -> Response:
    """The provider's logout token (form field `logout_token`): 200 when taken (the sessions it
    names are ended), 400 with {error, error_description} when it is not valid or seen before."""
    config = _config()
    raw = request.form.get("logout_token", "") if request.mimetype == "application/x-www-form-urlencoded" else ""
    if not raw:
        return _logout_answer(400, "invalid_request", "a form-encoded logout_token is required")
    wall_now = time.time()  # the token's times are the provider's clock, not the app's (simulated in tests)
    try:
        token = logout_token.verify(
            raw, issuer=config.issuer, client_id=config.client_id, algorithms=client.signing_algorithms(),
            key_set=client.key_set, now=wall_now,
        )  # fmt: skip
    except logout_token.LogoutTokenError as err:
        log.warning("SSO: logout token refused: %s", err)
        return _logout_answer(400, "invalid_request", str(err))
    except (RequestException, ValueError, RuntimeError) as err:  # discovery or JWKS not readable
        log.warning("SSO: the provider's keys could not be read for a logout token: %s", err)
        return _logout_answer(503, "temporarily_unavailable", "the provider's keys could not be read")
    system = context.system()
    try:
        with context.writer() as writes, writes.begin():
            flows.back_channel_logout(writes, token, now=system.clock.now(), wall_now=wall_now)
    except IntegrityError:
        log.warning("SSO: logout token replayed (jti %s)", token.jti)
        return _logout_answer(400, "invalid_request", "this logout token was received before")
    return _logout_answer(200)


def _logout_answer(status: int, error: str = "", description: str = "") -> Response:
    body: dict[str, Any] = {"error": error, "error_description": description} if error else {}
    answer = jsonify(body)
    answer.status_code = status
    answer.headers["Cache-Control"] = "no-store"
    return answer
