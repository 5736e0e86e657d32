"""Engine throughput on PostgreSQL against raw SpiffWorkflow, measured in the same run.

liftcase: a warning comes in -> intake decides -> case started, tasks assigned, timers and
timeline written, notifications queued, all committed. Then the first task of every case is
completed (persisted). Raw: SpiffWorkflow alone on the same BPMN, with a JSON serialize and
deserialize round trip per step (its own default serializer), no database.

Also measured: starts taken in bursts (intake.open_or_join_many, `--batch` signals per transaction,
as the MQTT ingest does in a storm); a whole rescue case in-process (start, then four user tasks);
and, in one process on a small sample, the SQL statements, row writes and commits per start and
per completion (SQLAlchemy engine events: statements sent, cursor rowcount of writes, commits).

Usage: python bench/engine.py [--cases 2000] [--workers 2] [--process warning] [--batch 50]
Last line: start_per_s=… complete_per_s=… raw_start_per_s=… raw_complete_per_s=… start_ratio=… complete_ratio=…
batch_start_per_s=… batch_start_ratio=… whole_rescue_cases_per_s=… whole_rescue_cpu_ms=… raw_whole_rescue_cpu_ms=…
whole_rescue_cpu_ratio=… start_cpu_ms=…
batch_start_cpu_ms=… complete_cpu_ms=… raw_start_cpu_ms=… raw_complete_cpu_ms=… statements_per_whole_rescue=…
row_writes_per_whole_rescue=… commits_per_whole_rescue=… statements_per_start=… row_writes_per_start=…
commits_per_start=… statements_per_complete=… row_writes_per_complete=… commits_per_complete=…
Rates and CPU are the worker processes' steady state: each is forked, connects and parses the
deployed processes (as an API process does once, before its first request), then all start
together; a comment line before the last gives the same figures with that start-up counted.
(*_cpu_ms: CPU of our worker processes per operation, the database's not included; on a machine
shared with other work they are steadier than the rates. whole_rescue_cpu_ms: per whole case, the
four task look-ups a client would make included. raw_whole_rescue_cpu_ms: SpiffWorkflow alone on the
same rescue, restoring each step from its JSON as a stateless server does; whole_rescue_cpu_ratio:
ours over it, measured in the same run — the library's floor under any whole-rescue CPU target.)
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from raw_spiff import RAW_CPU, raw_spiff, raw_whole_rescue
from served import empty_redis
from sqlalchemy import create_engine, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REDIS = os.environ.get("LIFTCASE_BENCH_REDIS", "redis://127.0.0.1:6379/14")
PG = os.environ.get("LIFTCASE_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SIGNALS = {
    "warning": {"source": "iot", "kind": "door_lock_fault", "warning_type": "door_lock_fault", "recent_count": 1},
    "rescue": {"source": "iot", "kind": "trapped"},
}


def _system(url: str, *, warm: bool = True):  # type: ignore[no-untyped-def]
    from infra.settings import Settings
    from liftcase.bootstrap import build_system

    # Deployed mode: notification sends go to rq on the real Redis, as in production; warmed up
    # as every API process is (liftcase.wsgi): processes parsed, garbage collector set.
    system = build_system(Settings(database_url=url, redis_url=REDIS))
    if warm:
        system.warm_up()
    return system


def _worker(url: str, loop, args: tuple, ready, out: mp.Queue) -> None:  # type: ignore[no-untyped-def]
    """One worker process: built and warmed up as an API process is before its first request, then
    `loop(system, *args)` once every worker is ready (a served process starts once and serves for
    days: its start-up is not a step's cost); puts the loop's wall and CPU seconds and its result."""
    system = _system(url)
    ready.wait()
    t0, c0 = time.perf_counter(), time.process_time()
    result = loop(system, *args)
    out.put((time.perf_counter() - t0, time.process_time() - c0, result))


def _starts(system, process: str, elevator_ids: list[int]) -> list[int]:  # type: ignore[no-untyped-def]
    from processes.intake import open_or_join

    sla, signal = system.settings.sla_file, SIGNALS[process]
    return [open_or_join(system.engine, sla, process, elevator_id=e, signal=signal).case_id for e in elevator_ids]


def _bursts(system, process: str, elevator_ids: list[int], batch: int) -> list[int]:  # type: ignore[no-untyped-def]
    from processes.intake import IntakeItem, open_or_join_many

    items = [IntakeItem(process, e, SIGNALS[process]) for e in elevator_ids]
    ids: list[int] = []
    for i in range(0, len(items), batch):
        ids += [r.case_id for r in open_or_join_many(system.engine, system.settings.sla_file, items[i : i + batch])]
    return ids


# The happy path's first four user tasks of a rescue (DESIGN's "whole rescue case": start + four tasks).
RESCUE_TASKS = [
    ("verify_dispatch", {"outcome": "dispatch"}),
    ("accept_order", {"eta_minutes": 15}),
    ("report_arrival", {"on_site": True}),
    ("report_release", {"released_count": 1, "method": "manual_release"}),
]


def _whole_cases(system, elevator_ids: list[int]) -> int:  # type: ignore[no-untyped-def]
    from engine.models import CaseTask
    from processes.intake import open_or_join

    for e in elevator_ids:
        signal = SIGNALS["rescue"]
        case_id = open_or_join(system.engine, system.settings.sla_file, "rescue", elevator_id=e, signal=signal).case_id
        for bpmn_id, data in RESCUE_TASKS:
            with system.sessions() as session:  # what an API client gets from the task list
                task_id = session.scalar(
                    select(CaseTask.id).where(
                        CaseTask.case_id == case_id, CaseTask.bpmn_id == bpmn_id, CaseTask.status == "open"
                    )
                )
            system.engine.complete_task(task_id, data, actor="bench")
    return len(elevator_ids)


class _Counter:
    """Statements sent and commits on one engine (SQLAlchemy events), and row writes as PostgreSQL
    itself counts them (inserted + updated + deleted tuples in pg_stat_user_tables): exact also
    for statements sent in a pipeline, whose cursor row counts the driver does not report."""

    def __init__(self, db) -> None:  # type: ignore[no-untyped-def]
        from sqlalchemy import event

        self.db = db
        self.statements = self.commits = 0
        self.rows = self._tuples()
        event.listen(db, "after_cursor_execute", self._after)
        event.listen(db, "commit", self._commit)

    def _after(self, conn, cursor, statement, params, context, many) -> None:  # type: ignore[no-untyped-def]
        self.statements += 1

    def _commit(self, conn) -> None:  # type: ignore[no-untyped-def]
        self.commits += 1

    def _tuples(self) -> int:
        # A backend publishes its table counters when it exits (else up to 10 s later): close ours.
        self.db.dispose()
        time.sleep(0.5)
        with self.db.connect() as conn:
            conn.execute(text("SELECT pg_stat_clear_snapshot()"))
            total = conn.execute(
                text("SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables")
            ).scalar_one()
            conn.rollback()
        return int(total)

    def take(self) -> tuple[int, int, int]:
        statements, commits = self.statements, self.commits
        rows = self._tuples()
        got = (statements, rows - self.rows, commits)
        self.statements = self.commits = 0
        self.rows = rows
        return got


def count_writes(url: str, process: str, elevator_ids: list[int], data: dict) -> dict[str, float]:
    """Per start and per completion, averaged over a small sample in this process."""
    from engine.models import CaseTask
    from processes.intake import open_or_join

    system = _system(url)
    with system.sessions() as session:  # warm the caches (definitions, directory) before counting
        session.execute(select(CaseTask.id).limit(1))
    open_or_join(system.engine, system.settings.sla_file, process, elevator_id=elevator_ids[0], signal=SIGNALS[process])
    elevator_ids = elevator_ids[1:]
    counter = _Counter(system.db)
    case_ids = [
        open_or_join(system.engine, system.settings.sla_file, process, elevator_id=e, signal=SIGNALS[process]).case_id
        for e in elevator_ids
    ]
    starts = counter.take()
    with system.sessions() as session:
        task_ids = [
            session.scalar(
                select(CaseTask.id).where(CaseTask.case_id == c, CaseTask.status == "open").order_by(CaseTask.id)
            )
            for c in case_ids
        ]
    counter.take()
    for task_id in task_ids:
        system.engine.complete_task(task_id, data, actor="bench")
    completes = counter.take()
    # Whole rescue cases (start + four tasks); the task look-ups go through an engine of their own.
    lookup = create_engine(url)
    whole = [14_188 - i for i in range(10)]  # the city's last elevators, untouched by the phases before
    for e in whole:
        started = open_or_join(
            system.engine, system.settings.sla_file, "rescue", elevator_id=e, signal=SIGNALS["rescue"]
        )
        for bpmn_id, task_data in RESCUE_TASKS:
            with lookup.connect() as conn:
                task_id = conn.execute(
                    select(CaseTask.id).where(
                        CaseTask.case_id == started.case_id, CaseTask.bpmn_id == bpmn_id, CaseTask.status == "open"
                    )
                ).scalar_one()
            system.engine.complete_task(task_id, task_data, actor="bench")
    lookup.dispose()
    cases = counter.take()
    system.db.dispose()
    n = len(elevator_ids)
    return {
        "statements_per_whole_rescue": cases[0] / len(whole),
        "row_writes_per_whole_rescue": cases[1] / len(whole),
        "commits_per_whole_rescue": cases[2] / len(whole),
        "statements_per_start": starts[0] / n,
        "row_writes_per_start": starts[1] / n,
        "commits_per_start": starts[2] / n,
        "statements_per_complete": completes[0] / n,
        "row_writes_per_complete": completes[1] / n,
        "commits_per_complete": completes[2] / n,
    }


def _completions(system, task_ids: list[int], data: dict) -> int:  # type: ignore[no-untyped-def]
    for task_id in task_ids:
        system.engine.complete_task(task_id, data, actor="bench")
    return len(task_ids)


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Run:
    """One _parallel run: its workers' steady part (from the moment all were warmed up) and, for
    comparison, the whole of it with the processes' start-up."""

    wall: float  # from the release of the warmed-up workers to the last one's end
    cpu: float  # CPU seconds of the workers' loops
    results: list
    wall_with_startup: float  # from forking the first worker to the last result
    cpu_with_startup: float  # the workers' whole CPU (start-up included; the database's not)


def _parallel(url: str, loop, arg_sets: list[tuple]) -> Run:  # type: ignore[no-untyped-def]
    """Run `loop` in one worker process per argument set (_worker), all released together once warmed up."""
    ctx = mp.get_context("fork")
    out: mp.Queue = ctx.Queue()
    ready = ctx.Barrier(len(arg_sets))
    procs = [ctx.Process(target=_worker, args=(url, loop, a, ready, out)) for a in arg_sets]
    t0 = time.perf_counter()
    cpu0 = _children_cpu()
    for p in procs:
        p.start()
    measured = [out.get() for _ in procs]
    wall = time.perf_counter() - t0
    for p in procs:
        p.join()
    return Run(
        wall=max(m[0] for m in measured),
        cpu=sum(m[1] for m in measured),
        results=[m[2] for m in measured],
        wall_with_startup=wall,
        cpu_with_startup=_children_cpu() - cpu0,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--process", default="warning")
    ap.add_argument("--batch", type=int, default=50, help="signals per transaction in the burst measurement")
    ap.add_argument("--whole", type=int, default=200, help="whole rescue cases (start + four tasks); 0 skips")
    args = ap.parse_args()

    from engine.models import CaseTask

    admin = create_engine(PG, isolation_level="AUTOCOMMIT")
    name = f"liftcase_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG.rsplit("/", 1)[0] + f"/{name}"
    try:
        from demo.seed import seed_city
        from liftcase.bootstrap import create_schema

        system = _system(url, warm=False)  # no schema yet
        create_schema(system)
        with system.sessions() as session, session.begin():
            seed_city(session, clock_now=datetime.now(UTC))
        system.deploy_processes()
        system.db.dispose()
        elevators = list(range(1, args.cases + 1))
        chunks = [elevators[i :: args.workers] for i in range(args.workers)]
        starts = _parallel(url, _starts, [(args.process, c) for c in chunks])
        case_ids = [cid for ids in starts.results for cid in ids]
        start_per_s = len(case_ids) / starts.wall
        start_cpu = starts.cpu / len(case_ids)

        system = _system(url)
        with system.sessions() as session:
            rows = session.execute(
                select(CaseTask.id, CaseTask.case_id, CaseTask.bpmn_id)
                .where(CaseTask.status == "open")
                .order_by(CaseTask.id)
            ).all()
        system.db.dispose()
        first: dict[int, tuple[int, str]] = {}
        for task_id, case_id, bpmn_id in rows:
            first.setdefault(case_id, (task_id, bpmn_id))
        task_ids = [t for t, _ in first.values()]
        bpmn_id = next(iter(first.values()))[1]
        data = _form_data(args.process, bpmn_id)
        chunks = [task_ids[i :: args.workers] for i in range(args.workers)]
        completions = _parallel(url, _completions, [(c, data) for c in chunks])
        complete_per_s = len(task_ids) / completions.wall
        complete_cpu = completions.cpu / len(task_ids)

        # Bursts: the next block of elevators, `--batch` signals per transaction.
        burst = list(range(args.cases + 1, 2 * args.cases + 1))
        chunks = [burst[i :: args.workers] for i in range(args.workers)]
        batches = _parallel(url, _bursts, [(args.process, c, args.batch) for c in chunks])
        batch_per_s = sum(len(ids) for ids in batches.results) / batches.wall
        batch_cpu = batches.cpu / len(burst)

        whole_per_s = whole_cpu = 0.0
        if args.whole:
            block = list(range(2 * args.cases + 1, 2 * args.cases + args.whole + 1))
            chunks = [block[i :: args.workers] for i in range(args.workers)]
            wholes = _parallel(url, _whole_cases, [(c,) for c in chunks])
            whole_per_s = len(block) / wholes.wall
            whole_cpu = wholes.cpu / len(block)

        sample = list(range(2 * args.cases + args.whole + 1, 2 * args.cases + args.whole + 51))
        counts = count_writes(url, args.process, sample, data)

        variables = _variables(url, args.process)
        raw_n = min(args.cases, 1000)
        raw_start, raw_complete = raw_spiff(
            ROOT / "bpmn" / f"{args.process}.bpmn", args.process, variables, raw_n, (bpmn_id, data)
        )
        raw_whole = 0.0
        if args.whole:
            raw_whole = raw_whole_rescue(_variables(url, "rescue"), RESCUE_TASKS, min(args.whole, 200))
        # Raw Spiff runs in one process; ours used `workers` processes: compare per process.
        per = args.workers
        print(
            f"# with the worker processes' start-up (fork, connect, parse the deployed processes) counted: "
            f"start_per_s={len(case_ids) / starts.wall_with_startup:.1f} "
            f"complete_per_s={len(task_ids) / completions.wall_with_startup:.1f} "
            f"start_cpu_ms={starts.cpu_with_startup / len(case_ids) * 1000:.2f} "
            f"complete_cpu_ms={completions.cpu_with_startup / len(task_ids) * 1000:.2f}"
        )
        print(f"# cases={len(case_ids)} workers={args.workers} first task={bpmn_id} (ratios are per process)")
        print(
            f"start_per_s={start_per_s:.1f} complete_per_s={complete_per_s:.1f} raw_start_per_s={raw_start:.1f} "
            f"raw_complete_per_s={raw_complete:.1f} start_ratio={start_per_s / per / raw_start:.3f} "
            f"complete_ratio={complete_per_s / per / raw_complete:.3f} "
            f"batch_start_per_s={batch_per_s:.1f} batch_start_ratio={batch_per_s / per / raw_start:.3f} "
            f"whole_rescue_cases_per_s={whole_per_s:.1f} whole_rescue_cpu_ms={whole_cpu * 1000:.2f} "
            f"raw_whole_rescue_cpu_ms={raw_whole * 1000:.2f} "
            f"whole_rescue_cpu_ratio={whole_cpu / raw_whole if raw_whole else 0:.2f} "
            f"start_cpu_ms={start_cpu * 1000:.2f} batch_start_cpu_ms={batch_cpu * 1000:.2f} "
            f"complete_cpu_ms={complete_cpu * 1000:.2f} raw_start_cpu_ms={RAW_CPU['start'] * 1000:.2f} "
            f"raw_complete_cpu_ms={RAW_CPU['complete'] * 1000:.2f} "
            + " ".join(f"{k}={v:.1f}" for k, v in counts.items())
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        empty_redis(REDIS)  # the notices it queued: no worker of this run takes them


def _variables(url: str, process: str) -> dict:
    from engine.models import Case

    system = _system(url)
    with system.sessions() as session:
        variables = session.scalar(select(Case.variables).where(Case.case_type == process).limit(1))
    system.db.dispose()
    return dict(variables or {})


def _form_data(process: str, bpmn_id: str) -> dict:
    """Valid data for the first task's form, generated from its JSON Schema's required fields."""
    import json

    from engine.definitions import parse_process
    from infra.settings import Settings

    parsed = parse_process((ROOT / "bpmn" / f"{process}.bpmn").read_text(encoding="utf-8"))
    form = parsed.human_tasks[bpmn_id].form
    schema = json.loads((Settings().forms_dir / form).read_text(encoding="utf-8")) if form else {}
    return {name: _example(schema["properties"][name]) for name in schema.get("required", [])}


def _example(prop: dict):  # type: ignore[no-untyped-def]
    if "const" in prop:
        return prop["const"]
    if "enum" in prop:
        return prop["enum"][0]
    return {
        "integer": prop.get("minimum", 1),
        "number": 1.0,
        "boolean": True,
        "string": "x" * max(prop.get("minLength", 1), 4),
        "array": [],
    }[prop.get("type", "string")]


if __name__ == "__main__":
    main()
