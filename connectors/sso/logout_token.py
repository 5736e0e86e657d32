"""The city platform's logout token (OpenID Connect Back-Channel Logout 1.0, section 2.6), checked
strictly before anything is ended: a signed JWT (never `alg: none`, never encrypted, only the
algorithms the provider advertises, a key of its JWKS), our issuer exactly, our client id among its
audiences, issued recently (and not expired when it says when), the back-channel logout event,
`sub` and/or `sid`, no `nonce` (an ID token is not a logout token) and a `jti`, which the caller
checks against the ones already seen. Pure: the keys and the time are handed in."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

EVENT = "http://schemas.openid.net/event/backchannel-logout"
MAX_AGE = 300  # seconds: a logout token issued longer ago than this is refused (replay window)
LEEWAY = 60  # seconds the provider's clock and ours may be apart
TYPES = (None, "JWT", "logout+jwt")  # the `typ` header, when there is one
MAX_LENGTH = 16_384  # characters: a logout token is a few hundred


class LogoutTokenError(ValueError):
    """Why a logout token is refused: the 400 answer's error_description."""


@dataclass(frozen=True)
class LogoutToken:
    issuer: str
    subject: str | None
    sid: str | None
    jti: str
    # Seconds since the epoch after which this token is refused as too old or expired anyway:
    # its jti must be remembered until then, and no longer.
    keep_until: float


def verify(
    raw: str, *, issuer: str, client_id: str, algorithms: Collection[str],
    key_set: Callable[[bool], Mapping[str, Any]], now: float,
) -> LogoutToken:  # fmt: skip
    """The checked token, or LogoutTokenError. `key_set(refresh)` gives the provider's JWKS (cached;
    `refresh` asks for a fresh copy, which happens once, for a key id the cached one lacks);
    `algorithms` the provider's advertised signing algorithms; `now` seconds since the epoch."""
    if not raw or len(raw) > MAX_LENGTH or raw.count(".") != 2:
        raise LogoutTokenError("not a signed JWT (an encrypted or malformed token is not accepted)")
    allowed = [alg for alg in algorithms if alg.lower() != "none" and not alg.upper().startswith("HS")]
    if not allowed:
        raise LogoutTokenError("the provider advertises no asymmetric signing algorithm")
    claims = _signed_claims(raw, allowed, key_set)
    return _checked(claims, issuer=issuer, client_id=client_id, now=now)


def _signed_claims(raw: str, algorithms: list[str], key_set: Callable[[bool], Mapping[str, Any]]) -> dict[str, Any]:
    registry = JWSRegistry(algorithms=algorithms)
    try:
        try:
            token = jwt.decode(raw, KeySet.import_key_set(dict(key_set(False))), registry=registry)  # type: ignore[arg-type]
        except InvalidKeyIdError:  # the provider may have rotated its keys: one fresh look
            token = jwt.decode(raw, KeySet.import_key_set(dict(key_set(True))), registry=registry)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as err:
        raise LogoutTokenError(f"signature not valid: {getattr(err, 'error', None) or type(err).__name__}") from err
    if token.header.get("typ") not in TYPES:
        raise LogoutTokenError("typ is not logout+jwt")
    return dict(token.claims)


def _checked(claims: Mapping[str, Any], *, issuer: str, client_id: str, now: float) -> LogoutToken:
    if claims.get("iss") != issuer:
        raise LogoutTokenError("iss is not the provider's issuer")
    audiences = claims.get("aud")
    if client_id not in ([audiences] if isinstance(audiences, str) else audiences or []):
        raise LogoutTokenError("aud does not name this client")
    iat = _number(claims, "iat")
    if iat is None:
        raise LogoutTokenError("iat missing")
    if iat > now + LEEWAY or iat < now - MAX_AGE - LEEWAY:
        raise LogoutTokenError("iat is not recent")
    exp = _number(claims, "exp")
    if "exp" in claims and exp is None:
        raise LogoutTokenError("exp is not a time")
    if exp is not None and exp + LEEWAY <= now:
        raise LogoutTokenError("expired")
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(EVENT), dict):
        raise LogoutTokenError("events lacks the back-channel logout event")
    if "nonce" in claims:
        raise LogoutTokenError("a logout token carries no nonce")
    subject, sid = _text(claims, "sub"), _text(claims, "sid")
    if subject is None and sid is None:
        raise LogoutTokenError("neither sub nor sid")
    jti = _text(claims, "jti")
    if jti is None or len(jti) > 255:
        raise LogoutTokenError("jti missing")
    # Past iat + MAX_AGE + LEEWAY the iat check refuses the token whatever its exp says.
    return LogoutToken(issuer=issuer, subject=subject, sid=sid, jti=jti, keep_until=iat + MAX_AGE + LEEWAY)


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _text(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise LogoutTokenError(f"{name} is not a string")
    return value
