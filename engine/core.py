"""What every engine operation works with: sessions, clock, the domain's hooks, the service tasks,
ids, the process versions read so far, and the transaction that turns a lost race into Conflict.

engine.runner.CaseEngine adds the public operations; engine.starts.StartBatch uses these parts
to start cases inside a transaction it is handed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from engine.definitions import deploy_generation, latest_definition, parsed_definition
from engine.hooks import CaseHooks
from engine.limits import Limits
from engine.models import Case, ProcessDefinition
from engine.numbers import IdAllocator
from engine.recorder import QueuedNotices
from engine.scripting import CaseScriptEngine
from engine.services import ServiceRegistry, ServiceTask, builtin_services
from engine.workflow_cache import WorkflowCache
from engine.writes import StaleCase
from infra.clock import Clock
from infra.errors import Conflict, NotFound

# How long a process trusts its idea of a process's latest version (a deploy elsewhere shows after this).
LATEST_TTL_SECONDS = 5.0


class EngineCore:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        hooks: CaseHooks,
        services: Sequence[ServiceTask] = (),
        script_time_limit: float = 1.0,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.hooks = hooks
        # What happens after a commit that queued notifications (the engine's outbox): the
        # application delivers them, e.g. by enqueuing jobs. One batch per case, with its priority.
        self.notifications_queued: Callable[[list[QueuedNotices]], None] = lambda batches: None
        # The engine's own service tasks and the domain's (each operator name once).
        self.services = ServiceRegistry([*builtin_services(hooks), *services])
        # Per script, per engine run, memory (engine.limits); tests and operators may tighten them.
        self.limits = Limits(script_seconds=script_time_limit)
        self.ids = IdAllocator(sessions.kw["bind"])
        self._definitions: dict[int, ProcessDefinition] = {}
        self._latest_cache: dict[str, tuple[int, float, ProcessDefinition]] = {}
        # Workflows as this process's last committed steps left them (engine.workflow_cache).
        self.workflows = WorkflowCache()

    def script_engine(self, clock: Clock | None = None) -> CaseScriptEngine:
        """A script engine for one run, on the engine's clock or on `clock` (a timer batch steps
        each case at its due time)."""
        return CaseScriptEngine(clock or self.clock, self.services, limits=self.limits)

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        session = self.sessions()
        try:
            with session.begin():
                yield session
        except (StaleDataError, StaleCase) as err:
            raise Conflict("the case was changed by someone else at the same time; reload and retry") from err
        finally:
            session.close()

    def _lock_case(self, session: Session, case_id: int) -> Case:
        case = session.scalar(select(Case).where(Case.id == case_id).with_for_update())
        if case is None:
            raise NotFound(f"case {case_id} not found")
        return case

    def definition(self, session: Session, definition_id: int) -> ProcessDefinition:
        """A version's row never changes, so it is read once per engine."""
        found = self._definitions.get(definition_id)
        if found is None:
            found = session.get(ProcessDefinition, definition_id)
            if found is None:
                raise NotFound(f"process definition {definition_id} not found")
            session.expunge(found)
            self._definitions[definition_id] = found
        return found

    def warm_up(self, session: Session) -> int:
        """Read and parse the newest version of every deployed process now, at start-up, so that
        no request pays for it; how many. Older versions (cases started on them) parse on first use."""
        keys = session.scalars(select(ProcessDefinition.key).distinct()).all()
        for key in keys:
            parsed_definition(self.latest(session, key))
        return len(keys)

    def latest(self, session: Session, key: str) -> ProcessDefinition:
        """The newest version of a process, trusted for LATEST_TTL_SECONDS (or until a deploy here)."""
        hit = self._latest_cache.get(key)
        now = time.monotonic()
        if hit is not None and hit[0] == deploy_generation() and now < hit[1]:
            return hit[2]
        found = latest_definition(session, key)
        if found is None:
            raise NotFound(f"no deployed process {key!r}")
        session.expunge(found)
        self._definitions[found.id] = found
        self._latest_cache[key] = (deploy_generation(), now + LATEST_TTL_SECONDS, found)
        return found
