"""Single sign-on against a real OpenID provider (npm's certified oidc-provider, started here by
node): its login and consent pages, its tokens signed with its keys, its end-session page. The
round trip runs with requests (on SQLite and PostgreSQL) and in Chromium through the console.

What must hold: a new person is provisioned with the organisation and roles the settings map
their claims to; an existing account is matched, not duplicated; an organisation the register
does not have is refused with a message that names it; an answer whose state was tampered with
starts no session; sign-out ends our session and the provider's; signing out at the provider
ends ours (back-channel logout)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests
from joserfc.errors import JoseError
from sqlalchemy import func, select

from connectors.sso import client as sso_client
from connectors.sso.models import SeenLogoutToken
from infra.clock import SimulatedClock
from infra.sso import SsoConfig
from processes.models import AdminAuditEntry
from processes.system import System
from registry.accounts.models import SignInEvent, SsoSession, UserIdentity, UserSession
from registry.accounts.service import hash_password
from registry.models import Organisation, User
from tests.support.broker import free_ports
from tests.support.console_harness import CHROMIUM, CHROMIUM_ARGS, serve
from tests.support.oidc import (
    CLIENT_SECRET,
    OidcProvider,
    callback_url,
    need_provider,
    sso_toml,
    through_provider,
)
from tests.support.system import START, make_system
from web.app import create_app

ACCOUNTS = {
    # a regulator of 通川区 the platform knows under its own organisation code
    "zhang.new": {"preferred_username": "zhang.new", "name": "张新", "email": "zhang.new@city.example",
                  "org_code": "DZ-SCJGJ-TONGCHUAN", "roles": ["city.regulator", "city.parking"]},
    # the seeded `dispatcher`, at the platform under another subject
    "city-000042": {"preferred_username": "dispatcher", "name": "李调度", "org_code": "RC-96933",
                    "roles": ["city.dispatcher"]},
    # an organisation our register does not have
    "wang.unknown": {"preferred_username": "wang.unknown", "name": "王某", "org_code": "91510000-NOT-HERE",
                     "roles": ["city.regulator"]},
    # the browser test's person
    "chen.audit": {"preferred_username": "chen.audit", "name": "陈审计", "org_code": "PLATFORM",
                   "roles": ["city.auditor"]},
}  # fmt: skip


@pytest.fixture(scope="module")
def ports() -> dict[str, int]:
    provider, app = free_ports(2)
    return {"provider": provider, "app": app}


@pytest.fixture(scope="module")
def provider(ports: dict[str, int]) -> Iterator[OidcProvider]:
    node = need_provider()
    running = OidcProvider(node, ports["provider"], f"http://127.0.0.1:{ports['app']}", ACCOUNTS).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def sso_file(tmp_path_factory: pytest.TempPathFactory, provider: OidcProvider) -> Path:
    path = tmp_path_factory.mktemp("sso") / "sso.toml"
    path.write_text(sso_toml(provider.issuer))
    return path


def sso_system(url: str, ports: dict[str, int], sso_file: Path) -> System:
    return make_system(
        url, SimulatedClock(START), elevators=40, sso_file=sso_file, sso_client_secret=CLIENT_SECRET,
        public_base_url=f"http://127.0.0.1:{ports['app']}",
    )  # fmt: skip


@pytest.fixture
def app(db_url: str, ports: dict[str, int], sso_file: Path) -> Iterator[tuple[System, str]]:
    system = sso_system(db_url, ports, sso_file)
    with serve(system, ports["app"]) as base:
        yield system, base
    system.db.dispose()


def browser_session() -> requests.Session:
    http = requests.Session()
    http.headers["Accept-Language"] = "en"
    return http


def test_a_new_person_is_provisioned_with_the_mapped_organisation_and_roles(app: tuple[System, str]) -> None:
    system, base = app
    http = browser_session()
    info = http.get(f"{base}/api/v1/session/sso", timeout=10).json()
    assert info == {"enabled": True, "name_zh": "城市一体化平台", "name_en": "City platform",
                    "signin_url": "/sso/signin"}
    page = through_provider(http, f"{base}/sso/signin?next=/console/cases", "zhang.new")
    assert page.status_code == 302 and page.headers["Location"] == "/console/cases", page.text[:300]
    me = http.get(f"{base}/api/v1/session", timeout=10).json()
    assert me["username"] == "zhang.new" and me["roles"] == ["regulator"]  # city.parking maps to nothing
    assert me["district_code"] == "511702" and me["csrf_token"]
    with system.sessions() as db:
        user = db.scalar(select(User).where(User.username == "zhang.new"))
        assert user is not None and user.display_name == "张新" and user.password_hash is None
        assert user.email == "zhang.new@city.example"
        assert db.get(Organisation, user.organisation_id).code == "REG-511702"  # type: ignore[union-attr]
        identity = db.scalar(select(UserIdentity).where(UserIdentity.user_id == user.id))
        assert identity is not None and (identity.issuer, identity.subject) == (
            system.settings.sso.issuer, "zhang.new")  # type: ignore[union-attr]
        session = db.scalar(select(UserSession).where(UserSession.user_id == user.id))
        assert session is not None and session.ended_at is None
        assert db.get(SsoSession, session.id) is not None  # the ID token kept for sign-out
        kinds = db.scalars(select(SignInEvent.kind).where(SignInEvent.user_id == user.id)).all()
        assert kinds == ["sso_sign_in"]
    # what the new regulator may do is what a regulator of 通川区 may: the API answers in scope
    assert http.get(f"{base}/api/v1/cases", timeout=10).status_code == 200


def test_an_existing_account_is_matched_not_duplicated(app: tuple[System, str]) -> None:
    system, base = app
    with system.sessions() as db, db.begin():
        seeded = db.scalar(select(User).where(User.username == "dispatcher"))
        assert seeded is not None
        seeded.password_hash = hash_password("local password")
    with system.sessions() as db:
        seeded = db.scalar(select(User).where(User.username == "dispatcher"))
        users_before = db.scalar(select(func.count(User.id)))
    assert seeded is not None
    for _ in (1, 2):  # first sign-in links the account, the second finds it by the link
        http = browser_session()
        page = through_provider(http, f"{base}/sso/signin", "city-000042")
        assert page.status_code == 302 and page.headers["Location"] == "/console/", page.text[:300]
        assert http.get(f"{base}/api/v1/session", timeout=10).json()["id"] == seeded.id
    with system.sessions() as db:
        assert db.scalar(select(func.count(User.id))) == users_before
        links = db.scalars(select(UserIdentity).where(UserIdentity.user_id == seeded.id)).all()
        assert [link.subject for link in links] == ["city-000042"]
        matched = db.get(User, seeded.id)
        assert matched is not None and matched.roles == ["dispatcher"] and matched.display_name == "李调度"
        assert matched.password_hash == seeded.password_hash  # the local password still works beside SSO


def test_an_organisation_the_register_lacks_is_refused_with_a_clear_message(app: tuple[System, str]) -> None:
    system, base = app
    http = browser_session()
    page = through_provider(http, f"{base}/sso/signin", "wang.unknown")
    assert page.status_code == 302 and page.headers["Location"] == "/console/signin"
    assert "lc_session" not in http.cookies
    shown = http.get(f"{base}/console/signin", timeout=10).text
    assert ("Your organisation (91510000-NOT-HERE) is not registered on this platform. "
            "Ask the platform operator to add it.") in shown
    assert "91510000-NOT-HERE" not in http.get(f"{base}/console/signin", timeout=10).text  # said once
    # and in Chinese for a Chinese reader
    http_zh = browser_session()
    http_zh.headers["Accept-Language"] = "zh-CN"
    through_provider(http_zh, f"{base}/sso/signin", "wang.unknown")
    assert "您所属的单位（91510000-NOT-HERE）未在本平台登记" in http_zh.get(f"{base}/console/signin", timeout=10).text
    with system.sessions() as db:
        assert db.scalar(select(User).where(User.username == "wang.unknown")) is None
        refused = db.scalars(select(SignInEvent).where(SignInEvent.username == "wang.unknown")).all()
        assert [(e.kind, e.success) for e in refused] == [("sso_refused", False)] * 2


def test_a_tampered_state_starts_no_session(app: tuple[System, str]) -> None:
    system, base = app
    http = browser_session()
    page = through_provider(http, f"{base}/sso/signin", "zhang.new", callback_state="forged-by-someone-else")
    assert page.status_code == 302 and page.headers["Location"] == "/console/signin"
    assert "lc_session" not in http.cookies
    assert http.get(f"{base}/api/v1/session", timeout=10).status_code == 401
    assert "could not be verified (it was altered or had expired)" in http.get(f"{base}/console/signin").text
    # the request carries PKCE (S256) and a nonce
    start = browser_session().get(f"{base}/sso/signin", timeout=30, allow_redirects=False)
    assert "code_challenge=" in start.headers["Location"] and "code_challenge_method=S256" in start.headers["Location"]
    assert "nonce=" in start.headers["Location"]
    # a genuine answer opened in another browser (without the lc_sso cookie it was started with): refused
    genuine = callback_url(browser_session(), f"{base}/sso/signin", "zhang.new")
    stranger = browser_session()
    answer = stranger.get(genuine, timeout=30, allow_redirects=False)
    assert answer.headers["Location"] == "/console/signin" and "lc_session" not in stranger.cookies
    with system.sessions() as db:
        assert db.scalar(select(func.count(UserSession.id))) == 0
        assert db.scalar(select(func.count(SignInEvent.id)).where(SignInEvent.kind == "sso_sign_in")) == 0


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_console_sign_in_and_sign_out_through_the_platform(app: tuple[System, str]) -> None:
    """Chromium through the provider's own pages: the sign-in page's button, login, consent, the
    console; sign-out ends our session (its cookie signs nobody in) and the provider's (the next
    sign-in asks for the login again)."""
    import playwright.sync_api as playwright_api

    system, base = app
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            ctx = chromium.new_context(locale="zh-CN")
            ctx.set_default_timeout(20_000)
            ctx.route("https://fonts.googleapis.com/**", lambda route: route.abort())  # the provider's page font
            page = ctx.new_page()
            page.goto(f"{base}/console/signin?next=/console/inbox")
            button = page.locator("#sso-signin")
            assert button.inner_text() == "使用城市一体化平台账号登录"
            button.click()
            page.wait_for_url(f"{ctx_issuer(system)}/interaction/**")
            page.fill("input[name=login]", "chen.audit")
            page.fill("input[name=password]", "any")
            page.click("button[type=submit]")
            page.locator("input[name=prompt][value=consent]").wait_for(state="attached")
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/console/inbox")
            assert page.locator(".userbox .who").inner_text() == "陈审计"
            cookie = next(c["value"] for c in ctx.cookies() if c["name"] == "lc_session")

            page.click("#signout")
            page.wait_for_url(f"{ctx_issuer(system)}/session/end**")  # the provider asks to confirm
            page.click("button[name=logout][value=yes]")
            page.wait_for_url(f"{base}/console/signin**")
            assert page.locator("#sso-signin").is_visible()

            replay = requests.get(f"{base}/api/v1/session", cookies={"lc_session": cookie}, timeout=10)
            assert replay.status_code == 401
            page.click("#sso-signin")  # the provider's session ended too: it asks who you are again
            page.wait_for_url(f"{ctx_issuer(system)}/interaction/**")
            assert page.locator("input[name=login]").is_visible()
        finally:
            chromium.close()
    with system.sessions() as db:
        ended = db.scalars(select(UserSession.end_reason).join(User, User.id == UserSession.user_id)
                           .where(User.username == "chen.audit")).all()
        assert ended == ["sign_out"]


def ctx_issuer(system: System) -> str:
    assert system.settings.sso is not None
    return system.settings.sso.issuer


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_id_tokens_are_checked_for_signature_issuer_audience_and_nonce(app: tuple[System, str]) -> None:
    """The checks the callback hands to Authlib, on an ID token the provider really issued: each
    altered expectation, and an altered signature, is refused."""
    system, base = app
    assert through_provider(browser_session(), f"{base}/sso/signin", "zhang.new").status_code == 302
    with system.sessions() as db:
        id_token = db.scalars(select(SsoSession.id_token)).one()
    nonce = json.loads(base64.urlsafe_b64decode(id_token.split(".")[1] + "==="))["nonce"]
    config = system.settings.sso
    assert config is not None
    header, payload, signature = id_token.split(".")
    middle = len(signature) // 2
    other = "A" if signature[middle] != "A" else "B"
    forged = f"{header}.{payload}.{signature[:middle]}{other}{signature[middle + 1:]}"
    with create_app(system).test_request_context():
        provider = sso_client.provider()

        def check(token: str, nonce: str, expected: SsoConfig) -> Any:
            checks = sso_client.id_token_checks(expected)
            return provider.parse_id_token({"id_token": token}, nonce, claims_options=checks)

        assert check(id_token, nonce, config)["sub"] == "zhang.new"
        for token, given_nonce, expected in [
            (forged, nonce, config),
            (id_token, "another-nonce", config),
            (id_token, nonce, replace(config, client_id="another-client")),
            (id_token, nonce, replace(config, issuer="http://127.0.0.1:1")),
        ]:
            with pytest.raises(JoseError):
                check(token, given_nonce, expected)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    "hostile",
    [
        "//evil.example/x",
        "https://evil.example/console/",
        "/\\evil.example",
        "/%2F%2Fevil.example",
        "javascript:alert(1)",
    ],
)
def test_the_return_address_after_sso_is_only_a_console_path(app: tuple[System, str], hostile: str) -> None:
    """An open redirect through /sso/signin?next=: whatever is sent, the browser lands on our console."""
    _system, base = app
    page = through_provider(browser_session(), f"{base}/sso/signin?next={requests.utils.quote(hostile)}", "zhang.new")
    assert page.status_code == 302
    location = page.headers["Location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\")) and "evil" not in location, location


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_callback_used_twice_or_without_a_sign_in_starts_nothing(app: tuple[System, str]) -> None:
    """State reuse: the same code and state replayed in the browser that used them, after it signed
    out; and a bare callback no sign-in started. Neither starts a session."""
    system, base = app
    http = browser_session()
    answer = callback_url(http, f"{base}/sso/signin", "zhang.new")
    assert http.get(answer, timeout=30, allow_redirects=False).headers["Location"] != "/console/signin"
    me = http.get(f"{base}/api/v1/session", timeout=10).json()
    http.delete(f"{base}/api/v1/session", headers={"X-CSRF-Token": me["csrf_token"]}, timeout=10)
    assert http.get(f"{base}/api/v1/session", timeout=10).status_code == 401
    again = http.get(answer, timeout=30, allow_redirects=False)
    assert again.status_code == 302 and again.headers["Location"] == "/console/signin"
    assert http.get(f"{base}/api/v1/session", timeout=10).status_code == 401
    for bare in ("/sso/callback", "/sso/callback?code=abc&state=xyz", "/sso/callback?error=access_denied"):
        stranger = browser_session()
        r = stranger.get(f"{base}{bare}", timeout=30, allow_redirects=False)
        assert r.status_code == 302 and r.headers["Location"] == "/console/signin", (bare, r.status_code)
        assert "lc_session" not in stranger.cookies
    with system.sessions() as db:
        assert db.scalar(select(func.count(UserSession.id))) == 1


_XSRF = re.compile(
    r'<form id="op.logoutForm" method="post" action="([^"]+)">'
    r'<input type="hidden" name="xsrf" value="([^"]+)"'
)


def end_at_provider(http: requests.Session, issuer: str) -> None:
    """Sign out at the provider itself (its end-session page, then "Yes, sign me out"), as someone
    does at the city platform's own page; the provider POSTs its logout tokens before it answers."""
    page = http.get(f"{issuer}/session/end", timeout=30)
    form = _XSRF.search(page.text)
    assert form is not None, page.text[:500]
    done = http.post(urljoin(page.url, form.group(1)), data={"xsrf": form.group(2), "logout": "yes"}, timeout=30,
                     allow_redirects=False)  # fmt: skip
    assert done.status_code in (200, 302, 303), done.text[:300]


def test_signing_out_at_the_platform_ends_our_session(app: tuple[System, str], provider: OidcProvider) -> None:
    """Back-channel logout with the real provider: its logout token (with the sid of the ID token
    we kept) ends the session it names, not the person's other one started elsewhere; the next
    API call is 401, the console sends the browser to its sign-in page; one admin audit entry."""
    system, base = app
    http, other_browser = browser_session(), browser_session()
    for browser in (http, other_browser):
        assert through_provider(browser, f"{base}/sso/signin", "zhang.new").status_code == 302
        assert browser.get(f"{base}/api/v1/session", timeout=10).status_code == 200
    with system.sessions() as db:
        sids = db.scalars(select(SsoSession.sid).order_by(SsoSession.session_id)).all()
    assert len(sids) == 2 and all(sids) and sids[0] != sids[1]  # the provider's sid, one per browser

    end_at_provider(http, provider.issuer)

    assert http.get(f"{base}/api/v1/session", timeout=10).status_code == 401
    console = http.get(f"{base}/console/cases", timeout=10, allow_redirects=False)
    assert console.status_code in (302, 303) and "/console/signin" in console.headers["Location"]
    assert other_browser.get(f"{base}/api/v1/session", timeout=10).status_code == 200  # another sid
    with system.sessions() as db:
        rows = db.execute(select(UserSession.id, UserSession.end_reason, SsoSession.sid)
                          .join(SsoSession, SsoSession.session_id == UserSession.id)
                          .order_by(UserSession.id)).all()  # fmt: skip
        assert [(reason, sid) for _id, reason, sid in rows] == [("provider_logout", sids[0]), (None, sids[1])]
        entries = db.scalars(select(AdminAuditEntry).where(AdminAuditEntry.kind == "session.provider_logout")).all()
        assert len(entries) == 1
        assert entries[0].actor == "sso-provider" and entries[0].payload["changes"]["sessions_ended"] == [rows[0][0]]
        assert entries[0].payload["target"]["subject"] == "zhang.new"
        assert entries[0].payload["target"]["sid"] == sids[0]
        assert db.scalar(select(func.count()).select_from(SeenLogoutToken)) == 1
