"""Notification delivery throughput against the bare HTTP POSTs it makes, measured in the same run.

liftcase: `deliver_notifications` on N queued SMS notices, one worker: claim (conditional UPDATE and
lease), compose, signed POST to a local gateway, record the attempt (row, notice status, hash-chained
timeline event), one notice after another. Raw: the same N signed POSTs to the same gateway with no
database. Also: the inbox step (`send_notifications`) on N inbox notices in one job, with the fan-out
to the recipients' channels (rows queued, not sent).

The gateway is a local HTTP server in this process; `--latency-ms` makes it answer like a remote one
(liftcase overlaps up to PARALLEL_SENDS sends, the raw baseline posts one after another).

Usage: python bench/notify.py [--notices 500] [--db postgres|sqlite] [--latency-ms 0]
Last line: deliver_per_s=… raw_post_per_s=… deliver_ratio=… inbox_per_s=… fanned_out=…
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlalchemy import create_engine, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG = os.environ.get("LIFTCASE_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECRET = "bench-secret"


def _gateway(latency_s: float) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if latency_s:
                time.sleep(latency_s)  # a real gateway's round trip
            body = b'{"errcode":0}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # the default 5 drops concurrent connects (a 1 s SYN retry each)

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/sms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notices", type=int, default=500)
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="the gateway's answer delay")
    args = parser.parse_args()

    import connectors.notify.jobs as jobs
    from connectors.notify.base import OutboundMessage
    from connectors.notify.flows import PARALLEL_SENDS
    from connectors.notify.gateway import HttpGateway
    from demo.seed import seed_city
    from engine.models import Notification
    from infra.clock import SimulatedClock
    from infra.settings import Settings
    from liftcase.bootstrap import build_system, create_schema
    from processes.intake import open_or_join
    from registry.models import User

    server, url = _gateway(args.latency_ms / 1000)
    admin = None
    if args.db == "postgres":
        name = f"liftcase_bench_notify_{uuid.uuid4().hex[:6]}"
        admin = create_engine(PG, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        db_url = PG.rsplit("/", 1)[0] + f"/{name}"
    else:
        db_url = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    try:
        clock = SimulatedClock(datetime(2026, 11, 23, 1, 30, tzinfo=UTC))
        system = build_system(
            Settings(database_url=db_url, sms_gateway_url=url, gateway_secret=SECRET), clock=clock
        )
        create_schema(system)
        with system.sessions() as session, session.begin():
            seed_city(session, elevators=100, devices=0, clock_now=clock.now())
        system.deploy_processes()
        with system.sessions() as session:
            elevator_id = session.scalar(text("SELECT id FROM elevators ORDER BY id LIMIT 1"))
            users = session.execute(select(User.id, User.organisation_id).where(User.on_call.is_(True))).all()
        case_id = open_or_join(system.engine, system.settings.sla_file, "rescue", elevator_id=elevator_id,
                               signal={"source": "qr"}).case_id
        n = args.notices

        def rows(channel: str, tag: str) -> list[dict]:
            return [
                {"case_id": case_id, "role": "maintenance", "organisation_id": users[i % len(users)][1],
                 "user_id": users[i % len(users)][0], "channel": channel, "subject": f"[bench] notice {i}",
                 "body": "trapped passenger", "dedupe_key": f"bench:{tag}:{i}:{channel}", "status": "queued",
                 "attempts": 0, "created_at": clock.now()}
                for i in range(n)
            ]

        with system.sessions() as session, session.begin():
            sms_ids = list(session.scalars(insert(Notification).returning(Notification.id), rows("sms", "d")))
            inbox_ids = list(session.scalars(insert(Notification).returning(Notification.id), rows("inbox", "i")))

        channels = jobs.channels(system)
        started = time.perf_counter()
        delivered = jobs.flows.deliver(system, sms_ids, channels)
        deliver_s = time.perf_counter() - started
        assert sum(a.ok for a in delivered) == n, "every notice should be delivered"

        raw = HttpGateway("sms", url, SECRET, flavour="sms")
        started = time.perf_counter()
        for i in range(n):
            raw.send(OutboundMessage(i, f"raw:{i}", "13800000000", f"[bench] notice {i}", "trapped passenger",
                                     "JY-1", "P1", clock.now()))
        raw_s = time.perf_counter() - started

        system.jobs.enqueue = lambda *a: None  # measure the inbox step alone, not the fan-out's sends
        started = time.perf_counter()
        result = jobs.flows.deliver_to_inbox(system, inbox_ids, set(channels))
        inbox_s = time.perf_counter() - started
        assert len(result.delivered) == n
        system.db.dispose()
        print(f"notices={n} db={args.db} gateway_latency_ms={args.latency_ms:g} parallel_sends={PARALLEL_SENDS}")
        print(
            f"deliver_per_s={n / deliver_s:.0f} raw_post_per_s={n / raw_s:.0f} "
            f"deliver_ratio={(n / deliver_s) / (n / raw_s):.2f} inbox_per_s={n / inbox_s:.0f} "
            f"fanned_out={len(result.outbound)}"
        )
    finally:
        server.shutdown()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
