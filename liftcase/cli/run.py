"""Run the parts: web app, rq worker, timer loop, the embedded demo."""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

import click

from infra.jobs import QUEUES
from infra.settings import Settings
from liftcase.cli.context import cli_system


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
def serve(host: str, port: int) -> None:
    """Serve the web console (/console/), the REST API (/api/v1, docs at /api/docs) and the passengers'
    QR pages (/r/...) on the development server; deploy with gunicorn 'liftcase.wsgi:app'."""
    from werkzeug.serving import run_simple

    from web.app import create_app

    run_simple(host, port, create_app(cli_system()), threaded=True)


@click.command()
@click.option(
    "--fork/--no-fork",
    default=False,
    show_default=True,
    help="run jobs in the worker itself (keeps parsed BPMN and connections; no fork per job), or fork per "
    "job: for a worker that makes reports (WeasyPrint: its memory goes with the child)",
)
@click.option(
    "--queues",
    default=",".join(QUEUES),
    show_default=True,
    help="comma-separated, most urgent first: the worker always takes from the first non-empty one "
    "(e.g. --queues cases-p1 for a worker dedicated to rescues)",
)
def worker(fork: bool, queues: str) -> None:
    """Run an rq worker: case intake, notification sends, reports (needs LIFTCASE_REDIS_URL).
    It stays up through Redis and PostgreSQL outages and resumes by itself."""
    from liftcase.worker import work

    if not Settings.from_env().redis_url:
        raise click.UsageError("set LIFTCASE_REDIS_URL to run a worker (embedded mode runs jobs in-process)")
    names = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = [q for q in names if q not in QUEUES]
    if not names or unknown:
        raise click.UsageError(f"unknown queue(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(QUEUES)}")
    work(cli_system(), queues=names, fork=fork)


@click.command()
def scheduler() -> None:
    """Run the timer loop (case timers in batches, on time) and the periodic work."""
    import logging

    from engine.scheduler import run_forever

    quiet_skipped_runs()
    from liftcase.bootstrap import add_periodic

    logging.getLogger("engine.scheduler").setLevel(logging.INFO)  # an outage's end is INFO
    system = cli_system()
    settings = system.settings
    run_forever(system.engine, settings.timer_poll_seconds, extra=partial(add_periodic, system=system),
                lookahead_seconds=settings.timer_lookahead_seconds)  # fmt: skip


@click.command()
@click.option("--port", default=8000, show_default=True)
@click.option("--no-serve", is_flag=True, help="set up and make activity, then exit")
@click.option("--fresh/--keep", default=True, show_default=True, help="start from an empty demo database")
def demo(port: int, no_serve: bool, fresh: bool) -> None:
    """Embedded demo: SQLite, in-process jobs and timers, a seeded city, some live cases."""
    from demo.run import passenger_qr_code, prepare, start_background_work
    from liftcase.bootstrap import add_periodic, create_schema

    settings = Settings.from_env()
    db_path = Path(settings.database_url.split("///", 1)[-1])
    if fresh and settings.database_url.startswith("sqlite") and db_path.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    system = cli_system(redis_url=None)
    create_schema(system)
    prepared = prepare(system)
    quiet_skipped_runs()
    running = start_background_work(system, partial(add_periodic, system=system), live_feed=not no_serve)
    passenger = passenger_qr_code(system) or prepared.qr_code
    base = f"http://127.0.0.1:{port}"
    click.echo(f"""
liftcase demo is running (embedded: SQLite, in-process jobs, timer loop every {settings.timer_poll_seconds}s)
  console         {base}/console/   (sign in as below)
  demo users      dispatcher (96933 seat), maint (on-call technician), maint_manager, property (use unit),
                  regulator (通川区), city_regulator, analyst, auditor, admin   (README: who is who)
  password        {prepared.password}
  dispatch screen {base}/console/screens/dispatch?kiosk=1
  passenger page  {base}/r/{passenger}   (public QR page: 一键救援 opens a rescue that dispatcher verifies
                  and maint accepts; complaint)
  API docs        {base}/api/docs   (OpenAPI: {base}/api/openapi.json)
  live telemetry  30 simulated boxes, {running.feed} (faults become warning and rescue cases)
  database        {db_path}
  cases opened    {running.summary}
  check timeline  .venv/bin/liftcase verify-timeline
  see a ladder    .venv/bin/liftcase scenario rescue
""")
    if no_serve:
        running.timers.shutdown(wait=False)
        return
    from werkzeug.serving import run_simple

    from web.app import create_app

    run_simple("127.0.0.1", port, create_app(system), threaded=True)


class _SkippedRun(logging.Filter):
    """The timer loop polls every fraction of a second and skips a poll while the previous one
    still runs (max_instances=1, on purpose): APScheduler's warning for each skip is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances" not in record.getMessage()


def quiet_skipped_runs() -> None:
    logging.getLogger("apscheduler.scheduler").addFilter(_SkippedRun())
