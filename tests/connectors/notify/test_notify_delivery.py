"""Notices reach each recipient's channels through a real local SMTP server (aiosmtpd) and a real
local HTTP gateway that checks our HMAC signature; failures are retried with backoff, every attempt
is on the case timeline, permanent failures end `failed` and stay visible, duplicates are suppressed."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import insert, select

from connectors.notify.flows import NOBODY, deliver_to_inbox
from connectors.notify.gateway import DEDUPE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from connectors.notify.jobs import deliver_notifications, retry_notifications, send_notifications
from connectors.notify.models import DeliveryAttempt, DeliveryDue
from demo.scenarios import an_elevator
from engine.models import Notification
from infra.clock import SimulatedClock
from infra.jobs import NOTIFY_P1, RqJobs, serve_jobs
from liftcase.bootstrap import JOBS, use_jobs
from processes.intake import open_or_join
from processes.system import System
from registry.models import Elevator, User
from tests.support.helpers import events, kinds
from tests.support.services import REDIS_URL, need_service
from tests.support.system import make_system

SECRET = "test-gateway-secret"


# --- a real SMTP server and a real HTTP gateway -----------------------------------------------


@dataclass
class Mailbox:
    messages: list[dict[str, Any]] = field(default_factory=list)
    reject_with: str | None = None  # e.g. "550 no such user": every RCPT is refused

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.reject_with:
            return self.reject_with
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from email import message_from_bytes, policy

        mail = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(
            {
                "to": envelope.rcpt_tos,
                "subject": mail["Subject"],
                "body": mail.get_content(),
                "dedupe": mail["X-Liftcase-Dedupe"],
            }
        )
        return "250 Message accepted"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    with socket.socket() as probe:  # a free port (the controller's readiness check needs a real one)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


@dataclass
class Gateway:
    requests: list[dict[str, Any]] = field(default_factory=list)
    fail_first: int = 0  # per notice (dedupe header): this many attempts answer `fail_status`
    fail_status: int = 500
    seen: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str, headers: Any, body: bytes) -> int:
        signed = verify(SECRET, headers.get(TIMESTAMP_HEADER, ""), body, headers.get(SIGNATURE_HEADER, ""))
        key = headers.get(DEDUPE_HEADER, "")
        with self.lock:
            self.seen[key] = self.seen.get(key, 0) + 1
            failing = self.seen[key] <= self.fail_first
            status = 401 if not signed else (self.fail_status if failing else 200)
            self.requests.append(
                {"path": path, "json": json.loads(body), "key": key, "signed": signed, "status": status}
            )
        return status


@pytest.fixture
def gateway() -> Iterator[tuple[Gateway, str]]:
    state = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = state.answer(self.path, self.headers, body)
            payload = b'{"errcode":0,"errmsg":"ok"}' if status == 200 else b'{"error":"try later"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 64  # the default 5 would drop some of the parallel sends' connects

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def notify_system(url: str, clock: SimulatedClock, smtp_port: int, gateway_url: str, **extra: Any) -> System:
    return make_system(
        url,
        clock,
        elevators=30,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_from="liftcase@example.com",
        sms_gateway_url=f"{gateway_url}/sms",
        im_webhook_url=f"{gateway_url}/im",
        im_flavour="wecom",
        gateway_secret=SECRET,
        notify_max_attempts=3,
        notify_backoff_seconds=30,
        notify_timeout_seconds=5,
        **extra,
    )


def open_rescue(system: System) -> int:
    return open_or_join(
        system.engine, system.settings.sla_file, "rescue", elevator_id=an_elevator(system), signal={"source": "qr"}
    ).case_id


def notices(system: System, case_id: int, channel: str | None = None) -> list[Notification]:
    with system.sessions() as session:
        stmt = select(Notification).where(Notification.case_id == case_id).order_by(Notification.id)
        if channel:
            stmt = stmt.where(Notification.channel == channel)
        return list(session.scalars(stmt))


def user(system: System, user_id: int) -> User:
    with system.sessions() as session:
        found = session.get(User, user_id)
        assert found is not None
        return found


def notify_regulator(system: System, case_id: int, key: str) -> int:
    """An inbox notice to a district regulator, as a BPMN escalation step would queue it."""
    with system.sessions() as session, session.begin():
        regulator = session.scalar(select(User).where(User.username == "regulator"))
        return session.scalar(
            insert(Notification).returning(Notification.id),
            {
                "case_id": case_id,
                "role": "district_regulator",
                "organisation_id": regulator.organisation_id,
                "user_id": regulator.id,
                "channel": "inbox",
                "subject": "[test] overdue",
                "body": "not on site",
                "dedupe_key": f"{key}:inbox",
                "status": "queued",
                "attempts": 0,
                "created_at": system.clock.now(),
            },
        )


# --- tests ----------------------------------------------------------------------------------


def test_a_rescue_reaches_each_recipient_on_their_channels(
    db_url: str, clock: SimulatedClock, smtp: tuple[Mailbox, int], gateway: tuple[Gateway, str]
) -> None:
    mailbox, port = smtp
    receiver, url = gateway
    system = notify_system(db_url, clock, port, url)
    case_id = open_rescue(system)

    inbox = notices(system, case_id, "inbox")
    assert inbox and {n.status for n in inbox} == {"sent"}
    assert {n.role for n in inbox} == {"maintenance", "property", "rescue_centre"}
    outbound = [n for n in notices(system, case_id) if n.channel != "inbox"]
    by_role = {(n.role, n.channel) for n in outbound}
    # P1 rescue: the on-call technician gets SMS and IM, the property SMS; the 96933 seat only its inbox.
    assert by_role == {("maintenance", "sms"), ("maintenance", "im"), ("property", "sms")}
    assert {n.status for n in outbound} == {"sent"} and all(n.attempts == 1 for n in outbound)
    for n in outbound:
        assert user(system, n.user_id).on_call or n.role != "maintenance"

    assert len(receiver.requests) == len(outbound) and all(r["signed"] for r in receiver.requests)
    sms = {r["json"]["to"] for r in receiver.requests if r["path"] == "/sms"}
    assert sms == {user(system, n.user_id).phone for n in outbound if n.channel == "sms"}
    im = [r["json"] for r in receiver.requests if r["path"] == "/im"]
    assert im[0]["msgtype"] == "text" and im[0]["text"]["mentioned_mobile_list"]
    assert mailbox.messages == []

    sent = kinds(system, case_id, "notification_sent")
    assert {e["channel"] for e in sent} == {"inbox", "sms", "im"}
    per_attempt = [e for e in sent if e["channel"] != "inbox"]
    assert sorted(e["notification"] for e in per_attempt) == sorted(n.id for n in outbound)
    system.db.dispose()


def test_a_regulator_reads_e_mail_through_smtp(
    sqlite_url: str, clock: SimulatedClock, smtp: tuple[Mailbox, int], gateway: tuple[Gateway, str]
) -> None:
    mailbox, port = smtp
    system = notify_system(sqlite_url, clock, port, gateway[1])
    case_id = open_rescue(system)
    nid = notify_regulator(system, case_id, "t1")
    assert send_notifications(system, [nid]) == 1

    email = notices(system, case_id, "email")
    regulator = user(system, email[0].user_id)
    assert [(n.role, n.status, n.attempts) for n in email] == [("district_regulator", "sent", 1)]
    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert message["to"] == [regulator.email] and message["subject"] == "[test] overdue"
    assert "not on site" in message["body"] and message["dedupe"] == email[0].dedupe_key
    assert [e["notification"] for e in kinds(system, case_id, "notification_sent") if e["channel"] == "email"] == [
        email[0].id
    ]
    system.db.dispose()


def test_failed_attempts_are_retried_with_backoff_and_each_is_on_the_timeline(
    db_url: str, clock: SimulatedClock, smtp: tuple[Mailbox, int], gateway: tuple[Gateway, str]
) -> None:
    receiver, url = gateway
    receiver.fail_first = 2  # each notice's first two attempts get HTTP 500, the third 200
    system = notify_system(db_url, clock, smtp[1], url)
    case_id = open_rescue(system)
    outbound = notices(system, case_id, "sms") + notices(system, case_id, "im")
    assert outbound and {(n.status, n.attempts) for n in outbound} == {("retrying", 1)}
    assert "HTTP 500" in (outbound[0].last_error or "")
    with system.sessions() as session:
        due = set(session.scalars(select(DeliveryDue.due_at)))
    assert due == {clock.now() + timedelta(seconds=30)}

    assert retry_notifications(system) == (0, 0)  # the backoff has not ended: nothing is attempted early
    clock.advance(timedelta(seconds=30))
    assert retry_notifications(system) == (0, len(outbound))
    assert {(n.status, n.attempts) for n in notices(system, case_id, "sms")} == {("retrying", 2)}
    with system.sessions() as session:
        assert set(session.scalars(select(DeliveryDue.due_at))) == {clock.now() + timedelta(seconds=60)}  # doubled
    clock.advance(timedelta(seconds=60))
    retry_notifications(system)

    final = notices(system, case_id, "sms") + notices(system, case_id, "im")
    assert {(n.status, n.attempts, n.last_error) for n in final} == {("sent", 3, None)}
    assert len(receiver.requests) == 3 * len(outbound)
    assert all(r["signed"] for r in receiver.requests)
    assert set(receiver.seen.values()) == {3}  # one dedupe key per notice, repeated on every retry
    failed = kinds(system, case_id, "notification_failed")
    assert sorted((e["notification"], e["attempt"]) for e in failed) == sorted(
        (n.id, a) for n in outbound for a in (1, 2)
    )
    assert all(e["final"] is False and e["retry_at"] and "500" in e["error"] for e in failed)
    sent = [e for e in kinds(system, case_id, "notification_sent") if e["channel"] != "inbox"]
    assert sorted((e["notification"], e["attempt"]) for e in sent) == sorted((n.id, 3) for n in outbound)
    with system.sessions() as session:
        attempts = session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)).all()
        assert len(attempts) == 3 * len(outbound) and sum(a.ok for a in attempts) == len(outbound)
        assert session.scalar(select(DeliveryDue.notification_id)) is None
    system.db.dispose()


def test_the_last_failed_attempt_leaves_the_notice_failed_with_its_error(
    sqlite_url: str, clock: SimulatedClock, smtp: tuple[Mailbox, int], gateway: tuple[Gateway, str]
) -> None:
    receiver, url = gateway
    receiver.fail_first = 99
    system = notify_system(sqlite_url, clock, smtp[1], url)
    case_id = open_rescue(system)
    for _ in range(2):
        clock.advance(timedelta(minutes=5))
        retry_notifications(system)
    clock.advance(timedelta(hours=1))
    assert retry_notifications(system) == (0, 0)  # max 3 attempts: nothing more is tried
    outbound = notices(system, case_id, "sms") + notices(system, case_id, "im")
    assert {(n.status, n.attempts) for n in outbound} == {("failed", 3)}
    assert all("HTTP 500" in (n.last_error or "") for n in outbound)
    finals = [e for e in kinds(system, case_id, "notification_failed") if e["final"]]
    assert sorted(e["notification"] for e in finals) == sorted(n.id for n in outbound)
    assert all(e["attempt"] == 3 and e["retry_at"] is None for e in finals)
    system.db.dispose()


def test_a_refusal_is_permanent_at_once(
    sqlite_url: str, clock: SimulatedClock, smtp: tuple[Mailbox, int], gateway: tuple[Gateway, str]
) -> None:
    """HTTP 4xx from the gateway and SMTP 5xx for the recipient cannot get better by retrying."""
    mailbox, port = smtp
    receiver, url = gateway
    receiver.fail_first, receiver.fail_status = 99, 400
    mailbox.reject_with = "550 5.1.1 no such mailbox"
    system = notify_system(sqlite_url, clock, port, url)
    case_id = open_rescue(system)
    send_notifications(system, [notify_regulator(system, case_id, "t2")])
    outbound = [n for n in notices(system, case_id) if n.channel != "inbox"]
    assert {n.channel for n in outbound} == {"sms", "im", "email"}
    assert {(n.status, n.attempts) for n in outbound} == {("failed", 1)}
    errors = {n.channel: n.last_error or "" for n in outbound}
    assert "HTTP 400" in errors["sms"] and "550" in errors["email"]
    with system.sessions() as session:
        assert session.scalar(select(DeliveryDue.notification_id)) is None
    system.db.dispose()


def test_duplicates_are_suppressed(
    sqlite_url: str, clock: SimulatedClock, smtp: tuple[Mailbox, int], gateway: tuple[Gateway, str]
) -> None:
    receiver, url = gateway
    system = notify_system(sqlite_url, clock, smtp[1], url)
    case_id = open_rescue(system)
    before = notices(system, case_id)
    inbox_ids = [n.id for n in before if n.channel == "inbox"]
    outbound_ids = [n.id for n in before if n.channel != "inbox"]
    requests = len(receiver.requests)

    assert send_notifications(system, inbox_ids) == 0  # a repeated job: already in the inbox
    assert deliver_notifications(system, outbound_ids) == 0  # already sent: not sent again
    with system.sessions() as session, session.begin():  # a job that died after the inbox step, re-run
        for n in session.scalars(select(Notification).where(Notification.id.in_(inbox_ids))):
            n.status = "queued"
    assert send_notifications(system, inbox_ids) == len(inbox_ids)
    after = notices(system, case_id)
    assert [(n.id, n.channel) for n in after] == [(n.id, n.channel) for n in before]  # no second sms/im row
    assert len(receiver.requests) == requests
    system.db.dispose()


def test_a_notice_nobody_can_receive_is_failed_not_dropped(
    sqlite_url: str, clock: SimulatedClock, smtp: tuple[Mailbox, int], gateway: tuple[Gateway, str]
) -> None:
    system = notify_system(sqlite_url, clock, smtp[1], gateway[1])
    case_id = open_rescue(system)
    with system.sessions() as session, session.begin():
        nid = session.scalar(
            insert(Notification).returning(Notification.id),
            {
                "case_id": case_id,
                "role": "city_regulator",
                "organisation_id": None,
                "user_id": None,
                "channel": "inbox",
                "subject": "x",
                "body": "",
                "dedupe_key": "nobody:inbox",
                "status": "queued",
                "attempts": 0,
                "created_at": clock.now(),
            },
        )
    send_notifications(system, [nid])
    [row] = [n for n in notices(system, case_id) if n.id == nid]
    assert row.status == "failed" and "nobody to tell" in (row.last_error or "")
    assert [e["notification"] for e in kinds(system, case_id, "notification_failed")] == [nid]
    system.db.dispose()


def test_one_inbox_job_over_several_cases_writes_each_case_its_entries(
    db_url: str, clock: SimulatedClock, smtp: tuple[Mailbox, int], gateway: tuple[Gateway, str]
) -> None:
    """One send over two rescues' notices (ids in no order) and one that reaches nobody: each notice
    is sent or failed once, and each case's timeline gets exactly its "sent" entry (its inbox notices
    and what every other channel queued, in id order) and a "failed" entry per unreachable notice."""
    system = notify_system(db_url, clock, smtp[1], gateway[1])
    held: list[Any] = []
    system.engine.notifications_queued = held.extend  # no job yet: the one send below takes them all
    with system.sessions() as session:
        lifts = session.scalars(select(Elevator.id).order_by(Elevator.id).limit(2)).all()
    first, second = (open_or_join(system.engine, system.settings.sla_file, "rescue", elevator_id=e,
                                  signal={"source": "qr"}).case_id for e in lifts)  # fmt: skip
    with system.sessions() as session, session.begin():
        nobody = session.scalar(insert(Notification).returning(Notification.id), {
            "case_id": first, "role": "city_regulator", "organisation_id": None, "user_id": None,
            "channel": "inbox", "subject": "x", "body": "", "dedupe_key": "nobody:inbox", "status": "queued",
            "attempts": 0, "created_at": clock.now()})  # fmt: skip
    ids = [i for batch in held for i in batch.ids] + [nobody]
    assert [b.priority for b in held] == ["P1", "P1"]
    clock.advance(timedelta(seconds=3))

    result = deliver_to_inbox(system, list(reversed(ids)), {"email", "sms", "im"})

    assert sorted(result.delivered) == result.delivered == sorted(set(ids) - {nobody})
    assert result.unaddressed == [nobody]
    inbox = [n for c in (first, second) for n in notices(system, c, "inbox")]
    assert {(n.status, n.attempts, n.sent_at) for n in inbox if n.id != nobody} == {("sent", 1, clock.now())}
    assert result.recipients == {n.user_id for n in inbox if n.id != nobody}
    [gone] = [n for n in inbox if n.id == nobody]
    assert (gone.status, gone.attempts, gone.sent_at, gone.last_error) == ("failed", 1, None, NOBODY)
    for case_id in (first, second):
        rows = notices(system, case_id)
        queued_on: dict[str, list[int]] = {}
        for n in rows:
            if n.channel != "inbox":
                queued_on.setdefault(n.channel, []).append(n.id)
        assert set(queued_on) == {"sms", "im"}  # a P1 rescue: the on-call technician's SMS and IM
        sent = [n.id for n in rows if n.channel == "inbox" and n.id != nobody]
        expected = [("notification_sent", {"channel": "inbox", "notifications": sent, "queued_on": queued_on})]
        if case_id == first:
            failed = {"notification": nobody, "channel": "inbox", "role": "city_regulator", "attempt": 1,
                      "final": True, "error": NOBODY}  # fmt: skip
            expected.append(("notification_failed", failed))
        entries = [(e.kind, e.payload) for e in events(system, case_id) if e.actor == "notifier"]
        assert entries == expected
        assert sorted(result.outbound) == result.outbound
        assert set(result.outbound) >= {i for group in queued_on.values() for i in group}
    system.db.dispose()


def test_a_lost_job_and_a_dead_worker_are_taken_up_by_the_sweep(
    sqlite_url: str, clock: SimulatedClock, smtp: tuple[Mailbox, int], gateway: tuple[Gateway, str]
) -> None:
    system = notify_system(sqlite_url, clock, smtp[1], gateway[1])
    case_id = open_rescue(system)
    regulator_notice = notify_regulator(system, case_id, "t3")  # queued; its job is never enqueued
    with system.sessions() as session, session.begin():  # a worker that died mid-attempt on an sms
        sms = session.scalars(select(Notification).where(Notification.channel == "sms")).first()
        sms.status, sms.attempts = "sending", 1
        session.add(DeliveryDue(notification_id=sms.id, due_at=clock.now() + timedelta(seconds=60)))
    assert retry_notifications(system) == (0, 0)
    clock.advance(timedelta(seconds=61))
    assert retry_notifications(system) == (1, 1)
    assert {n.status for n in notices(system, case_id)} == {"sent"}
    assert [n.attempts for n in notices(system, case_id) if n.id == sms.id] == [2]
    assert any(n.channel == "email" for n in notices(system, case_id)) and regulator_notice
    system.db.dispose()


def test_deployed_shape_rq_worker_sends_inbox_then_channels(
    sqlite_url: str, clock: SimulatedClock, smtp: tuple[Mailbox, int], gateway: tuple[Gateway, str]
) -> None:
    """On rq (real Redis): the engine enqueues the inbox job, which enqueues the channel job."""
    need_service(6379, "Redis")
    receiver, url = gateway
    connection = Redis.from_url(REDIS_URL)
    connection.flushdb()
    try:
        system = notify_system(sqlite_url, clock, smtp[1], url)
        use_jobs(system, RqJobs(REDIS_URL, JOBS))
        queue = Queue(NOTIFY_P1, connection=connection)  # a rescue's notices, and their channel sends
        case_id = open_rescue(system)
        assert queue.count == 1 and {n.status for n in notices(system, case_id)} == {"queued"}
        serve_jobs(JOBS, system)
        SimpleWorker([queue], connection=connection).work(burst=True)
        outbound = [n for n in notices(system, case_id) if n.channel != "inbox"]
        assert outbound and {n.status for n in notices(system, case_id)} == {"sent"}
        assert len(receiver.requests) == len(outbound) and all(r["signed"] for r in receiver.requests)
        system.db.dispose()
    finally:
        connection.flushdb()
