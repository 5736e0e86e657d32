"""Builds the running system and registers, in explicit lists, every job and periodic work.

The only place where the parts meet: a job, periodic task or case type that is not listed here
(case types: processes/catalogue.py) does not exist. Nothing below liftcase/ imports this module.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from connectors.feed import jobs as feed_jobs
from connectors.mqtt import jobs as mqtt_jobs
from connectors.notify import jobs as notify_jobs
from detectors.risk import flows as risk_flows
from engine.recorder import QueuedNotices
from engine.runner import CaseEngine
from infra.clock import Clock, SystemClock
from infra.db import make_engine, make_sessionmaker
from infra.jobs import CASES, NOTIFY, NOTIFY_P1, REPORTS, InProcessJobs, Job, JobQueue, JobRegistry, RqJobs
from infra.outage import Outage
from infra.periodic import Periodic, add_to
from infra.settings import Settings
from liftcase.migrate import upgrade
from processes import device_offline_flows, expiry_scan, register_sync, supervision_rules, telemetry
from processes.catalogue import CASE_TYPES
from processes.device_offline import contact_lanes
from processes.roles import RegistryRoles
from processes.service_tasks import SERVICE_TASKS
from processes.system import System
from reports import flows as report_flows

# Every job and the queue it runs from (infra.jobs.QUEUES, most urgent first). Timers are fired by
# the scheduler process itself, never from a queue that e-mail shares.
JOBS = JobRegistry(
    {
        # intake: findings that open or feed a rescue go to cases-p1, the rest to cases
        telemetry.JOB: Job(telemetry.telemetry_signals, CASES, urgent=telemetry.urgent),
        # notices: a P1 rescue's on notify-p1 (marked by whoever queues them), the rest on notify
        notify_jobs.SEND: Job(notify_jobs.send_notifications, NOTIFY, notify_jobs.urgent, NOTIFY_P1),
        notify_jobs.DELIVER: Job(notify_jobs.deliver_notifications, NOTIFY, notify_jobs.urgent, NOTIFY_P1),
        # the outbound feed: pushes to other platforms, below every notice to a person
        feed_jobs.DELIVER: Job(feed_jobs.deliver_feed, NOTIFY),
        report_flows.MAKE_REPORTS: Job(report_flows.make_scheduled_reports_job, REPORTS),
        # scans that open cases in batches: routine case work
        expiry_scan.JOB: Job(expiry_scan.scan_job, CASES),
        device_offline_flows.JOB: Job(device_offline_flows.reconcile_job, CASES),
        supervision_rules.SCAN_JOB: Job(supervision_rules.scan_job, CASES),
        supervision_rules.ORDERS_JOB: Job(supervision_rules.orders_job, CASES),
        # register reconciliation: compares the sources field by field, lists conflicts
        register_sync.JOB: Job(register_sync.reconcile_job, REPORTS),
    }
)
PERIODIC: tuple[Periodic, ...] = (
    notify_jobs.RETRY,
    feed_jobs.SWEEP,
    mqtt_jobs.OFFLINE,
    mqtt_jobs.PURGE_DEAD_LETTERS,
    risk_flows.NIGHTLY,
    report_flows.WEEKLY,
    report_flows.MONTHLY,
    expiry_scan.DAILY,
    supervision_rules.DAILY,
    supervision_rules.ORDERS,
    register_sync.NIGHTLY,
)


def build_system(settings: Settings, *, clock: Clock | None = None, jobs: JobQueue | None = None) -> System:
    db = make_engine(settings.database_url)
    sessions = make_sessionmaker(db)
    clock = clock or SystemClock()
    hooks = RegistryRoles(
        {k: ct.prefix for k, ct in CASE_TYPES.items()},
        contacts=contact_lanes(settings.sla_file),
        clock=clock,
        on_time_weight=settings.dispatch_on_time_weight,
    )
    engine = CaseEngine(
        sessions, clock, hooks, services=SERVICE_TASKS, script_time_limit=settings.script_time_limit_seconds
    )
    engine.workflows.size = settings.workflow_cache_cases
    if jobs is None:
        jobs = InProcessJobs(JOBS) if settings.embedded else RqJobs(settings.redis_url or "", JOBS)
    system = System(settings, db, sessions, clock, jobs, engine)
    use_jobs(system, jobs)
    # The engine's outbox: notices its steps queued are delivered by jobs on the system's queue.
    engine.notifications_queued = partial(_wake_notifier, system)
    return system


_NOTICE_JOBS = Outage("Redis", "notification jobs not queued: the retry sweep sends those notices once it is back")


def _wake_notifier(system: System, batches: list[QueuedNotices]) -> None:
    """The notices are committed with the step; their jobs only make them go out now. With Redis
    away, a committed step (a passenger's QR call, a rescue opened) must not fail for it: the
    retry sweep (`retry_notifications`) takes the notices up once Redis is back."""
    from redis.exceptions import RedisError

    try:
        notify_jobs.queue_notifications(system, batches)
    except RedisError as err:
        _NOTICE_JOBS.down(err)
    else:
        _NOTICE_JOBS.up()


def use_jobs(system: System, jobs: JobQueue) -> None:
    """Give the system a job queue (tests and benchmarks swap in-process and rq queues)."""
    system.jobs = jobs
    if isinstance(jobs, InProcessJobs):
        jobs.bind(system)


def create_schema(system: System) -> None:
    """Bring the database to the newest migration (Alembic), on SQLite and PostgreSQL alike."""
    with system.db.begin() as connection:
        upgrade(system.settings.database_url, connection=connection)


def add_periodic(scheduler: Any, system: System) -> None:
    """Every periodic job onto an APScheduler scheduler, on the city's clock."""
    add_to(scheduler, PERIODIC, system, system.settings.timezone)
