"""Background jobs behind one small interface: rq on Redis when deployed, in-process when embedded.

A job is a plain function registered by name in a `JobRegistry` (filled once, by the application's
bootstrap). It receives the context its queue was given (the running system) and then its
arguments, so no job reaches for a global. Both queues run the same functions: embedded mode
exercises exactly the code the rq workers run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

log = logging.getLogger(__name__)

JobFunction = Callable[..., Any]  # called as func(context, *args)
RQ_QUEUE = "liftcase"
_RQ_RETRY_INTERVALS = [1, 5, 15, 60, 300]


class UnknownJob(KeyError):
    pass


class JobRegistry:
    """Job functions by name: filled in one place, read by queues and workers."""

    def __init__(self, jobs: Mapping[str, JobFunction] | None = None) -> None:
        self._jobs: dict[str, JobFunction] = dict(jobs or {})

    def __getitem__(self, name: str) -> JobFunction:
        try:
            return self._jobs[name]
        except KeyError:
            raise UnknownJob(f"no job named {name!r} is registered (known: {', '.join(sorted(self._jobs))})") from None

    def __contains__(self, name: object) -> bool:
        return name in self._jobs

    def names(self) -> Iterable[str]:
        return self._jobs.keys()


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
    """Enqueues onto rq; a worker process (`liftcase worker`) runs `run_job` with its own context."""

    def __init__(self, redis_url: str, registry: JobRegistry | None = None, queue: str = RQ_QUEUE) -> None:
        from redis import Redis
        from rq import Queue

        self.registry = registry
        self.queue = Queue(queue, connection=Redis.from_url(redis_url))

    def _check(self, name: str) -> None:
        if self.registry is not None:
            self.registry[name]  # an unknown name fails here, not later in a worker

    def enqueue(self, name: str, *args: Any) -> None:
        from rq import Retry

        self._check(name)
        self.queue.enqueue(run_job, name, *args, retry=Retry(max=5, interval=_RQ_RETRY_INTERVALS))

    def enqueue_many(self, name: str, arg_sets: list[tuple[Any, ...]]) -> None:
        from rq import Retry

        if not arg_sets:
            return
        self._check(name)
        retry = Retry(max=5, interval=_RQ_RETRY_INTERVALS)
        with self.queue.connection.pipeline() as pipe:  # one Redis round trip for the whole burst
            self.queue.enqueue_many(
                [self.queue.prepare_data(run_job, (name, *args), retry=retry) for args in arg_sets], pipeline=pipe
            )
            pipe.execute()


# What this process's rq worker runs jobs with: set once by the worker entry (`serve_jobs`).
_served: tuple[JobRegistry, Any] | None = None


def serve_jobs(registry: JobRegistry, context: Any) -> None:
    """Called by a worker process before it takes jobs: `run_job` resolves names in `registry`
    and hands each job `context`."""
    global _served
    _served = (registry, context)


def run_job(name: str, *args: Any) -> Any:
    """The single rq entry point: the job by name, with the worker's context."""
    if _served is None:
        raise RuntimeError("this process takes rq jobs without a registry: start it with `liftcase worker`")
    registry, context = _served
    return registry[name](context, *args)
