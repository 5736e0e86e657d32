"""What the engine asks of the domain (processes/): who does a role's work, who hears of it, how
a case type's numbers begin. (The domain's service tasks are engine.services.ServiceTask objects.)"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from engine.models import Case


@dataclass(frozen=True)
class Assignment:
    organisation_id: int | None
    user_id: int | None = None


@dataclass(frozen=True)
class Recipient:
    organisation_id: int | None
    user_id: int | None
    role: str


class CaseHooks(Protocol):
    known_roles: Collection[str]

    def assign(self, session: Session, case: Case, role: str) -> Assignment: ...

    def recipients(self, session: Session, case: Case, role: str) -> list[Recipient]: ...

    def number_prefix(self, case_type: str) -> str: ...
