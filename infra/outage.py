"""A service this process depends on (PostgreSQL, Redis) going away and coming back, logged as two
state changes: one line when it goes, one when it is back, with how long and how many failed tries.
Never one line per retry or per request."""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger("liftcase.outage")


class Outage:
    def __init__(self, service: str, meanwhile: str = "waiting for it, retrying with backoff") -> None:
        self.service = service
        self.meanwhile = meanwhile  # what this process does until it is back
        self.since: float | None = None  # monotonic time it went away; None while it is up
        self.failures = 0
        self._lock = threading.Lock()

    @property
    def down_now(self) -> bool:
        return self.since is not None

    def down(self, error: BaseException | str) -> None:
        """A try failed because the service is unreachable (logged only the first time)."""
        with self._lock:
            self.failures += 1
            if self.since is not None:
                return
            self.since = time.monotonic()
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        log.warning("%s unreachable (%s); %s", self.service, first_line, self.meanwhile)

    def up(self) -> None:
        """A try succeeded: if the service was away, say once that it is back."""
        if self.since is None:
            return
        with self._lock:
            if self.since is None:
                return
            seconds, failures = time.monotonic() - self.since, self.failures
            self.since, self.failures = None, 0
        log.warning("%s reachable again after %.1f s (%d failed tries); resuming", self.service, seconds, failures)
