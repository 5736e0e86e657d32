"""The logout token's checks on their own (connectors/sso/logout_token.py): the provider's key
rotation (one fresh JWKS for an unknown key id, then refused), and only the algorithms the
provider advertises. The attacks through the route: tests/security/test_sso_backchannel_logout.py."""

from __future__ import annotations

import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from connectors.sso.logout_token import EVENT, LogoutTokenError, verify

ISSUER, CLIENT = "https://sso.city.example", "liftcase"
OLD = RSAKey.generate_key(2048, parameters={"kid": "2026-01"})
NEW = RSAKey.generate_key(2048, parameters={"kid": "2026-02"})


def _token(key: Any, alg: str = "RS256", **changes: Any) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": [CLIENT, "another"], "iat": now, "jti": "j-1", "sid": "s-1",
              "events": {EVENT: {}}, **changes}  # fmt: skip
    return jwt.encode({"alg": alg, "kid": key.kid}, claims, key)


class Jwks:
    """The provider's published keys: `cached` until a refresh reads `published`."""

    def __init__(self, cached: list[Any], published: list[Any]) -> None:
        self.cached, self.published, self.refreshes = cached, published, 0

    def __call__(self, refresh: bool) -> dict[str, Any]:
        if refresh:
            self.refreshes += 1
            self.cached = self.published
        return {"keys": [key.as_dict(private=False) for key in self.cached]}


def _verify(raw: str, jwks: Jwks, algorithms: tuple[str, ...] = ("RS256",)) -> Any:
    return verify(raw, issuer=ISSUER, client_id=CLIENT, algorithms=algorithms, key_set=jwks, now=time.time())


def test_a_rotated_key_is_fetched_once_and_an_unknown_one_still_refused() -> None:
    jwks = Jwks(cached=[OLD], published=[OLD, NEW])
    assert _verify(_token(OLD), jwks).sid == "s-1" and jwks.refreshes == 0  # cached keys, no fetch
    taken = _verify(_token(NEW), jwks)
    assert (taken.sid, taken.subject, taken.jti, jwks.refreshes) == ("s-1", None, "j-1", 1)
    stranger = RSAKey.generate_key(2048, parameters={"kid": "made-up"})
    with pytest.raises(LogoutTokenError, match="signature"):
        _verify(_token(stranger), jwks)
    assert jwks.refreshes == 2  # one fresh look for it, not more


def test_only_the_advertised_asymmetric_algorithms_are_accepted() -> None:
    ec = ECKey.generate_key("P-256", parameters={"kid": "ec"})
    jwks = Jwks(cached=[OLD, ec], published=[OLD, ec])
    assert _verify(_token(ec, "ES256"), jwks, ("RS256", "ES256")).jti == "j-1"
    with pytest.raises(LogoutTokenError, match="signature"):
        _verify(_token(ec, "ES256"), jwks, ("RS256",))
    with pytest.raises(LogoutTokenError, match="no asymmetric"):
        _verify(_token(OLD), jwks, ("none", "HS256"))


def test_the_jti_is_kept_as_long_as_the_token_would_be_taken() -> None:
    issued = int(time.time()) - 10
    taken = _verify(_token(OLD, iat=issued, exp=issued + 86_400), Jwks([OLD], [OLD]))
    assert taken.keep_until == issued + 300 + 60  # not the far exp: the iat check refuses it before
    with pytest.raises(LogoutTokenError, match="iat"):
        verify(_token(OLD, iat=issued), issuer=ISSUER, client_id=CLIENT, algorithms=("RS256",),
               key_set=Jwks([OLD], [OLD]), now=taken.keep_until + 1)  # fmt: skip


def test_a_fresh_jwks_is_fetched_at_most_once_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forged tokens with made-up key ids must not become a stream of requests to the provider."""
    from flask import Flask

    from connectors.sso import client

    fetched: list[bool] = []

    class Provider:
        def fetch_jwk_set(self, force: bool = False) -> dict[str, Any]:
            fetched.append(force)
            return {"keys": []}

    monkeypatch.setattr(client, "provider", Provider)
    clock = [1000.0]
    monkeypatch.setattr(client.time, "monotonic", lambda: clock[0])
    with Flask("t").app_context():
        client.key_set(True)
        client.key_set(True)  # within the minute: the cached copy
        clock[0] += client.JWKS_REFRESH_EVERY
        client.key_set(True)
        client.key_set(False)
    assert fetched == [True, False, True, False]
