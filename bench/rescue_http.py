"""A whole rescue case over the HTTP API, 8 client threads, PostgreSQL (DESIGN's bar: ≥ 64 cases/s).

Each case: the 96933 seat opens it (`POST /api/v1/cases`), then four user tasks are completed
through the API — verify and dispatch (dispatcher), accept, arrival, release (the elevator's
maintenance technician) — each found through `GET /api/v1/tasks?case_id=…`. Clients use
personal API tokens, as an integration would. Served by gunicorn as deployed (bench/api.py's
setup). Baseline in the same run: the same five steps in-process through the engine, no HTTP.

Usage: python bench/rescue_http.py [--seconds 30] [--threads 8] [--workers 5]
Last line: http_cases_per_s=… inprocess_cases_per_s=… ratio=… errors=…
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import httpx
from served import fresh_database, served
from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "bench"))  # after the project: bench/engine.py must not shadow engine/

PG = os.environ.get("LIFTCASE_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("LIFTCASE_BENCH_REDIS", "redis://127.0.0.1:6379/6")
STEPS = [
    ("verify_dispatch", "dispatcher", {"outcome": "dispatch", "trapped_count": 1}),
    ("accept_order", "tech", {"eta_minutes": 15}),
    ("report_arrival", "tech", {"on_site": True}),
    ("report_release", "tech", {"released_count": 1, "method": "leveling_and_open"}),
]


def prepare(url: str):  # type: ignore[no-untyped-def]
    """The demo city; a token for the 96933 seat and one for the on-call technician of every unit."""
    from demo.seed import seed_city
    from infra.settings import Settings
    from liftcase.bootstrap import build_system, create_schema
    from registry.accounts.service import create_token
    from registry.models import Elevator, User

    system = build_system(Settings(database_url=url, redis_url=REDIS))
    create_schema(system)
    with system.sessions() as session, session.begin():
        seed_city(session, clock_now=system.clock.now())
    system.deploy_processes()
    now = system.clock.now()
    with system.sessions() as session, session.begin():
        dispatcher = session.scalar(select(User).where(User.username == "dispatcher"))
        _, dispatcher_token = create_token(session, dispatcher, "bench", now=now)
        tokens: dict[int, str] = {}
        # the unit's on-call technician: the one its rescue tasks are assigned to
        for user in session.scalars(select(User).where(User.on_call.is_(True))):
            if "maintenance" in user.roles:
                tokens[user.organisation_id] = create_token(session, user, "bench", now=now)[1]
        lifts = [
            (eid, unit)
            for eid, unit in session.execute(select(Elevator.id, Elevator.maintenance_unit_id).order_by(Elevator.id))
            if unit in tokens
        ]
    return system, dispatcher_token, tokens, lifts


def http_case(http: httpx.Client, tokens: dict[str, str], elevator_id: int) -> None:
    auth = {role: {"Authorization": f"Bearer {t}"} for role, t in tokens.items()}
    r = http.post("/api/v1/cases", json={"type": "rescue", "elevator_id": elevator_id}, headers=auth["dispatcher"])
    r.raise_for_status()
    case_id = r.json()["case_id"]
    for bpmn_id, role, data in STEPS:
        tasks = http.get("/api/v1/tasks", params={"scope": "mine", "case_id": case_id}, headers=auth[role])
        tasks.raise_for_status()
        task = next(t for t in tasks.json() if t["bpmn_id"] == bpmn_id)
        done = http.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data}, headers=auth[role])
        done.raise_for_status()


def inprocess_case(system, elevator_id: int) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import select as sel

    from engine.models import CaseTask, TaskStatus
    from processes.intake import open_or_join

    case_id = open_or_join(
        system.engine, system.settings.sla_file, "rescue", elevator_id=elevator_id, signal={"source": "phone"}
    ).case_id
    for bpmn_id, _role, data in STEPS:
        with system.sessions() as s:
            task_id = s.scalar(
                sel(CaseTask.id).where(
                    CaseTask.case_id == case_id, CaseTask.bpmn_id == bpmn_id, CaseTask.status == TaskStatus.OPEN
                )
            )
        system.engine.complete_task(task_id, data, actor="bench")


def run_threads(threads: int, seconds: float, work, pool: list) -> tuple[int, int, float]:  # type: ignore[no-untyped-def]
    lock = threading.Lock()
    done, errors = [0], [0]
    deadline = time.monotonic() + seconds

    def loop() -> None:
        while time.monotonic() < deadline:
            with lock:
                if not pool:
                    return
                item = pool.pop()
            try:
                work(item)
                with lock:
                    done[0] += 1
            except Exception as err:
                with lock:
                    errors[0] += 1
                    if errors[0] <= 5:
                        print(f"error: {type(err).__name__}: {err}", file=sys.stderr)

    started = time.perf_counter()
    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return done[0], errors[0], time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--workers", type=int, default=5)
    args = parser.parse_args()
    with fresh_database(PG, "rescue") as url:
        system, dispatcher_token, unit_tokens, lifts = prepare(url)
        half = len(lifts) // 2
        inproc_pool = [e for e, _ in lifts[:half]]
        http_pool = lifts[half:]
        with served(url, REDIS, args.workers) as (base, _pid):
            client = httpx.Client(base_url=base, timeout=30, limits=httpx.Limits(max_connections=args.threads * 2))
            n_http, err_http, t_http = run_threads(
                args.threads,
                args.seconds,
                lambda item: http_case(client, {"dispatcher": dispatcher_token, "tech": unit_tokens[item[1]]}, item[0]),
                http_pool,
            )
        n_in, err_in, t_in = run_threads(args.threads, args.seconds, lambda e: inprocess_case(system, e), inproc_pool)
        system.db.dispose()
    http_rate, in_rate = n_http / t_http, n_in / t_in
    print(
        f"http: {n_http} cases in {t_http:.1f}s; in-process: {n_in} cases in {t_in:.1f}s; "
        f"load average {os.getloadavg()[0]:.1f}",
        file=sys.stderr,
    )
    print(
        f"http_cases_per_s={http_rate:.1f} inprocess_cases_per_s={in_rate:.1f} "
        f"ratio={http_rate / in_rate:.2f} errors={err_http + err_in}"
    )


if __name__ == "__main__":
    main()
