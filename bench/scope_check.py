"""One case's scope check for a maintenance unit (processes.visibility.cases_visible), as the
unit's task history grows, against the IN (subquery) form it replaced, in the same run.

Every single-case read of a non-city-wide user (a case page, a task look-up, the task list of a
case) carries this condition. OR-ed IN subqueries make PostgreSQL hash every elevator the unit
maintains and every task it was ever given, even to check one case; the correlated EXISTS form
probes the indexes for that case.

Usage: python bench/scope_check.py [--history 0,20000,200000] [--repeat 50]
Last line: exists_ms@N=… in_ms@N=… … ratio=… (IN time over EXISTS time at the largest history)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "bench"))

from rescue_http import PG, prepare  # noqa: E402
from served import fresh_database  # noqa: E402
from sqlalchemy import ColumnElement, or_, select, text  # noqa: E402

from engine.models import Case, CaseTask  # noqa: E402
from processes.intake import open_or_join  # noqa: E402
from processes.visibility import cases_visible  # noqa: E402
from registry.equipment.models import Equipment  # noqa: E402
from registry.models import Elevator, Organisation, User  # noqa: E402
from registry.scope import Scope, elevators_visible, equipment_visible  # noqa: E402


def in_subqueries(scope: Scope) -> ColumnElement[bool]:
    """The form cases_visible had before (a maintenance unit's part of it)."""
    return or_(
        Case.elevator_id.in_(select(Elevator.id).where(elevators_visible(scope))),
        Case.equipment_id.in_(select(Equipment.id).where(equipment_visible(scope))),
        Case.id.in_(select(CaseTask.case_id).where(CaseTask.organisation_id == scope.organisation_id)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--history", default="0,20000,200000", help="the unit's past tasks, cumulative steps")
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    results: list[str] = []
    ratio = 0.0
    with fresh_database(PG, "scope") as url:
        system, _, _, lifts = prepare(url)
        elevator_id, unit = lifts[0]
        case_id = open_or_join(
            system.engine, system.settings.sla_file, "rescue", elevator_id=elevator_id, signal={"source": "phone"}
        ).case_id
        with system.sessions() as session:
            user = session.scalar(select(User).where(User.organisation_id == unit))
            assert user is not None
            scope = Scope.of(user, session.get(Organisation, unit))
        had = 0
        for history in (int(h) for h in args.history.split(",")):
            with system.db.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO case_tasks (case_id, spiff_task_id, bpmn_id, title, role, organisation_id, "
                        "status, created_at) SELECT :case, gen_random_uuid()::text, 'past', 'past', 'maintenance', "
                        ":org, 'completed', now() FROM generate_series(1, :n)"
                    ),
                    {"case": case_id, "org": unit, "n": max(history - had, 0)},
                )
                conn.execute(text("ANALYZE case_tasks"))
            had = max(history, had)
            timings = {}
            for name, condition in (("exists", cases_visible(scope)), ("in", in_subqueries(scope))):
                query = select(Case.id).where(Case.id == case_id, condition)
                with system.db.connect() as conn:
                    conn.execute(query).all()  # planned and prepared before timing
                    started = time.perf_counter()
                    for _ in range(args.repeat):
                        assert conn.execute(query).all()
                    timings[name] = (time.perf_counter() - started) * 1000 / args.repeat
            results.append(f"exists_ms@{history}={timings['exists']:.3f} in_ms@{history}={timings['in']:.3f}")
            ratio = timings["in"] / timings["exists"]
        system.db.dispose()
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", file=sys.stderr)
    print(" ".join(results) + f" ratio={ratio:.2f}")


if __name__ == "__main__":
    main()
