"""200 concurrent staff users on the HTTP API, served by gunicorn on PostgreSQL and Redis.

Setup: a fresh PostgreSQL database with the whole demo city (14,188 elevators), every process
deployed, a few hundred open rescue and warning cases; gunicorn (gthread workers) and one rq
worker as deployed. A feeder keeps opening cases (about 2/s) so inboxes never run dry.

Each simulated user signs in once (not measured), then loops until the time is up: think for
a random 1-3 s (people read what they opened), then one action by role — their task list, the
case list, a case's detail (timeline, SLA, participants), the dashboard figures, or completing a
task from their inbox with a valid form. Every answer's latency is recorded. Errors are 5xx,
transport failures and any answer other than the expected one; a 409 (someone completed that
task first) is the expected outcome of a race and is counted apart as `conflicts`.

Usage: python bench/api.py [--users 200] [--seconds 60] [--workers N: one per core] [--threads 8]
Last line: users=… p50_ms=… p95_ms=… p99_ms=… errors=… rps=…
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import threading
import time
from pathlib import Path
from statistics import quantiles

import httpx
from served import Cpu, fresh_database, served
from sqlalchemy import select, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "bench"))  # after the project: bench/engine.py must not shadow engine/

PG = os.environ.get("LIFTCASE_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("LIFTCASE_BENCH_REDIS", "redis://127.0.0.1:6379/6")
PASSWORD = "bench-password-96933"
FORM_DATA = {
    "verify_dispatch": {"outcome": "dispatch", "trapped_count": 1},
    "accept_order": {"eta_minutes": 15},
    "report_arrival": {"on_site": True},
    "report_onsite": {"on_site": True},
    "report_release": {"released_count": 1, "method": "leveling_and_open"},
    "report_cause": {"cause_category": "door_system", "description": "门机故障，已调整门刀"},
    "report_fix": {"cause_category": "door_system", "description": "门锁触点氧化，已清洁"},
}


def prepare(url: str, cases: int) -> dict[str, list[str]]:
    """Seed the city, deploy, open cases; returns the simulated users' names by role."""
    from demo.seed import seed_city
    from infra.settings import Settings
    from liftcase.bootstrap import build_system, create_schema
    from processes.intake import open_or_join
    from registry.accounts.service import hash_password
    from registry.models import Elevator, Organisation, OrgKind, User

    system = build_system(Settings(database_url=url, redis_url=REDIS))
    create_schema(system)
    with system.sessions() as session, session.begin():
        seed_city(session, clock_now=system.clock.now())
        session.execute(update(User).values(password_hash=hash_password(PASSWORD)))
    system.deploy_processes()
    with system.sessions() as session:
        users = list(session.scalars(select(User).where(User.active.is_(True))))
        kinds = dict(session.execute(select(Organisation.id, Organisation.kind)).all())
        techs = [u for u in users if "maintenance" in u.roles and "tech" in u.username][:110]
        units = {u.organisation_id for u in techs}
        lifts = list(
            session.scalars(select(Elevator.id).where(Elevator.maintenance_unit_id.in_(units)).order_by(Elevator.id))
        )
    by_role = {
        "dispatcher": [u.username for u in users if "dispatcher" in u.roles],
        "maintenance": [u.username for u in techs],
        "property": [u.username for u in users if "property" in u.roles][:40],
        "regulator": [
            u.username
            for u in users
            if "regulator" in u.roles
            and kinds.get(u.organisation_id) in (OrgKind.DISTRICT_REGULATOR, OrgKind.CITY_REGULATOR)
        ],
    }
    rng = random.Random(7)
    for n in range(cases):
        kind = "rescue" if n % 2 else "warning"
        signal = {"source": "iot", "kind": "door_lock_fault", "warning_type": "door_lock_fault", "recent_count": 1}
        open_or_join(
            system.engine,
            system.settings.sla_file,
            kind,
            elevator_id=rng.choice(lifts),
            signal={"source": "qr"} if kind == "rescue" else signal,
        )
    system.db.dispose()
    return by_role | {"_lifts": [str(i) for i in lifts]}


def feeder(url: str, lifts: list[int], stop: threading.Event, per_s: float = 2.0) -> None:
    """Opens new rescue cases while the load runs, as alarms keep arriving in a real city."""
    from infra.settings import Settings
    from liftcase.bootstrap import build_system
    from processes.intake import open_or_join

    system = build_system(Settings(database_url=url, redis_url=REDIS))
    rng = random.Random(11)
    while not stop.wait(1 / per_s):
        try:
            open_or_join(
                system.engine,
                system.settings.sla_file,
                "rescue",
                elevator_id=rng.choice(lifts),
                signal={"source": "phone"},
            )
        except Exception as err:  # an open case on that lift: joined, or a race; keep feeding
            print(f"feeder: {err}", file=sys.stderr)
    system.db.dispose()


class Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors = 0
        self.conflicts = 0
        self.completed = 0
        self.by_action: dict[str, list[float]] = {}
        self.samples: list[str] = []

    def record(self, action: str, seconds: float) -> None:
        self.latencies.append(seconds)
        self.by_action.setdefault(action, []).append(seconds)

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.samples) < 10:
            self.samples.append(what)


async def sign_in(http: httpx.AsyncClient, username: str, stats: Stats, gate: asyncio.Semaphore) -> dict | None:
    async with gate:  # password hashing is deliberately slow: sign in a few at a time, before measuring
        try:
            r = await http.post("/api/v1/session", json={"username": username, "password": PASSWORD})
        except httpx.HTTPError as err:
            stats.error(f"sign-in {username}: {type(err).__name__}")
            return None
    if r.status_code != 200:
        stats.error(f"sign-in {username}: {r.status_code}")
        return None
    return {"X-CSRF-Token": r.json()["csrf_token"]}


async def user_loop(
    http: httpx.AsyncClient,
    username: str,
    role: str,
    headers: dict,
    deadline: float,
    stats: Stats,
    think: tuple[float, float],
) -> None:
    rng = random.Random(username)
    await asyncio.sleep(rng.uniform(0, think[1]))  # users do not all start in the same second
    case_ids: list[int] = []
    while time.monotonic() < deadline:
        action = rng.choices(
            ["tasks", "cases", "case", "dashboard", "complete"],
            weights={"regulator": [1, 4, 4, 3, 0], "dispatcher": [4, 2, 3, 2, 3]}.get(role, [5, 1, 2, 1, 3]),
        )[0]
        if action == "case" and not case_ids:
            action = "cases"
        t0 = time.perf_counter()
        try:
            if action == "tasks" or action == "complete":
                r = await http.get("/api/v1/tasks", params={"scope": "mine", "page_size": 20})
                ok = r.status_code == 200
                if ok and action == "complete":
                    stats.record("tasks", time.perf_counter() - t0)
                    todo = [t for t in r.json() if t["can_act"] and t["bpmn_id"] in FORM_DATA]
                    if not todo:
                        await asyncio.sleep(rng.uniform(*think))
                        continue
                    task = rng.choice(todo)
                    t0 = time.perf_counter()
                    r = await http.post(
                        f"/api/v1/tasks/{task['id']}/complete",
                        json={"data": FORM_DATA[task["bpmn_id"]]},
                        headers=headers,
                    )
                    if r.status_code == 409:
                        stats.conflicts += 1
                        ok = True
                    else:
                        ok = r.status_code == 200
                        stats.completed += ok
                else:
                    case_ids.extend(t["case_id"] for t in r.json()[:3] if ok)
            elif action == "cases":
                params = {"page_size": 20, "status": "open"}
                if role == "regulator" and rng.random() < 0.3:
                    params["overdue"] = "true"
                r = await http.get("/api/v1/cases", params=params)
                ok = r.status_code == 200
                if ok:
                    case_ids = [c["id"] for c in r.json()][:10] or case_ids
            elif action == "case":
                r = await http.get(f"/api/v1/cases/{rng.choice(case_ids)}")
                ok = r.status_code in (200, 404)  # a case that left my scope is a 404, not an error
            else:
                r = await http.get("/api/v1/dashboard/summary")
                ok = r.status_code == 200
        except httpx.HTTPError as err:
            stats.error(f"{action}: {type(err).__name__} {err}")
            continue
        stats.record(action, time.perf_counter() - t0)
        if not ok:
            stats.error(f"{action}: {r.status_code} {r.text[:200]}")
        await asyncio.sleep(rng.uniform(*think))


async def drive(base: str, users: list[tuple[str, str]], seconds: float, think: tuple[float, float]) -> Stats:
    stats = Stats()
    limits = httpx.Limits(max_connections=2)
    clients = [httpx.AsyncClient(base_url=base, timeout=30, limits=limits) for _ in users]
    gate = asyncio.Semaphore(4)
    headers = await asyncio.gather(
        *(sign_in(c, name, stats, gate) for c, (name, _) in zip(clients, users, strict=True))
    )
    stats.latencies.clear()
    deadline = time.monotonic() + seconds
    await asyncio.gather(
        *(
            user_loop(c, name, role, h, deadline, stats, think)
            for c, (name, role), h in zip(clients, users, headers, strict=True)
            if h is not None
        )
    )
    for client in clients:
        await client.aclose()
    return stats


def pick_users(by_role: dict[str, list[str]], n: int) -> list[tuple[str, str]]:
    """Accounts may repeat (one person, two devices); the mix matches a city's staff on duty."""
    mix = {"dispatcher": 0.1, "maintenance": 0.55, "property": 0.15, "regulator": 0.2}
    out: list[tuple[str, str]] = []
    for role, share in mix.items():
        names = by_role[role]
        out += [(names[i % len(names)], role) for i in range(round(n * share))]
    return out[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 2, help="gunicorn worker processes (README: one per core)"
    )
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--cases", type=int, default=400)
    parser.add_argument("--think", default="1,3", help="think time range in seconds, 'low,high'")
    args = parser.parse_args()
    think = tuple(float(x) for x in args.think.split(","))

    stop = threading.Event()
    with fresh_database(PG, "api") as url:
        t0 = time.perf_counter()
        by_role = prepare(url, args.cases)
        lifts = [int(i) for i in by_role.pop("_lifts")]
        print(f"prepared in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        with served(url, REDIS, args.workers, args.threads) as server:
            base = server.base
            feed = threading.Thread(target=feeder, args=(url, lifts, stop), daemon=True)
            feed.start()
            users = pick_users(by_role, args.users)
            cpu_before = Cpu.now(url, server)
            started = time.perf_counter()
            try:
                stats = asyncio.run(drive(base, users, args.seconds, think))
            finally:
                stop.set()
            cpu = Cpu.now(url, server) - cpu_before
            elapsed = min(time.perf_counter() - started, args.seconds + think[1])
    report(stats, users, cpu, elapsed)


def report(stats: Stats, users: list[tuple[str, str]], cpu: Cpu, elapsed: float) -> None:
    lat = sorted(stats.latencies)
    cuts = quantiles(lat, n=100) if len(lat) > 1 else [0.0] * 99
    for action, values in sorted(stats.by_action.items()):
        vq = quantiles(values, n=100) if len(values) > 1 else [values[0]] * 99
        print(
            f"  {action:10s} n={len(values):6d} p50_ms={vq[49] * 1000:.0f} p95_ms={vq[94] * 1000:.0f}", file=sys.stderr
        )
    per = 1000 / max(len(lat), 1)
    print(
        f"completed={stats.completed} conflicts={stats.conflicts} requests={len(lat)} "
        f"server_cpu_ms_per_request={cpu.api * per:.1f} (load average {os.getloadavg()[0]:.1f})\n"
        f"  CPU ms per request: database {cpu.database * per:.1f}, rq worker {cpu.jobs * per:.1f}, "
        f"users and feeder {cpu.bench * per:.1f}, machine {cpu.machine * per:.1f}; "
        f"machine busy {cpu.machine / cpu.wall / (os.cpu_count() or 1):.0%} of {os.cpu_count()} cores",
        file=sys.stderr,
    )
    for sample in stats.samples:
        print(f"  error: {sample}", file=sys.stderr)
    print(
        f"users={len(users)} p50_ms={cuts[49] * 1000:.0f} p95_ms={cuts[94] * 1000:.0f} "
        f"p99_ms={cuts[98] * 1000:.0f} errors={stats.errors} rps={len(lat) / elapsed:.1f}"
    )


if __name__ == "__main__":
    main()
