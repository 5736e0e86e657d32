"""Attacks on /sso/backchannel-logout, the public route the city platform POSTs its logout tokens
to. The real test provider runs with a key the test knows, so a token signed here with it is
exactly what the provider would send: the genuine one is taken (it ends the session), and each
forgery or malformed request is refused with 400 and ends nothing, the person stays signed in."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from sqlalchemy import func, select

from connectors.sso.logout_token import EVENT
from infra.clock import SimulatedClock
from processes.models import AdminAuditEntry
from processes.system import System
from registry.accounts.models import SsoSession, UserSession
from registry.accounts.service import hash_password
from registry.models import User
from tests.support.broker import free_ports
from tests.support.console_harness import serve
from tests.support.oidc import CLIENT_ID, CLIENT_SECRET, OidcProvider, need_provider, sso_toml, through_provider
from tests.support.system import START, make_system

PROVIDER_KEY = RSAKey.generate_key(2048, parameters={"kid": "city-1", "use": "sig"})
ATTACKER_KEY = RSAKey.generate_key(2048, parameters={"kid": "city-1", "use": "sig"})  # same kid, other key
ACCOUNTS = {"zhang.new": {"preferred_username": "zhang.new", "name": "张新", "org_code": "DZ-SCJGJ-TONGCHUAN",
                          "roles": ["city.regulator"]}}  # fmt: skip


@pytest.fixture(scope="module")
def ports() -> dict[str, int]:
    provider, app = free_ports(2)
    return {"provider": provider, "app": app}


@pytest.fixture(scope="module")
def provider(ports: dict[str, int]) -> Iterator[OidcProvider]:
    running = OidcProvider(need_provider(), ports["provider"], f"http://127.0.0.1:{ports['app']}", ACCOUNTS)
    running.config["jwks"] = {"keys": [PROVIDER_KEY.as_dict(private=True)]}
    yield running.start()
    running.stop()


@pytest.fixture(scope="module")
def sso_file(tmp_path_factory: pytest.TempPathFactory, provider: OidcProvider) -> Path:
    path = tmp_path_factory.mktemp("sso") / "sso.toml"
    path.write_text(sso_toml(provider.issuer))
    return path


@pytest.fixture
def app(db_url: str, ports: dict[str, int], sso_file: Path) -> Iterator[tuple[System, str]]:
    system = make_system(
        db_url, SimulatedClock(START), elevators=20, sso_file=sso_file, sso_client_secret=CLIENT_SECRET,
        public_base_url=f"http://127.0.0.1:{ports['app']}",
    )  # fmt: skip
    with serve(system, ports["app"]) as base:
        yield system, base
    system.db.dispose()


class SignedIn:
    """zhang.new signed in through the provider in `browser`: our session and its sid."""

    def __init__(self, system: System, base: str, issuer: str, browser: requests.Session | None = None) -> None:
        self.system, self.base, self.issuer = system, base, issuer
        self.browser = browser or requests.Session()
        assert through_provider(self.browser, f"{base}/sso/signin", "zhang.new").status_code == 302
        with system.sessions() as db:
            row = db.execute(select(SsoSession).order_by(SsoSession.session_id.desc())).scalars().first()
            assert row is not None and row.sid
            self.sid, self.id_token = row.sid, row.id_token

    def alive(self) -> bool:
        return self.browser.get(f"{self.base}/api/v1/session", timeout=10).status_code == 200

    def claims(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 120, "jti": uuid.uuid4().hex,
                  "sub": "zhang.new", "sid": self.sid, "events": {EVENT: {}}}  # fmt: skip
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, key: Any = PROVIDER_KEY, header: dict[str, Any] | None = None, **changes: Any) -> str:
        header = {"alg": "RS256", "kid": "city-1", "typ": "logout+jwt", **(header or {})}
        return jwt.encode(header, self.claims(**changes), key)

    def post(self, token: str) -> requests.Response:
        return requests.post(f"{self.base}/sso/backchannel-logout", data={"logout_token": token}, timeout=30)


@pytest.fixture
def signed_in(app: tuple[System, str], provider: OidcProvider) -> SignedIn:
    system, base = app
    person = SignedIn(system, base, provider.issuer)
    assert person.alive()
    return person


def _b64(part: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def _unsigned(person: SignedIn) -> str:
    return f"{_b64({'alg': 'none', 'typ': 'logout+jwt'})}.{_b64(person.claims())}."


def _hs256_with_client_secret(person: SignedIn) -> str:
    """Algorithm confusion: HMAC keyed with what an attacker may hold (the client secret)."""
    return jwt.encode({"alg": "HS256", "typ": "logout+jwt"}, person.claims(), OctKey.import_key(CLIENT_SECRET))


# what is sent, and the reason the answer must give (so each attack is refused for its own flaw)
ATTACKS: dict[str, tuple[Callable[[SignedIn], str], str]] = {
    "signed with another key, same kid": (lambda p: p.token(ATTACKER_KEY), "signature"),
    "signed with another key, unknown kid": (lambda p: p.token(ATTACKER_KEY, {"kid": "attacker"}), "signature"),
    "alg none": (_unsigned, "signature"),
    "HS256 keyed with the client secret": (_hs256_with_client_secret, "signature"),
    "wrong aud": (lambda p: p.token(aud="another-client"), "aud"),
    "wrong iss": (lambda p: p.token(iss="http://127.0.0.1:1"), "iss"),
    "with a nonce": (lambda p: p.token(nonce="n-0S6_WzA2Mj"), "nonce"),
    "without the event": (lambda p: p.token(events={"http://schemas.openid.net/event/other": {}}), "events"),
    "without events": (lambda p: p.token(events=None), "events"),
    "expired": (lambda p: p.token(iat=int(time.time()) - 240, exp=int(time.time()) - 120), "expired"),
    "issued an hour ago": (lambda p: p.token(iat=int(time.time()) - 3600, exp=None), "iat"),
    "issued in the future": (lambda p: p.token(iat=int(time.time()) + 3600), "iat"),
    "neither sub nor sid": (lambda p: p.token(sub=None, sid=None), "neither sub nor sid"),
    "without jti": (lambda p: p.token(jti=None), "jti"),
    "the ID token itself": (lambda p: p.id_token, "events"),
    "garbage": (lambda p: "not.a.jwt", "signature"),
    "encrypted (five parts)": (lambda p: "a.b.c.d.e", "not a signed JWT"),
}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("attack", list(ATTACKS))
def test_a_forged_or_wrong_logout_token_is_refused_and_ends_nothing(signed_in: SignedIn, attack: str) -> None:
    forge, reason = ATTACKS[attack]
    answer = signed_in.post(forge(signed_in))
    assert answer.status_code == 400, (attack, answer.status_code, answer.text[:200])
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.json()["error"] == "invalid_request" and reason in answer.json()["error_description"]
    assert signed_in.alive(), attack
    _no_logout_recorded(signed_in.system)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    "body",
    [
        {},
        {"data": {"logout_token": ""}},
        {"data": {"token": "x"}},
        {"data": b"\xff\xfe logout_token=%%%", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
        {"json": {"logout_token": "x.y.z"}},
    ],
    ids=["empty", "empty token", "no logout_token field", "undecodable", "JSON"],
)
def test_a_malformed_body_is_refused(signed_in: SignedIn, body: dict[str, Any]) -> None:
    answer = requests.post(f"{signed_in.base}/sso/backchannel-logout", timeout=30, **body)
    assert answer.status_code == 400 and answer.headers["Cache-Control"] == "no-store"
    assert answer.json()["error"] == "invalid_request"
    assert signed_in.alive()
    _no_logout_recorded(signed_in.system)


def test_a_genuine_token_is_taken_once_and_its_replay_refused(signed_in: SignedIn) -> None:
    """The harness signs as the provider does: its token ends the session. Signed in again (the
    provider's session, so its sid, is the same), the captured token replayed ends nothing."""
    genuine = signed_in.token()
    answer = signed_in.post(genuine)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    assert not signed_in.alive()

    again = SignedIn(signed_in.system, signed_in.base, signed_in.issuer, signed_in.browser)
    assert again.sid == signed_in.sid and again.alive()
    replay = again.post(genuine)
    assert replay.status_code == 400 and "received before" in replay.json()["error_description"]
    assert again.alive()
    with signed_in.system.sessions() as db:
        assert db.scalar(select(func.count()).where(AdminAuditEntry.kind == "session.provider_logout")) == 1


def test_a_token_with_only_sub_ends_every_sso_session_of_the_person_not_their_password_one(
    signed_in: SignedIn,
) -> None:
    system, base = signed_in.system, signed_in.base
    second = SignedIn(system, base, signed_in.issuer)  # another browser: another provider session
    assert second.sid != signed_in.sid
    with system.sessions() as db, db.begin():
        user = db.scalar(select(User).where(User.username == "zhang.new"))
        assert user is not None
        user.password_hash = hash_password("a local password too")
    with_password = requests.Session()
    credentials = {"username": "zhang.new", "password": "a local password too"}
    signin = with_password.post(f"{base}/api/v1/session", json=credentials, timeout=10)
    assert signin.status_code == 200, signin.text[:200]

    assert signed_in.post(signed_in.token(sid=None)).status_code == 200

    assert not signed_in.alive() and not second.alive()
    assert with_password.get(f"{base}/api/v1/session", timeout=10).status_code == 200
    with system.sessions() as db:
        reasons = db.scalars(select(UserSession.end_reason).order_by(UserSession.id)).all()
        assert reasons == ["provider_logout", "provider_logout", None]
        entry = db.scalars(select(AdminAuditEntry).where(AdminAuditEntry.kind == "session.provider_logout")).one()
        assert len(entry.payload["changes"]["sessions_ended"]) == 2 and entry.payload["target"]["sid"] is None


def test_one_token_delivered_twice_at_once_is_taken_once(signed_in: SignedIn) -> None:
    """Two deliveries of one token racing (the provider retrying while the first is in flight):
    the jti's key conflict lets one through, the other is refused; one audit entry."""
    token = signed_in.token()
    start = threading.Barrier(2)

    def deliver() -> int:
        start.wait()
        return signed_in.post(token).status_code

    with ThreadPoolExecutor(2) as pool:
        answers = sorted(pool.map(lambda _: deliver(), range(2)))
    assert answers == [200, 400]
    assert not signed_in.alive()
    with signed_in.system.sessions() as db:
        assert db.scalar(select(func.count()).where(AdminAuditEntry.kind == "session.provider_logout")) == 1


def _no_logout_recorded(system: System) -> None:
    with system.sessions() as db:
        assert db.scalar(select(func.count()).where(UserSession.ended_at.is_not(None))) == 0
        assert db.scalar(select(func.count()).where(AdminAuditEntry.kind == "session.provider_logout")) == 0
