"""The API served as deployed, for the HTTP benchmarks: gunicorn (gthread workers) and one rq
worker on the given PostgreSQL and Redis. Returns the base URL once /healthz answers.
LIFTCASE_BENCH_WORKER_ARGS: extra arguments for `liftcase worker` (e.g. `--fork` to compare)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import astuple, dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A free port, in LIFTCASE_TEST_PORTS (A-B) when set: runs that share the machine keep to their own range."""
    spec = os.environ.get("LIFTCASE_TEST_PORTS")
    first, last = (int(x) for x in spec.split("-")) if spec else (0, 0)
    for port in range(first, last + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise RuntimeError(f"no free port in LIFTCASE_TEST_PORTS={spec}")


@contextmanager
def fresh_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A PostgreSQL database of this run's own, dropped afterwards; yields its URL."""
    name = f"liftcase_bench_{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass(frozen=True)
class Served:
    base: str  # the API's base URL
    server_pid: int  # gunicorn's master
    worker_pid: int  # the rq worker's


def empty_redis(redis_url: str) -> None:
    """Empty the benchmark's own Redis database (LIFTCASE_BENCH_REDIS): jobs an earlier run left
    queued (bench/engine.py queues notices and runs no worker) would otherwise be worked by this
    run's rq worker, against this run's database, and counted in its figures."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        client.flushdb()
    finally:
        client.close()


@contextmanager
def served(url: str, redis_url: str, workers: int, threads: int = 8) -> Iterator[Served]:
    """The API and an rq worker, running on an emptied Redis database; stops both afterwards."""
    empty_redis(redis_url)
    base, procs = start_gunicorn(url, redis_url, workers, threads)
    try:
        yield Served(base, procs[0].pid, procs[1].pid)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def start_gunicorn(url: str, redis_url: str, workers: int, threads: int = 8) -> tuple[str, list[subprocess.Popen]]:
    port = free_port()
    env = {
        **os.environ,
        "LIFTCASE_DATABASE_URL": url,
        "LIFTCASE_REDIS_URL": redis_url,
        "LIFTCASE_SECRET_KEY": uuid.uuid4().hex,
    }
    bin_dir = Path(sys.executable).parent
    server = [
        str(bin_dir / "gunicorn"),
        "-w",
        str(workers),
        "-k",
        "gthread",
        "--threads",
        str(threads),
        # keep-alive beyond the simulated users' think time, as a load balancer would hold it
        "--keep-alive",
        "75",
        # each worker its own listening socket: the kernel spreads connections among them (README)
        "--reuse-port",
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "liftcase.wsgi:app",
    ]
    procs = [
        subprocess.Popen(server, cwd=ROOT, env=env),
        subprocess.Popen(
            [str(bin_dir / "liftcase"), "worker", *os.environ.get("LIFTCASE_BENCH_WORKER_ARGS", "").split()],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
    ]
    base = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return base, procs
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    for proc in procs:
        proc.kill()
    raise SystemExit("gunicorn did not come up")


def cpu_seconds(root_pid: int) -> float:
    """User+system CPU of a process and its children (gunicorn's workers), from /proc: what the
    API processes burnt, whatever else the machine is doing."""
    return process_cpu_seconds(root_pid) + sum(workers_cpu_seconds(root_pid).values())


def workers_cpu_seconds(root_pid: int) -> dict[int, float]:
    """User+system CPU so far of each of gunicorn's worker processes, by pid: how the load was
    spread (a worker accepts a kept-alive connection for good, so a few clients' requests may all
    land on one)."""
    try:
        children = [int(c) for c in Path(f"/proc/{root_pid}/task/{root_pid}/children").read_text().split()]
    except OSError:
        return {}
    return {pid: process_cpu_seconds(pid) for pid in children}


def machine_cpu_seconds() -> float:
    """Busy CPU of the whole machine (all cores, /proc/stat: everything but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _cpu(stat: Path) -> float:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User+system CPU of one process so far (0 once it is gone)."""
    try:
        return _cpu(Path(f"/proc/{pid}/stat"))
    except OSError:
        return 0.0


def backends_cpu_seconds(url: str) -> float:
    """User+system CPU so far of the PostgreSQL backends connected to this URL's database (their
    process titles name it), whatever else the server is doing for other databases. A backend
    that exits takes its count with it: read while the connections of the work measured are open."""
    database = url.rsplit("/", 1)[1].split("?")[0]
    total = 0.0
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if title.startswith("postgres: ") and f" {database} " in title:
                total += _cpu(proc / "stat")
        except OSError:
            continue
    return total


def pg_counters(url: str) -> tuple[int, int]:
    """(row writes, commits) of the database so far, as PostgreSQL counts them: inserted + updated
    + deleted tuples of its tables (pg_stat_user_tables; exact also for pipelined statements) and
    committed transactions (pg_stat_database, read-only ones included). A backend publishes its
    counters at transaction end at most once a second and when it exits: read after the
    connections that did the work are closed, or a second later."""
    db = create_engine(url, poolclass=NullPool)
    try:
        with db.connect() as conn:
            conn.execute(text("SELECT pg_stat_clear_snapshot()"))
            rows = conn.execute(
                text("SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables")
            ).scalar_one()
            commits = conn.execute(
                text("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
            ).scalar_one()
            conn.rollback()
    finally:
        db.dispose()
    return int(rows), int(commits)


@dataclass(frozen=True)
class Cpu:
    """CPU seconds so far of the served API, by who burnt them: the benches' clients share the
    machine with the API, and where its CPU went says what a figure measured."""

    api: float  # gunicorn and its workers
    database: float  # this run's PostgreSQL backends
    jobs: float  # the rq worker (notices)
    bench: float  # this process: the bench's HTTP client (and whatever else it runs)
    machine: float  # every core's busy time, whoever burnt it
    wall: float

    @classmethod
    def now(cls, url: str, server: Served) -> Cpu:
        return cls(
            cpu_seconds(server.server_pid),
            backends_cpu_seconds(url),
            process_cpu_seconds(server.worker_pid),
            time.process_time(),
            machine_cpu_seconds(),
            time.perf_counter(),
        )

    def __sub__(self, other: Cpu) -> Cpu:
        return Cpu(*(a - b for a, b in zip(astuple(self), astuple(other), strict=True)))
