"""What the engine asks of the domain (processes/): who does a role's work, who hears of it."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session

from engine.models import Case
from engine.scripting import Effect


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

    def apply_effect(self, session: Session, case: Case, effect: Effect) -> dict[str, Any] | None:
        """Carry out a domain service effect (a flag, a record); return a timeline payload."""
        ...

    def number_prefix(self, case_type: str) -> str: ...
