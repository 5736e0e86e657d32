"""The running system the flows work with: settings, database, clock, job queue and case engine.

Built once per process by the application's bootstrap (liftcase.bootstrap) and passed in: to
flows as an argument, to jobs and periodic work by their queue or scheduler, to views through
the Flask app.
"""

from __future__ import annotations

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
        read and parsed. Best effort: a database that is not up yet only defers it to first use."""
        try:
            with self.sessions() as session:
                self.engine.warm_up(session)
        except OperationalError as err:
            log.warning("warm-up deferred (database unavailable): %s", str(err).splitlines()[0])

    def deploy_processes(self, deployed_by: str = "system") -> list[Deployment]:
        """Deploy every BPMN file in the settings' folder (a new version only where it changed)."""
        return deploy_folder(self, deployed_by)
