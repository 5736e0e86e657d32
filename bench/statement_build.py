"""CPU to make a request's scope-bound statements: built once per scope and reused (what the API
does) against built anew on every request (the functions' uncached originals), same run. No
database: the cost measured is SQLAlchemy building the statement and its cache key, which every
task list, case page and task look-up of a non-city-wide user paid before.

Usage: python bench/statement_build.py [--scopes 200] [--rounds 20]
Last line: fresh_us=… reused_us=… ratio=… (per request: task list + one case's visibility check)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Select, select

from engine.models import Case
from processes.case_service import task_query
from processes.visibility import cases_visible
from registry.models import OrgKind, Role
from registry.scope import Scope


def request(scope: Scope, *, reuse: bool) -> None:
    """A task list and one case's check: the two scope-bound statements of a typical request."""
    tasks: Select = task_query(scope, "mine", None) if reuse else task_query.__wrapped__(scope, "mine", None)
    visible = cases_visible(scope) if reuse else cases_visible.__wrapped__(scope)
    for stmt in (tasks, select(Case.id).where(Case.id == 1, visible)):
        stmt._generate_cache_key()  # what executing it computes first


def per_request_us(scopes: list[Scope], rounds: int, *, reuse: bool) -> float:
    started = time.process_time()
    for _ in range(rounds):
        for scope in scopes:
            request(scope, reuse=reuse)
    return (time.process_time() - started) / (rounds * len(scopes)) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scopes", type=int, default=200, help="distinct users (maintenance technicians)")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    scopes = [
        Scope(i, f"tech{i}", frozenset({Role.MAINTENANCE}), 1000 + i % 40, OrgKind.MAINTENANCE_UNIT, None)
        for i in range(args.scopes)
    ]
    for scope in scopes:  # every scope seen once, as in a running API process
        request(scope, reuse=True)
    fresh = per_request_us(scopes, args.rounds, reuse=False)
    reused = per_request_us(scopes, args.rounds, reuse=True)
    print(f"fresh_us={fresh:.1f} reused_us={reused:.1f} ratio={fresh / max(reused, 1e-9):.1f}")


if __name__ == "__main__":
    main()
