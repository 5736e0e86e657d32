"""The running system the flows work with: settings, database, clock, job queue and case engine.

Built once per process by the application's bootstrap (liftcase.bootstrap) and passed in: to
flows as an argument, to jobs and periodic work by their queue or scheduler, to views through
the Flask app.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from engine.definitions import Deployment, deploy
from engine.runner import CaseEngine
from infra.clock import Clock
from infra.jobs import JobQueue
from infra.settings import Settings
from processes.roles import KNOWN_ROLES


@dataclass
class System:
    settings: Settings
    db: Engine
    sessions: sessionmaker
    clock: Clock
    jobs: JobQueue
    engine: CaseEngine

    def deploy_processes(self, deployed_by: str = "system") -> list[Deployment]:
        """Deploy every BPMN file in the settings' folder (a new version only where it changed)."""
        results = []
        with self.sessions() as session, session.begin():
            for path in sorted(Path(self.settings.bpmn_dir).glob("*.bpmn")):
                results.append(
                    deploy(
                        session,
                        path.read_text(encoding="utf-8"),
                        forms_dir=self.settings.forms_dir,
                        known_roles=KNOWN_ROLES,
                        services=self.engine.services.handlers,
                        deployed_by=deployed_by,
                        now=self.clock.now(),
                        filename=path.name,
                    )
                )
        return results
