"""Two people complete the same task at the same moment: exactly one wins, the other gets a conflict."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from demo.scenarios import an_elevator, open_task
from engine.models import CaseTask, TimelineEvent
from infra.errors import Conflict
from processes.intake import open_or_join
from processes.system import System
from tests.support.helpers import kinds


def test_concurrent_completions_one_wins(system: System) -> None:
    for _attempt in range(5):  # several rounds, so the race really happens on both databases
        case_id = open_or_join(
            system.engine, system.settings.sla_file, "rescue", elevator_id=an_elevator(system), signal={"source": "qr"}
        ).case_id
        task_id = open_task(system, case_id, "verify_dispatch")
        barrier = threading.Barrier(2)
        results: list[str] = []

        def complete(who: str, barrier=barrier, task_id=task_id, results=results) -> None:  # type: ignore[no-untyped-def]
            barrier.wait()
            try:
                system.engine.complete_task(task_id, {"outcome": "dispatch"}, actor=who)
                results.append("ok")
            except Conflict as err:
                results.append(f"conflict: {err}")

        threads = [threading.Thread(target=complete, args=(name,)) for name in ("seat-1", "seat-2")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(r.split(":")[0] for r in results) == ["conflict", "ok"], results
        assert "already completed" in next(r for r in results if r != "ok") or "changed by someone" in "".join(results)
        assert len(kinds(system, case_id, "task_completed")) == 1
        with system.sessions() as session:
            assert (
                session.scalar(
                    select(func.count())
                    .select_from(CaseTask)
                    .where(CaseTask.case_id == case_id, CaseTask.bpmn_id == "accept_order")
                )
                == 1
            )
            seqs = list(session.scalars(select(TimelineEvent.seq).where(TimelineEvent.case_id == case_id)))
            assert sorted(seqs) == list(range(1, len(seqs) + 1))
        system.engine.cancel_case(case_id, "test round over", actor="test")
