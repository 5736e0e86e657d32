"""The running system the flows work with: settings, database, clock, job queue and case engine.

Built once per process by the application's bootstrap (liftcase.bootstrap) and passed in: to
flows as an argument, to jobs and periodic work by their queue or scheduler, to views through
the Flask app.
"""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from engine.definitions import Deployment
from engine.runner import CaseEngine
from infra.city import city_file
from infra.clock import Clock
from infra.jobs import JobQueue
from infra.settings import Settings
from processes.definitions import deploy_folder
from processes.sla import SlaSource

log = logging.getLogger(__name__)

# The cyclic garbage collector's thresholds in a process that steps cases (System.warm_up). A step
# allocates tens of thousands of container objects (workflow tasks and their data) that reference
# counting frees; at Python's default (700, 10, 10) they set off a young collection every few
# hundred and, with the workflows the engine keeps (engine.workflow_cache), a full collection of
# the whole heap every few hundred steps, ~100 ms each with the GIL held. Measured in-process
# (200 starts, 200 completions, 50 whole rescues): 300 ms of collections at the defaults, 40 ms at
# these; a completion 5.5 -> 4.0 ms CPU. The price: cyclic garbage (a workflow the cache let go)
# lives until a rarer collection, a few MB more memory.
GC_THRESHOLDS = (20_000, 20, 20)


@dataclass
class System:
    settings: Settings
    db: Engine
    sessions: sessionmaker
    clock: Clock
    jobs: JobQueue
    engine: CaseEngine

    @property
    def sla(self) -> SlaSource:
        """What intake reads the SLA from: the SLA file with the city profile's limits over it."""
        return SlaSource(self.settings.sla_file, city_file(self.settings.city, self.settings.cities_dir))

    def warm_up(self) -> None:
        """What every API or worker process needs before its first request: the deployed processes
        read and parsed, the garbage collector set for stepping cases (GC_THRESHOLDS). Best effort:
        a database that is not up yet only defers the parsing to first use."""
        gc.set_threshold(*GC_THRESHOLDS)
        try:
            with self.sessions() as session:
                self.engine.warm_up(session)
        except OperationalError as err:
            log.warning("warm-up deferred (database unavailable): %s", str(err).splitlines()[0])

    def deploy_processes(self, deployed_by: str = "system") -> list[Deployment]:
        """Deploy every BPMN file in the settings' folder (a new version only where it changed)."""
        return deploy_folder(self, deployed_by)
