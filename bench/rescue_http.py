"""A whole rescue case over the HTTP API, 8 client threads, PostgreSQL (DESIGN's bar: ≥ 64 cases/s).

Each case is what a real client does: the 96933 seat opens it (`POST /api/v1/cases`), then four
user tasks are completed through the API — verify and dispatch (dispatcher), accept, arrival,
release (the elevator's maintenance technician). Each task is found the way a client finds it:
the `next_task` the previous answer carried (a start or a completion answers the caller's next
task on that case, when there is one), else the caller's task list (`GET /api/v1/tasks?case_id=…`).
Clients use personal API tokens, as an integration would. Served by gunicorn as deployed
(bench/api.py's setup). Baseline in the same run: the same five steps in-process through the
engine, no HTTP.

Besides the rates: the CPU the API processes (gunicorn's master and workers, from /proc) burnt
per whole case — steady on a machine shared with other work, where the rates are not — the HTTP
requests per case, and PostgreSQL's own counts of row writes and commits per case (every
process's: the API's and the rq worker's notification sends). On stderr: where the whole
machine's CPU per case went (API, this database's PostgreSQL backends, the rq worker, this
client, the rest), which says what a rate on this 2-core machine can reach at all.

Usage: python bench/rescue_http.py [--seconds 30] [--threads 8] [--workers N: one per core] [--server-threads 8]
       [--inprocess-seconds S] [--spread]
Last line: http_cases_per_s=… inprocess_cases_per_s=… ratio=… errors=… server_cpu_ms_per_case=…
requests_per_case=… row_writes_per_case=… commits_per_case=… raw_whole_rescue_cpu_ms=… server_cpu_ratio=…

raw_whole_rescue_cpu_ms is SpiffWorkflow alone stepping the same rescue (bench/raw_spiff.py: restored
from its JSON at every step, no database, no HTTP) in this process after the run, and
server_cpu_ratio the API's CPU per whole case over it: the machine's speed moves both alike, so the
ratio compares runs on different days where the milliseconds do not.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import httpx
from raw_spiff import raw_whole_rescue
from served import Cpu, fresh_database, pg_counters, served, workers_cpu_seconds
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


_COUNT_LOCK = threading.Lock()


def http_case(http: httpx.Client, tokens: dict[str, str], elevator_id: int, requests: list[int]) -> None:
    """One whole case; `requests` counts the HTTP requests it took."""
    auth = {role: {"Authorization": f"Bearer {t}"} for role, t in tokens.items()}
    r = http.post("/api/v1/cases", json={"type": "rescue", "elevator_id": elevator_id}, headers=auth["dispatcher"])
    r.raise_for_status()
    sent = 1
    case_id = r.json()["case_id"]
    # the caller's next task on this case, as the last answer gave it (by role: it was that caller's)
    offered: dict[str, dict | None] = {"dispatcher": r.json().get("next_task")}
    for bpmn_id, role, data in STEPS:
        task = offered.get(role)
        if task is None or task["bpmn_id"] != bpmn_id:
            tasks = http.get("/api/v1/tasks", params={"scope": "mine", "case_id": case_id}, headers=auth[role])
            tasks.raise_for_status()
            sent += 1
            task = next(t for t in tasks.json() if t["bpmn_id"] == bpmn_id)
        done = http.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data}, headers=auth[role])
        done.raise_for_status()
        sent += 1
        offered[role] = done.json().get("next_task")
    with _COUNT_LOCK:
        requests[0] += sent


def drain_inbox(url: str, limit: float = 60) -> None:
    """Wait until the rq worker has delivered every queued inbox notice."""
    from sqlalchemy import create_engine, func
    from sqlalchemy.pool import NullPool

    from engine.models import Notification

    db = create_engine(url, poolclass=NullPool)
    deadline = time.monotonic() + limit
    try:
        while time.monotonic() < deadline:
            with db.connect() as conn:
                queued = conn.execute(
                    select(func.count()).where(Notification.channel == "inbox", Notification.status == "queued")
                ).scalar_one()
            if not queued:
                return
            time.sleep(0.25)
        print(f"warning: {queued} inbox notices still queued", file=sys.stderr)
    finally:
        db.dispose()


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
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 2, help="gunicorn worker processes (README: one per core)"
    )
    parser.add_argument("--server-threads", type=int, default=8, help="threads per gunicorn worker")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of cases before measuring (steady state)")
    parser.add_argument("--inprocess-seconds", type=float, default=None, help="default: --seconds")
    parser.add_argument("--spread", action="store_true", help="a new connection per request (see above)")
    args = parser.parse_args()
    from engine.models import Case

    with fresh_database(PG, "rescue") as url:
        system, dispatcher_token, unit_tokens, lifts = prepare(url)
        half = len(lifts) // 2
        inproc_pool = [e for e, _ in lifts[:half]]
        http_pool = lifts[half:]
        requests = [0]
        with served(url, REDIS, args.workers, args.server_threads) as server:
            base = server.base
            # --spread: a connection per request, so any worker may serve any step of a case, as
            # behind a load balancer that opens one per request (nginx's default upstream)
            keepalive = 0 if args.spread else None
            limits = httpx.Limits(max_connections=args.threads * 2, max_keepalive_connections=keepalive)
            client = httpx.Client(base_url=base, timeout=30, limits=limits)

            def case(item: tuple[int, int], counter: list[int]) -> None:
                tokens = {"dispatcher": dispatcher_token, "tech": unit_tokens[item[1]]}
                http_case(client, tokens, item[0], counter)

            # every worker has served some cases (caches, prepared statements) before we count
            run_threads(args.threads, args.warmup, lambda item: case(item, [0]), http_pool)
            system.db.dispose()  # our own connections publish their counters before the count starts
            time.sleep(1.5)
            rows0, commits0 = pg_counters(url)
            cpu0, by_worker0 = Cpu.now(url, server), workers_cpu_seconds(server.server_pid)
            n_http, err_http, t_http = run_threads(
                args.threads, args.seconds, lambda item: case(item, requests), http_pool
            )
            cpu = Cpu.now(url, server) - cpu0
            by_worker = workers_cpu_seconds(server.server_pid)
            spread = sorted((by_worker[p] - by_worker0.get(p, 0.0) for p in by_worker), reverse=True)
            client.close()
            drain_inbox(url)  # the worker's writes for these cases count too
        time.sleep(1.5)  # the server's backends are gone (counters published); the worker's idle ones too
        rows1, commits1 = pg_counters(url)
        in_seconds = args.inprocess_seconds if args.inprocess_seconds is not None else args.seconds
        n_in, err_in, t_in = run_threads(args.threads, in_seconds, lambda e: inprocess_case(system, e), inproc_pool)
        with system.sessions() as session:
            variables = session.scalar(select(Case.variables).where(Case.case_type == "rescue").limit(1)) or {}
        system.db.dispose()
    raw_whole = raw_whole_rescue(variables, [(bpmn_id, data) for bpmn_id, _role, data in STEPS], 100)
    http_rate, in_rate = n_http / t_http, n_in / max(t_in, 1e-9)
    cases = max(n_http, 1)
    per_case = 1000 / max(n_http, 1)
    # where the machine's CPU went: the API, this database's PostgreSQL backends, the rq worker, this client
    shares = {"API": cpu.api, "PostgreSQL": cpu.database, "rq worker": cpu.jobs, "this client": cpu.bench}
    shares["the rest (Redis, PostgreSQL's WAL writer, other work)"] = cpu.machine - sum(shares.values())
    print(
        f"http: {n_http} cases in {t_http:.1f}s; in-process: {n_in} cases in {t_in:.1f}s; "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; CPU ms per whole case: "
        f"machine {cpu.machine * per_case:.1f} = "
        + " + ".join(f"{k} {v * per_case:.1f}" for k, v in shares.items())
        + "; the API's CPU by worker process: "
        + " ".join(f"{100 * w / max(sum(spread), 1e-9):.0f}%" for w in spread),
        file=sys.stderr,
    )
    print(
        f"http_cases_per_s={http_rate:.1f} inprocess_cases_per_s={in_rate:.1f} "
        f"ratio={http_rate / max(in_rate, 1e-9):.2f} errors={err_http + err_in} "
        f"server_cpu_ms_per_case={cpu.api * 1000 / cases:.1f} requests_per_case={requests[0] / cases:.2f} "
        f"row_writes_per_case={(rows1 - rows0) / cases:.1f} commits_per_case={(commits1 - commits0) / cases:.1f} "
        f"raw_whole_rescue_cpu_ms={raw_whole * 1000:.1f} server_cpu_ratio={cpu.api / cases / raw_whole:.2f}"
    )


if __name__ == "__main__":
    main()
