"""QR public pages: facts in Chinese and English, rescue calls and complaints becoming cases,
repeats joining, the tracking page, signed forms, rate limits."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from connectors.qr import formtoken
from connectors.qr.limits import Limit
from demo.scenarios import complete
from engine.models import Case
from infra.clock import SimulatedClock
from processes.models import CaseComment
from processes.system import System
from registry.models import Elevator, Organisation
from tests.support.api_client import app_for
from tests.support.helpers import kinds
from tests.support.services import REDIS_URL, need_service
from tests.support.system import make_system

QR_REDIS = REDIS_URL.rsplit("/", 1)[0] + "/10"


@pytest.fixture
def qr_system(sqlite_url: str, clock: SimulatedClock) -> Iterator[System]:
    system = make_system(sqlite_url, clock, elevators=30)
    yield system
    system.db.dispose()


@pytest.fixture
def app(qr_system: System) -> Flask:
    return app_for(qr_system)


def an_elevator(system: System, index: int = 0) -> Elevator:
    with system.sessions() as session:
        return session.scalars(select(Elevator).order_by(Elevator.id)).all()[index]


def form_token(client: FlaskClient, code: str) -> str:
    html = client.get(f"/r/{code}").get_data(as_text=True)
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


def call(client: FlaskClient, code: str, environ_base: dict[str, str] | None = None, **fields: Any) -> Any:
    data = {"form_token": form_token(client, code), **fields}
    return client.post(f"/r/{code}/rescue", data=data, environ_base=environ_base or {})


def case_count(system: System, case_type: str) -> int:
    with system.sessions() as session:
        return session.scalar(select(func.count()).select_from(Case).where(Case.case_type == case_type))


def test_page_shows_the_elevators_facts_in_chinese_by_default(qr_system: System, app: Flask) -> None:
    e = an_elevator(qr_system)
    with qr_system.sessions() as session:
        use = session.get(Organisation, e.use_unit_id)
        maint = session.get(Organisation, e.maintenance_unit_id)
    r = app.test_client().get(f"/r/{e.qr_code}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert '<html lang="zh-CN">' in html
    for fact in (e.register_code, e.address, use.name, maint.name, "一键救援", "注册代码", "维保单位", "投诉举报"):
        assert fact in html, fact
    assert f'href="tel:{maint.phone}"' in html
    assert 'href="tel:96933"' in html
    assert str(e.next_inspection_due) in html
    assert e.last_maintenance_at.strftime("%Y-") in html
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["Referrer-Policy"] == "no-referrer"


def test_page_in_english_with_the_lang_switch(qr_system: System, app: Flask) -> None:
    e = an_elevator(qr_system)
    client = app.test_client()
    r = client.get(f"/r/{e.qr_code}?lang=en")
    html = r.get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "One-tap rescue" in html and "Register code" in html and "Maintenance unit" in html
    assert "一键救援" not in html
    assert e.register_code in html
    # remembered: the next page is English without the parameter
    assert "One-tap rescue" in client.get(f"/r/{e.qr_code}").get_data(as_text=True)


def test_unknown_code_is_a_404_page_with_the_hotline(app: Flask) -> None:
    r = app.test_client().get("/r/NOSUCHCODE")
    assert r.status_code == 404
    assert "tel:96933" in r.get_data(as_text=True)


@pytest.fixture
def any_system(db_url: str, clock: SimulatedClock) -> Iterator[System]:
    """SQLite and the real PostgreSQL."""
    system = make_system(db_url, clock, elevators=30)
    yield system
    system.db.dispose()


def test_rescue_call_opens_a_p1_case_and_the_tracking_page_follows_it(any_system: System) -> None:
    qr_system, app = any_system, app_for(any_system)
    e = an_elevator(qr_system)
    client = app.test_client()
    r = call(client, e.qr_code, phone="13800138000", trapped_count="2", note="卡在 5 楼")
    assert r.status_code == 303
    link = r.headers["Location"]
    token = re.match(r"/r/t/([\w-]+)\?new=1$", link).group(1)
    assert len(token) >= 24
    with qr_system.sessions() as session:
        case = session.scalars(select(Case).where(Case.case_type == "rescue")).one()
        assert (case.elevator_id, case.priority) == (e.id, "P1")
        assert case.variables["trapped_count"] == 2 and case.variables["reporter_phone"] == "13800138000"
        case_id, number = case.id, case.number
    page = client.get(link)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert '<meta http-equiv="refresh" content="30">' in html  # follows the case while it is open
    assert number in html and "救援进度" in html and "已报警" in html
    assert "13800138000" not in html and "5 楼" not in html  # no personal data on the progress page
    assert html.count('class="done"') == 1
    with qr_system.sessions() as session:
        note = session.scalars(select(CaseComment).where(CaseComment.case_id == case_id)).one()
    assert note.body.endswith("卡在 5 楼") and note.author == "qr-caller"
    assert kinds(qr_system, case_id, "comment_added")[0]["body"] == "卡在 5 楼"

    complete(
        qr_system,
        case_id,
        "verify_dispatch",
        {"outcome": "dispatch", "trapped_count": 2, "injured": False},
        "dispatcher",
    )
    html = client.get(f"/r/t/{token}").get_data(as_text=True)
    assert html.count('class="done"') == 2
    assert re.search(r'<li class="done">已派遣救援\s*<div class="muted">\d{4}-\d\d-\d\d \d\d:\d\d', html)


def test_a_repeat_call_joins_the_open_case_with_a_link_of_its_own(qr_system: System, app: Flask) -> None:
    e = an_elevator(qr_system)
    first = call(app.test_client(), e.qr_code)
    second = call(app.test_client(), e.qr_code, trapped_count="3")
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] != second.headers["Location"]
    assert case_count(qr_system, "rescue") == 1
    with qr_system.sessions() as session:
        case_id = session.scalar(select(Case.id).where(Case.case_type == "rescue"))
    joined = kinds(qr_system, case_id, "signal_joined")
    assert len(joined) == 1 and joined[0]["signal"]["trapped_count"] == 3
    # both links show the same case
    client = app.test_client()
    a = client.get(first.headers["Location"]).get_data(as_text=True)
    b = client.get(second.headers["Location"]).get_data(as_text=True)
    number = re.search(r"JY-\d{8}-\d{4}", a).group(0)
    assert number in b


def test_a_double_submitted_form_is_one_signal(qr_system: System, app: Flask) -> None:
    e = an_elevator(qr_system)
    client = app.test_client()
    token = form_token(client, e.qr_code)
    for _ in range(2):
        assert client.post(f"/r/{e.qr_code}/rescue", data={"form_token": token}).status_code == 303
    with qr_system.sessions() as session:
        case_id = session.scalar(select(Case.id).where(Case.case_type == "rescue"))
    assert case_count(qr_system, "rescue") == 1
    assert kinds(qr_system, case_id, "signal_joined") == []


def test_complaint_opens_a_complaint_case(qr_system: System, app: Flask) -> None:
    e = an_elevator(qr_system)
    client = app.test_client()
    data = {"form_token": form_token(client, e.qr_code), "category": "noise_or_shaking", "text": "运行时异响很大"}
    r = client.post(f"/r/{e.qr_code}/complaint", data=data)
    assert r.status_code == 303
    with qr_system.sessions() as session:
        case = session.scalars(select(Case).where(Case.case_type == "complaint")).one()
        assert case.variables["category"] == "noise_or_shaking" and case.priority == "P3"
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "投诉进度" in html and case.number in html and "异响" not in html


def test_complaint_without_text_is_refused_per_field(qr_system: System, app: Flask) -> None:
    e = an_elevator(qr_system)
    client = app.test_client()
    r = client.post(f"/r/{e.qr_code}/complaint", data={"form_token": form_token(client, e.qr_code), "text": ""})
    assert r.status_code == 422
    assert "请描述问题" in r.get_data(as_text=True)
    assert case_count(qr_system, "complaint") == 0


def test_forged_stale_or_foreign_form_tokens_file_nothing(qr_system: System, app: Flask, clock: SimulatedClock) -> None:
    e, other = an_elevator(qr_system, 0), an_elevator(qr_system, 1)
    client = app.test_client()
    secret = qr_system.settings.secret_key
    forged = formtoken.issue("not-the-secret", e.qr_code, clock.now())
    foreign = formtoken.issue(secret, other.qr_code, clock.now())
    stale = formtoken.issue(secret, e.qr_code, clock.now() - formtoken_age())
    for token in ("", "garbage", forged, foreign, stale):
        r = client.post(f"/r/{e.qr_code}/rescue", data={"form_token": token})
        assert r.status_code == 400, token
        assert "表单已过期" in r.get_data(as_text=True)
    bad_phone = client.post(f"/r/{e.qr_code}/rescue", data={"form_token": form_token(client, e.qr_code), "phone": "x"})
    assert bad_phone.status_code == 422
    assert case_count(qr_system, "rescue") == 0


def formtoken_age():  # type: ignore[no-untyped-def]
    from datetime import timedelta

    return timedelta(seconds=formtoken.MAX_AGE_SECONDS + 60)


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_rate_limits_per_client_and_per_elevator_answer_429(qr_system: System, app: Flask, backend: str) -> None:
    if backend == "redis":
        need_service(6379, "Redis")
        from redis import Redis

        r = Redis.from_url(QR_REDIS)
        for key in r.scan_iter("liftcase:qr:rl:*"):
            r.delete(key)
        app.config["QR_RATE_LIMIT_REDIS_URL"] = QR_REDIS
    app.config["QR_RATE_LIMITS"] = {
        "post-ip": Limit("post-ip", 3, 600),
        "post-elevator": Limit("post-elevator", 5, 600),
    }
    e, other = an_elevator(qr_system, 0), an_elevator(qr_system, 1)
    client = app.test_client()
    ip = {"REMOTE_ADDR": "10.0.0.1"}
    for _ in range(3):
        assert call(client, e.qr_code, environ_base=ip).status_code == 303
    refused = call(client, e.qr_code, environ_base=ip)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    html = refused.get_data(as_text=True)
    assert "请求过于频繁" in html and "tel:96933" in html
    # the same address is refused at another elevator too; another address is not
    assert call(client, other.qr_code, environ_base=ip).status_code == 429
    assert call(client, e.qr_code, environ_base={"REMOTE_ADDR": "10.0.0.2"}).status_code == 303
    # per elevator: 5 posts that passed their client's limit (a refused client does not use up the
    # elevator's budget): 3 + 1 so far, so one more from a fresh address, then the elevator is closed
    statuses = [call(client, e.qr_code, environ_base={"REMOTE_ADDR": f"10.0.1.{i}"}).status_code for i in range(3)]
    assert statuses == [303, 429, 429]
    assert call(client, other.qr_code, environ_base={"REMOTE_ADDR": "10.0.2.1"}).status_code == 303
    assert case_count(qr_system, "rescue") == 2  # every accepted call joined its elevator's one case
