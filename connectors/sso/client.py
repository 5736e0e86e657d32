"""The city platform as an OpenID Connect client of Authlib's, registered on the Flask app when
SSO is configured: discovery, PKCE (S256), state and nonce kept in a short-lived signed cookie
(`lc_sso`, the Flask session, used for nothing else), the ID token checked against the provider's
JWKS, its issuer and our client id as audience."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app

from infra.settings import Settings
from infra.sso import SsoConfig, SsoConfigError
from registry.accounts.identities import unknown_roles

NAME = "city"
STATE_COOKIE = "lc_sso"
DISCOVERY = "/.well-known/openid-configuration"
BACKCHANNEL_LOGOUT_PATH = "/sso/backchannel-logout"
# A fresh JWKS for an unknown key id at most this often (seconds): a stream of forged tokens with
# made-up key ids must not turn into a stream of requests to the provider.
JWKS_REFRESH_EVERY = 60.0
_LAST_REFRESH = "liftcase.sso.jwks_refreshed_at"


def install(app: Flask, settings: Settings) -> None:
    config = settings.sso
    if config is None:
        return
    if wrong := unknown_roles(config):
        raise SsoConfigError(f"SSO [roles] maps to roles liftcase does not have: {', '.join(sorted(wrong))}")
    # Lax: the provider's redirect back is a top-level GET, which carries it. Secure when the callback is https.
    app.config.update(
        SESSION_COOKIE_NAME=STATE_COOKIE, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=redirect_uri(config, settings).startswith("https://"),
    )  # fmt: skip
    oauth = OAuth(app)
    oauth.register(
        NAME,
        client_id=config.client_id,
        client_secret=config.client_secret,
        server_metadata_url=config.issuer + DISCOVERY,
        client_kwargs={"scope": " ".join(config.scopes), "code_challenge_method": "S256", "timeout": 10},
    )


def provider() -> Any:
    """This app's Authlib client of the city platform (FlaskOAuth2App)."""
    return current_app.extensions["authlib.integrations.flask_client"].create_client(NAME)


def key_set(refresh: bool) -> Mapping[str, Any]:
    """The provider's JWKS, cached by Authlib in this process with the discovery document; a fresh
    copy when `refresh` and the last one was fetched more than JWKS_REFRESH_EVERY seconds ago."""
    extensions = current_app.extensions
    due = time.monotonic() - extensions.get(_LAST_REFRESH, float("-inf")) >= JWKS_REFRESH_EVERY
    if refresh and due:
        extensions[_LAST_REFRESH] = time.monotonic()
        return provider().fetch_jwk_set(force=True)  # type: ignore[no-any-return]
    return provider().fetch_jwk_set()  # type: ignore[no-any-return]


def signing_algorithms() -> list[str]:
    """The algorithms the provider advertises for ID tokens, which sign its logout tokens too
    (RS256 when it names none: OpenID Connect Discovery's default)."""
    advertised = provider().load_server_metadata().get("id_token_signing_alg_values_supported")
    return [str(alg) for alg in advertised] if isinstance(advertised, list) else ["RS256"]


def id_token_checks(config: SsoConfig) -> dict[str, Any]:
    """Claims the ID token must carry: our issuer exactly (not only the discovery document's), our
    client id among its audiences. Signature, expiry, nonce and at_hash Authlib checks itself."""
    return {
        "iss": {"essential": True, "values": [config.issuer]},
        "aud": {"essential": True, "values": [config.client_id]},
    }


def redirect_uri(config: SsoConfig, settings: Settings) -> str:
    return config.redirect_uri or f"{settings.public_base_url}/sso/callback"


def post_logout_uri(config: SsoConfig, settings: Settings) -> str:
    return config.post_logout_redirect_uri or f"{settings.public_base_url}/console/signin"
