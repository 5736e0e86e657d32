"""Background jobs behind one small interface: rq on Redis when deployed, in-process when embedded.

A job is a plain function registered by name in a `JobRegistry` (filled once, by the application's
bootstrap) together with the queue it runs from. It receives the context its queue was given (the
running system) and then its arguments, so no job reaches for a global. Both queues run the same
functions: embedded mode exercises exactly the code the rq workers run.

Queues by urgency (deployed): a worker listens on them in this order and always takes from the first
one that is not empty, so a trapped passenger never waits behind a notice or a PDF.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

JobFunction = Callable[..., Any]  # called as func(context, *args)
CASES_P1 = "cases-p1"  # intake that opens or feeds a P1 rescue (trapped findings)
NOTIFY_P1 = "notify-p1"  # a P1 rescue's notices: the people who free a trapped passenger
CASES = "cases"  # other intake, case work
NOTIFY = "notify"  # notification sends, channel deliveries, their retries
REPORTS = "reports"  # PDFs, exports
QUEUES: tuple[str, ...] = (CASES_P1, NOTIFY_P1, CASES, NOTIFY, REPORTS)  # most urgent first
_RQ_RETRY_INTERVALS = [1, 5, 15, 60, 300]


class UnknownJob(KeyError):
    pass


@dataclass(frozen=True)
class Job:
    """A job function, the queue it runs from, and optionally what makes one payload urgent: a job
    whose arguments `urgent(*args)` holds for runs from `urgent_queue` instead."""

    func: JobFunction
    queue: str
    urgent: Callable[..., bool] | None = None
    urgent_queue: str = CASES_P1

    def queue_for(self, args: tuple[Any, ...]) -> str:
        return self.urgent_queue if self.urgent is not None and self.urgent(*args) else self.queue


class JobRegistry:
    """Jobs by name, each with its queue: filled in one place, read by queues and workers."""

    def __init__(self, jobs: Mapping[str, Job] | None = None) -> None:
        self._jobs: dict[str, Job] = dict(jobs or {})
        unknown = {q for j in self._jobs.values() for q in (j.queue, j.urgent_queue)} - set(QUEUES)
        if unknown:
            raise ValueError(f"jobs routed to unknown queues {sorted(unknown)} (known: {', '.join(QUEUES)})")

    def job(self, name: str) -> Job:
        try:
            return self._jobs[name]
        except KeyError:
            raise UnknownJob(f"no job named {name!r} is registered (known: {', '.join(sorted(self._jobs))})") from None

    def __getitem__(self, name: str) -> JobFunction:
        return self.job(name).func

    def __contains__(self, name: object) -> bool:
        return name in self._jobs

    def names(self) -> Iterable[str]:
        return self._jobs.keys()

    def queue_for(self, name: str, args: tuple[Any, ...]) -> str:
        """The queue one job of `name` with these arguments goes to."""
        return self.job(name).queue_for(args)


class JobQueue(Protocol):
    def enqueue(self, name: str, *args: Any) -> None: ...

    def enqueue_many(self, name: str, arg_sets: list[tuple[Any, ...]]) -> None:
        """Many jobs of one kind at once (a burst of case starts): one round trip where the queue can."""
        ...


class InProcessJobs:
    """Runs each job right away in the caller's thread, retrying like rq would; failures are logged.
    `bind` gives it the context its jobs receive (the system, once it is built)."""

    def __init__(self, registry: JobRegistry, retries: int = 3) -> None:
        self.registry = registry
        self.retries = retries
        self.context: Any = None
        self.failed: list[tuple[str, tuple[Any, ...], str]] = []
        self._lock = threading.Lock()

    def bind(self, context: Any) -> None:
        self.context = context

    def enqueue(self, name: str, *args: Any) -> None:
        func = self.registry[name]
        last = ""
        for attempt in range(1, self.retries + 1):
            try:
                func(self.context, *args)
                return
            except Exception as err:
                log.warning("job %s failed (attempt %d): %s", name, attempt, err)
                last = repr(err)
        with self._lock:
            self.failed.append((name, args, last))

    def enqueue_many(self, name: str, arg_sets: list[tuple[Any, ...]]) -> None:
        for args in arg_sets:
            self.enqueue(name, *args)


class RqJobs:
    """Enqueues onto rq, each job on its queue (`JobRegistry.queue_for`); worker processes
    (`liftcase worker`) run `run_job` with their own context. `single_queue` puts every job on that
    one queue instead, first in first out (how liftcase ran before the queues by urgency; benchmarks
    compare the two)."""

    def __init__(self, redis_url: str, registry: JobRegistry, *, single_queue: str | None = None) -> None:
        from redis import Redis

        self.registry = registry
        self.single_queue = single_queue
        self.connection = Redis.from_url(redis_url)
        self._queues: dict[str, Any] = {}

    def queue(self, name: str) -> Any:
        """The rq queue named `name` (made once)."""
        from rq import Queue

        if name not in self._queues:
            self._queues[name] = Queue(name, connection=self.connection)
        return self._queues[name]

    def _queue_for(self, name: str, args: tuple[Any, ...]) -> Any:
        routed = self.registry.queue_for(name, args)  # an unknown name fails here, not later in a worker
        return self.queue(self.single_queue or routed)

    def enqueue(self, name: str, *args: Any) -> None:
        from rq import Retry

        self._queue_for(name, args).enqueue(run_job, name, *args, retry=Retry(max=5, interval=_RQ_RETRY_INTERVALS))

    def enqueue_many(self, name: str, arg_sets: list[tuple[Any, ...]]) -> None:
        from rq import Retry

        if not arg_sets:
            return
        retry = Retry(max=5, interval=_RQ_RETRY_INTERVALS)
        by_queue: dict[str, list[tuple[Any, ...]]] = {}
        for args in arg_sets:
            by_queue.setdefault(self._queue_for(name, args).name, []).append(args)
        with self.connection.pipeline() as pipe:  # one Redis round trip for the whole burst
            for queue_name, sets in by_queue.items():
                queue = self.queue(queue_name)
                queue.enqueue_many(
                    [queue.prepare_data(run_job, (name, *args), retry=retry) for args in sets], pipeline=pipe
                )
            pipe.execute()


# What this process's rq worker runs jobs with: set once by the worker entry (`serve_jobs`).
_served: tuple[JobRegistry, Any, Callable[[Callable[[], Any]], Any]] | None = None


def _run(job: Callable[[], Any]) -> Any:
    return job()


def serve_jobs(registry: JobRegistry, context: Any, around: Callable[[Callable[[], Any]], Any] = _run) -> None:
    """Called by a worker process before it takes jobs: `run_job` resolves names in `registry`
    and hands each job `context`; `around` runs each (the worker's: waiting out a database outage)."""
    global _served
    _served = (registry, context, around)


def run_job(name: str, *args: Any) -> Any:
    """The single rq entry point: the job by name, with the worker's context."""
    if _served is None:
        raise RuntimeError("this process takes rq jobs without a registry: start it with `liftcase worker`")
    registry, context, around = _served
    func = registry[name]
    return around(lambda: func(context, *args))
