"""The city platform as an OpenID Connect client of Authlib's, registered on the Flask app when
SSO is configured: discovery, PKCE (S256), state and nonce kept in a short-lived signed cookie
(`lc_sso`, the Flask session, used for nothing else), the ID token checked against the provider's
JWKS, its issuer and our client id as audience."""

from __future__ import annotations

from typing import Any

from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app

from infra.settings import Settings
from infra.sso import SsoConfig, SsoConfigError
from registry.accounts.identities import unknown_roles

NAME = "city"
STATE_COOKIE = "lc_sso"
DISCOVERY = "/.well-known/openid-configuration"


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
