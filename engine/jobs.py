"""Background jobs behind one small interface: rq on Redis when deployed, in-process when embedded.

Job functions are plain functions registered by name; both queues run the same functions, so
embedded mode exercises exactly the code the rq workers run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)

JOBS: dict[str, Callable[..., Any]] = {}


def job(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        JOBS[name] = func
        return func

    return register


class JobQueue(Protocol):
    def enqueue(self, name: str, *args: Any) -> None: ...

    def enqueue_many(self, name: str, arg_sets: list[tuple[Any, ...]]) -> None:
        """Many jobs of one kind at once (a burst of case starts): one round trip where the queue can."""
        ...


class InProcessJobs:
    """Runs each job right away in the caller's thread, retrying like rq would; failures are logged."""

    def __init__(self, retries: int = 3) -> None:
        self.retries = retries
        self.failed: list[tuple[str, tuple[Any, ...], str]] = []
        self._lock = threading.Lock()

    def enqueue(self, name: str, *args: Any) -> None:
        for attempt in range(1, self.retries + 1):
            try:
                JOBS[name](*args)
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
    """Enqueues onto rq; a worker process (`liftcase worker`) runs `engine.jobs.run_job`."""

    def __init__(self, redis_url: str, queue: str = "liftcase") -> None:
        from redis import Redis
        from rq import Queue

        self.queue = Queue(queue, connection=Redis.from_url(redis_url))

    def enqueue(self, name: str, *args: Any) -> None:
        from rq import Retry

        self.queue.enqueue(run_job, name, *args, retry=Retry(max=5, interval=[1, 5, 15, 60, 300]))

    def enqueue_many(self, name: str, arg_sets: list[tuple[Any, ...]]) -> None:
        from rq import Retry

        if not arg_sets:
            return
        retry = Retry(max=5, interval=[1, 5, 15, 60, 300])
        with self.queue.connection.pipeline() as pipe:  # one Redis round trip for the whole burst
            self.queue.enqueue_many(
                [self.queue.prepare_data(run_job, (name, *args), retry=retry) for args in arg_sets], pipeline=pipe
            )
            pipe.execute()


def run_job(name: str, *args: Any) -> Any:
    """The single rq entry point: resolve the job by name in the worker's registry."""
    import liftcase.jobs  # noqa: F401 - registers the job functions in a fresh worker

    return JOBS[name](*args)
