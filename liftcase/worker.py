"""The rq worker entry: takes jobs from Redis and runs each with this process's system."""

from __future__ import annotations

from redis import Redis
from rq import SimpleWorker, Worker

from infra.jobs import RQ_QUEUE, serve_jobs
from liftcase.bootstrap import JOBS
from processes.system import System


def work(system: System, *, fork: bool = True, burst: bool = False) -> None:
    """Run until stopped (or, with `burst`, until the queue is empty). `fork` runs each job in a
    child (isolation); without it, jobs run in the worker itself (keeps parsed BPMN and connections)."""
    if not system.settings.redis_url:
        raise ValueError("a worker needs LIFTCASE_REDIS_URL (embedded mode runs jobs in-process)")
    serve_jobs(JOBS, system)
    kind = Worker if fork else SimpleWorker
    kind([RQ_QUEUE], connection=Redis.from_url(system.settings.redis_url)).work(with_scheduler=True, burst=burst)
