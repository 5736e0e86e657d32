"""Who verified claims from the city platform sign in (registry/accounts/identities.py), on SQLite
and PostgreSQL; and the SSO file's checks (infra/sso.py). The protocol itself runs against a real
provider in tests/connectors/test_sso.py."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from infra.clock import SimulatedClock
from infra.sso import SsoConfig, SsoConfigError, parse_sso
from processes.system import System
from registry.accounts import identities, sessions
from registry.accounts.models import UserSession
from registry.models import User
from web.app import create_app

ISSUER = "https://sso.city.example"


def config(**users: Any) -> SsoConfig:
    return parse_sso({
        "provider": {"issuer": ISSUER + "/", "client_id": "liftcase", "name_zh": "城市平台", "name_en": "City"},
        "roles": {"city.regulator": ["regulator"], "city.dispatcher": ["dispatcher"]},
        "organisations": {"TC": "REG-511702"},
        "users": users,
    })  # fmt: skip


def claims(sub: str, **more: Any) -> dict[str, Any]:
    return {"sub": sub, "org_code": "TC", "roles": ["city.regulator"], **more}


def resolve(system: System, cfg: SsoConfig, given: dict[str, Any], clock: SimulatedClock) -> identities.Resolved:
    with system.sessions() as db, db.begin():
        resolved = identities.resolve(db, cfg, ISSUER, given, now=clock.now())
        db.expunge_all()
        return resolved


def test_refusals_say_why_and_create_nothing(system: System, clock: SimulatedClock) -> None:
    cfg = config()
    assert cfg.issuer == ISSUER  # a trailing slash in the file does not make another issuer
    cases = [
        (claims("a", roles="city.unknown other"), "no_role", "city.unknown other"),
        (claims("b", org_code=None), "no_organisation", "org_code"),
        (claims("c", org_code="ELSEWHERE"), "unknown_organisation", "ELSEWHERE"),
    ]
    for given, refusal, detail in cases:
        resolved = resolve(system, cfg, given, clock)
        assert (resolved.user, resolved.refusal, resolved.detail) == (None, refusal, detail)
    assert resolve(system, config(provision=False), claims("d"), clock).refusal == "not_provisioned"
    with system.sessions() as db:
        assert db.scalar(select(User).where(User.username.in_(["a", "b", "c", "d", "sso-a"]))) is None


def test_matching_by_email_linking_once_and_roles_following_the_platform(system: System, clock: SimulatedClock
                                                                          ) -> None:
    cfg = config(match_existing_by="email")
    with system.sessions() as db, db.begin():
        seeded = db.scalar(select(User).where(User.username == "regulator"))
        assert seeded is not None and seeded.email
        seeded_id, email = seeded.id, seeded.email
        _, token = sessions.start(db, seeded, now=clock.now())  # a session from before, with the old roles
    resolved = resolve(system, cfg, claims("reg-1", email=email.upper(), roles=["city.dispatcher"]), clock)
    assert resolved.user is not None and resolved.user.id == seeded_id and not resolved.created
    with system.sessions() as db:
        user = db.get(User, seeded_id)
        assert user is not None and user.roles == ["dispatcher"]
        ended = db.scalar(select(UserSession).where(UserSession.token_hash == sessions.digest(token)))
        assert ended is not None and ended.end_reason == "roles_changed"  # the old rights do not live on
    # another subject of the same platform with the same e-mail: the account is someone else's already
    again = resolve(system, cfg, claims("reg-2", email=email), clock)
    assert (again.user, again.refusal) == (None, "linked_elsewhere")
    # the linked subject is found by the link, whatever its e-mail now says
    assert resolve(system, cfg, claims("reg-1", email="moved@elsewhere"), clock).user.id == seeded_id  # type: ignore[union-attr]


def test_a_new_name_that_is_taken_gets_a_free_one_and_a_deactivated_user_is_refused(
    system: System, clock: SimulatedClock
) -> None:
    cfg = config(match_existing_by="none")
    made = resolve(system, cfg, claims("x-1", preferred_username="dispatcher", name="新调度"), clock)
    assert made.created and made.user is not None and made.user.username == "dispatcher.2"
    with system.sessions() as db, db.begin():
        user = db.get(User, made.user.id)
        assert user is not None
        user.active = False
    assert resolve(system, cfg, claims("x-1"), clock).refusal == "deactivated"


@pytest.mark.parametrize("raw, message", [
    ({}, "[provider] table missing"),
    ({"provider": {"issuer": "https://x", "client_id": "c", "name_zh": "甲"}}, "[provider] name_en missing"),
    ({"provider": {"issuer": "https://x", "client_id": "c", "name_zh": "甲", "name_en": "A", "scopes": ["profile"]}},
     "scopes must include openid"),
    ({"provider": {"issuer": "https://x", "client_id": "c", "name_zh": "甲", "name_en": "A"},
      "users": {"match_existing_by": "phone"}}, "match_existing_by must be one of"),
    ({"provider": {"issuer": "https://x", "client_id": "c", "name_zh": "甲", "name_en": "A"},
      "claims": {"organization": "org"}}, "unknown keys organization"),
])  # fmt: skip
def test_the_sso_file_is_checked(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(SsoConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_sso(raw)


def test_roles_the_map_names_must_exist() -> None:
    cfg = parse_sso({
        "provider": {"issuer": "https://x", "client_id": "c", "name_zh": "甲", "name_en": "A"},
        "roles": {"city.boss": ["regulator", "superuser"]},
    })  # fmt: skip
    assert identities.unknown_roles(cfg) == {"superuser"}


def test_without_the_sso_file_there_is_no_single_sign_on(sqlite_system: System) -> None:
    http = create_app(sqlite_system).test_client()
    assert http.get("/api/v1/session/sso").get_json()["enabled"] is False
    assert http.get("/sso/signin").status_code == 404
    assert http.get("/sso/callback?code=x&state=y").status_code == 404
    assert 'id="sso-signin"' not in http.get("/console/signin").get_data(as_text=True)
