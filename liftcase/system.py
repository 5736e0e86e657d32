"""Wiring: settings -> database, job queue, clock, hooks and the case engine. One place, at start."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from engine.clock import Clock, SystemClock
from engine.definitions import Deployment, deploy
from engine.jobs import InProcessJobs, JobQueue, RqJobs
from engine.runner import CaseEngine
from liftcase.db import make_engine, make_sessionmaker
from liftcase.settings import Settings
from processes import complaint, expiry, rectification, rescue, warning  # noqa: F401 - register case types
from processes.catalogue import CASE_TYPES
from processes.roles import KNOWN_ROLES, RegistryRoles
from processes.services import domain_services


@dataclass
class System:
    settings: Settings
    db: Engine
    sessions: sessionmaker
    clock: Clock
    jobs: JobQueue
    engine: CaseEngine

    def deploy_processes(self, deployed_by: str = "system") -> list[Deployment]:
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

    def create_schema(self) -> None:
        """Bring the database to the newest migration (Alembic), on SQLite and PostgreSQL alike."""
        from liftcase.migrate import upgrade

        with self.db.begin() as connection:
            upgrade(self.settings.database_url, connection=connection)


_CURRENT: System | None = None


def build_system(settings: Settings, *, clock: Clock | None = None, jobs: JobQueue | None = None) -> System:
    global _CURRENT
    db = make_engine(settings.database_url)
    sessions = make_sessionmaker(db)
    clock = clock or SystemClock()
    if jobs is None:
        jobs = InProcessJobs() if settings.embedded else RqJobs(settings.redis_url or "")
    checks, effects = domain_services()
    hooks = RegistryRoles({k: ct.prefix for k, ct in CASE_TYPES.items()}, effects)
    engine = CaseEngine(
        sessions, clock, hooks, jobs, services=checks, script_time_limit=settings.script_time_limit_seconds
    )
    _CURRENT = System(settings, db, sessions, clock, jobs, engine)
    return _CURRENT


def current_system() -> System:
    """The process's system (rq workers build it on first use from the environment)."""
    return _CURRENT or build_system(Settings.from_env())
