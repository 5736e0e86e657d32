"""Deploying small BPMN documents in tests: through the lint, or past it (a version deployed before
a lint rule existed, which the engine must still run safely)."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select

from engine.definitions import Deployment, deploy
from engine.models import ProcessDefinition
from processes.roles import KNOWN_ROLES
from processes.system import System


def lint_deploy(system: System, xml: str) -> Deployment:
    with system.sessions() as session, session.begin():
        return deploy(
            session,
            xml,
            forms_dir=system.settings.forms_dir,
            known_roles=KNOWN_ROLES,
            services=system.engine.services.handlers,
            deployed_by="analyst",
            now=system.clock.now(),
        )


def force_deploy(system: System, xml: str, key: str) -> None:
    """A new version of `key` without the lint."""
    with system.sessions() as session, session.begin():
        version = session.scalar(select(func.max(ProcessDefinition.version)).where(ProcessDefinition.key == key))
        session.add(
            ProcessDefinition(
                key=key,
                version=(version or 0) + 1,
                name=key,
                bpmn_xml=xml,
                forms={},
                content_hash=hashlib.sha256(xml.encode()).hexdigest(),
                deployed_by="analyst",
                deployed_at=system.clock.now(),
            )
        )
    system.engine._latest_cache.clear()  # deploy() tells the engine of a new version; this does it by hand
