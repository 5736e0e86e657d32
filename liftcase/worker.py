"""The rq worker entry: takes jobs from Redis, most urgent queue first, and runs each with this
process's system; a supervisor loop keeps it up through Redis and PostgreSQL outages.

rq's own loop survives Redis going away only while it waits for a job; away while a job runs, rq
logs "unhandled exception, quitting" and returns. Here the loop is restarted instead: wait for
Redis with backoff (one log line when it goes, one when it is back), put the jobs the quitting
worker had started back at the front of their queues, and go on. A job that finished its database
work but could not record that in Redis runs again: every job is run at least once, and every job
is idempotent (idempotency keys, conditional claims), so it takes effect exactly once.

A job that finds PostgreSQL unreachable waits in the worker until it is back and then runs again,
instead of failing and spending its rq retries on an outage (the next jobs would fail the same way).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import signal
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, SimpleWorker, Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.scheduler import RQScheduler

from infra.db import database_outage, database_unavailable, wait_for_database
from infra.jobs import QUEUES, serve_jobs
from infra.outage import Outage
from liftcase.bootstrap import JOBS
from processes.system import System

log = logging.getLogger("liftcase.worker")
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)
# rq's worker_ttl sets how long a blocking wait for a job may last (ttl - 15 s) and the socket
# timeout (that + 10 s): a Redis that hangs instead of refusing is noticed within it.
WORKER_TTL = 45
BACKOFF_START, BACKOFF_MAX = 0.5, 5.0
# rq cleans its registries (abandoned jobs) and restarts a dead scheduler on this beat (default 10 min).
MAINTENANCE_SECONDS = 60


class _RedisOutageLog(logging.Filter):
    """rq logs a Redis outage once per retry, and a traceback when its loop gives up; both become
    the outage's one line."""

    def __init__(self, outage: Outage) -> None:
        super().__init__()
        self.outage = outage

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        error = record.exc_info[1] if record.exc_info else None
        if "could not connect to Redis" in message or "Redis connection timeout" in message:
            self.outage.down(next((a for a in record.args or () if isinstance(a, Exception)), "connection lost"))
            return False
        if isinstance(error, REDIS_DOWN):
            self.outage.down(error)
            return False
        return True


class _Scheduler(RQScheduler):
    """rq's scheduler process (it enqueues jobs whose retry interval ended), waiting Redis out
    instead of dying with a traceback; the worker reports the outage."""

    def work(self) -> None:
        while not self._stop_requested:
            try:
                super().work()
                return
            except REDIS_DOWN:
                time.sleep(BACKOFF_MAX)


def _supervised(kind: type[Worker] | type[SimpleWorker]) -> Any:
    class Supervised(kind):  # type: ignore[valid-type, misc]
        """rq's worker, telling a requested stop from a quit, remembering the job in hand, and
        noticing when Redis is back."""

        max_connection_wait_time = BACKOFF_MAX  # rq's own wait while dequeuing (default 60 s)
        outage: Outage
        stopping = False
        in_hand: tuple[Job, str] | None = None  # the job being executed and its queue's name

        def request_stop(self, signum: int, frame: Any) -> None:
            self.stopping = True
            super().request_stop(signum, frame)

        def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
            super().heartbeat(timeout, pipeline)
            if pipeline is None:  # it reached Redis
                self.outage.up()

        def execute_job(self, job: Job, queue: Queue) -> None:
            self.in_hand = (job, queue.name)
            super().execute_job(job, queue)
            self.in_hand = None

        def _start_scheduler(self, burst: bool = False, logging_level: Any = "INFO", *args: Any, **kw: Any) -> None:
            """rq's, with the scheduler above (rq builds its own in this method)."""
            self.scheduler = _Scheduler(
                self.queues,
                connection=self.connection,
                serializer=self.serializer,
                logging_level=logging_level if logging_level is not None else self.log.level,
            )
            self.scheduler.acquire_locks()
            if not self.scheduler.acquired_locks:
                return
            if not burst:
                self.scheduler.start()
                return
            try:
                self.scheduler.register_birth()
                self.scheduler.enqueue_scheduled_jobs()
            finally:
                self.scheduler.release_locks()
                self.scheduler.register_death()

    return Supervised


def work(
    system: System,
    *,
    queues: Sequence[str] = QUEUES,
    fork: bool = False,
    burst: bool = False,
) -> None:
    """Run until stopped (or, with `burst`, until the queues are empty). `queues` in priority order:
    a worker always takes from the first one that is not empty. Jobs run in the worker itself (rq's
    SimpleWorker: parsed BPMN and connections kept, no fork per job; a job past its timeout is
    stopped by rq's SIGALRM death penalty all the same); `fork` runs each in a child instead, for
    the memory-heavy report jobs (WeasyPrint), whose memory then goes back with the child."""
    url = system.settings.redis_url
    if not url:
        raise ValueError("a worker needs LIFTCASE_REDIS_URL (embedded mode runs jobs in-process)")
    serve_jobs(JOBS, system, around=through_database_outages(system))
    Supervisor(Redis.from_url(url), list(queues), fork=fork).run(burst=burst)


def through_database_outages(system: System) -> Callable[[Callable[[], Any]], Any]:
    """Runs a job; if it failed because PostgreSQL is unreachable, waits until it is back (probing
    every 0.5 s) and runs it again. Jobs are idempotent, so a job cut off mid-way may run again.
    The outage is logged once by the database engine (infra.db), and once when it is back."""

    watched = database_outage(system.db) is not None  # PostgreSQL (a SQLite file does not go away)

    def run(job: Callable[[], Any]) -> Any:
        while True:
            try:
                return job()
            except Exception as err:
                if not (watched and database_unavailable(err)):
                    raise
                wait_for_database(system.db)

    return run


class Supervisor:
    def __init__(self, connection: Redis, queues: list[str], *, fork: bool) -> None:
        self.connection = connection
        self.queues = queues
        self.kind = _supervised(Worker if fork else SimpleWorker)
        self.outage = Outage("Redis")
        self.stopping = False
        self.stem = f"{socket.gethostname()}.{os.getpid()}"

    def run(self, *, burst: bool = False) -> None:
        quit_workers: list[Any] = []  # whose jobs in hand are still to be taken back
        for incarnation in itertools.count(1):
            worker = self.make_worker(incarnation)
            worker.log.addFilter(quiet := _RedisOutageLog(self.outage))
            try:
                while quit_workers:
                    self.take_back(quit_workers[0])
                    quit_workers.pop(0)
                worker.work(with_scheduler=True, burst=burst)
            except REDIS_DOWN as err:
                self.outage.down(err)
            finally:
                worker.log.removeFilter(quiet)
            if worker.stopping or self.stopping:
                return
            if burst and not self.outage.down_now and self._reachable():
                return
            self._bury(worker)
            quit_workers.append(worker)
            if not self._wait_for_redis():
                return

    def make_worker(self, incarnation: int) -> Any:
        worker = self.kind(self.queues, connection=self.connection, name=f"{self.stem}.{incarnation}",
                           worker_ttl=WORKER_TTL, maintenance_interval=MAINTENANCE_SECONDS)  # fmt: skip
        worker.outage = self.outage
        return worker

    def _reachable(self) -> bool:
        try:
            self.connection.ping()
        except REDIS_DOWN as err:
            self.outage.down(err)
            return False
        return True

    def _wait_for_redis(self) -> bool:
        """Backoff until Redis answers (False: a stop was asked for meanwhile). rq's signal handlers
        belong to the worker that quit; these ask the loop to stop instead."""

        def stop(_signum: int, _frame: Any) -> None:
            self.stopping = True

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, stop)
        delay = BACKOFF_START
        while not self.stopping and not self._reachable():
            time.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)
        if self.stopping:
            return False
        self.outage.up()
        return True

    def _bury(self, worker: Any) -> None:
        """What rq leaves running when its loop quits: a job's child process (let it finish its job),
        the pub/sub thread that would resubscribe as the dead worker."""
        if getattr(worker, "horse_pid", 0):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(worker.horse_pid, 0)
        if worker.pubsub_thread is not None:
            with contextlib.suppress(Exception):
                worker.pubsub_thread.stop()
        if worker.scheduler is not None:
            with contextlib.suppress(Exception):
                worker.stop_scheduler()

    def take_back(self, worker: Any) -> int:
        """Put back at the front of its queue every job the worker that quit had taken and not
        finished: the one in its hands (it may have been taken from its queue and not yet marked
        started, or Redis may have come back without it), and any it left started. rq would find
        the started ones abandoned only after their heartbeat expired and a maintenance pass
        (minutes later), counted as a failed try."""
        taken: dict[str, tuple[Job, str]] = {}
        if worker.in_hand is not None:
            job, queue_name = worker.in_hand
            taken[job.id] = (job, queue_name)
        for name in self.queues:
            for job_id, _execution in Queue(
                name, connection=self.connection
            ).started_job_registry.get_job_and_execution_ids(cleanup=False):
                with contextlib.suppress(NoSuchJobError):
                    job = Job.fetch(job_id, connection=self.connection)
                    if job.worker_name == worker.name:
                        taken.setdefault(job_id, (job, name))
        requeued = sum(self._requeue(job, name) for job, name in taken.values())
        if requeued:
            log.warning("%d job(s) were in hand when Redis went away: queued again (jobs are idempotent)", requeued)
        return requeued

    def _requeue(self, job: Job, queue_name: str) -> bool:
        queue = Queue(queue_name, connection=self.connection)
        if not Job.exists(job.id, connection=self.connection):
            job.save()  # Redis came back without it (no persistence)
        else:
            status = job.get_status(refresh=True)
            waiting = status == JobStatus.QUEUED and self.connection.lpos(queue.key, job.id) is not None
            if status != JobStatus.STARTED and (status != JobStatus.QUEUED or waiting):
                return False  # finished, failed (rq retries it), scheduled, or still in its queue
        queue.enqueue_job(job, at_front=True)
        registry = queue.started_job_registry
        for job_id, execution_id in registry.get_job_and_execution_ids(cleanup=False):
            if job_id == job.id:
                self.connection.zrem(registry.key, f"{job_id}:{execution_id}")
        return True
