"""Firing due timers as a batch: claim many due cases, step each in memory, write them together.

One batch is one transaction (CaseEngine.fire_due opens it):
1. Claim. Cases whose earliest timer is due (by `due_by`) are taken in due order. On PostgreSQL
   each claim is a transaction-level advisory lock taken with pg_try_advisory_xact_lock, so two
   schedulers partition the due cases (each skips what the other holds) and a scheduler killed
   mid-batch loses its claims with its connection. SQLite has one scheduler; BEGIN IMMEDIATE
   holds the write lock from the first statement.
2. Step. Each case is loaded and stepped in memory with the engine's clock fixed at its due time
   (or now, when it is overdue), exactly as CaseEngine.fire_timers would step it; a case whose step
   raises is left out (its timers are retried later), a case a limit stopped becomes an incident
   after the commit. Domain effects on ORM objects stay pending (no autoflush) until the write.
3. Write. The claimed case rows are locked (`FOR UPDATE SKIP LOCKED`) and their versions compared
   with the ones stepped: a case someone else locked or changed meanwhile is left for the next
   pass (the timers are still due; nothing of it is written). The rest is written by one
   engine.writes.Writes (versioned UPDATEs, one bulk INSERT per table, one pipeline).
4. Commit, never before the latest due time stepped: a scheduler may step cases a few seconds
   ahead (`lookahead`), so a burst due at one instant is committed at that instant.

Each case's timeline entries are chained from the head read in step 2; the row lock and the
version check in step 3 make sure no other entry was appended in between, so one transaction per
batch keeps every guarantee that one transaction per step gave.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, Row, Select, bindparam, delete, func, select, text, update
from sqlalchemy.orm import Session

from engine.core import EngineCore
from engine.definitions import parsed_definition
from engine.limits import find_stop
from engine.models import Case, CaseStatus, CaseTimer
from engine.numbers import IdSource
from engine.recorder import QueuedNotices, StepRecorder
from engine.sandbox import ScriptStopped
from engine.serialization import load_state
from engine.steps import before_step, finish_step, run_engine
from engine.writes import CASES, TIMERS, Writes
from infra.clock import SimulatedClock
from infra.db import UTCDateTime

log = logging.getLogger(__name__)

# The advisory-lock class of timer claims (two-key form: this, the case id). "tm" in ASCII.
CLAIM_CLASS = 0x746D
# A case whose step raised is tried again after this.
RETRY_AFTER = timedelta(seconds=60)
# Cases due within this much of the first one are committed together.
SAME_INSTANT = timedelta(milliseconds=100)

_CLAIM_PG = (
    text(
        # The lock is tried only on the n candidates the LIMIT keeps: PostgreSQL evaluates a filter
        # over a sorted subquery for more rows than an outer LIMIT returns, so a claim of 10 took
        # the locks of every due case and a second scheduler found nothing. Cases another
        # scheduler holds are left out of the candidates (pg_locks), so they never fill the n.
        # pg_locks shows every database's locks, advisory locks are per database: only this one's.
        "SELECT d.case_id, d.due FROM (SELECT case_id, min(fire_at) AS due FROM case_timers "
        "WHERE fire_at <= :cap AND NOT (case_id = ANY(CAST(:held AS integer[]))) "
        "AND case_id::bigint NOT IN (SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' "
        f"AND classid = {CLAIM_CLASS} AND objsubid = 2 "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) "
        "GROUP BY case_id ORDER BY due, case_id LIMIT :n) AS d "
        f"WHERE pg_try_advisory_xact_lock({CLAIM_CLASS}, d.case_id)"
    )
    .bindparams(bindparam("cap", type_=UTCDateTime()))
    .columns(case_id=Integer, due=UTCDateTime())
)


def _due_by_case(*conditions: ColumnElement[bool]) -> Select[int, datetime]:
    """(case id, its earliest due time) of the timer rows meeting `conditions`, in due order."""
    due = func.min(CaseTimer.fire_at).label("due")
    return (
        select(CaseTimer.case_id, due).where(*conditions).group_by(CaseTimer.case_id).order_by(due, CaseTimer.case_id)
    )


class Pace:
    """How long this process takes to step a case and to lock and write one (moving averages).
    A batch stepped ahead takes only as many cases as it can step before its due time, and starts
    its write twice the expected write time, plus 0.2 s, before that time (meanwhile a person's
    step on one of its cases waits for the row lock)."""

    def __init__(self, step: float = 0.01, write: float = 0.003) -> None:
        self.step, self.write = step, write

    def lead(self, cases: int) -> timedelta:
        return timedelta(seconds=0.2 + 2 * self.write * cases)

    def room(self, cases: int, until: datetime, now: datetime) -> int:
        """How many more cases fit before `until`, next to the `cases` held (margin 1.5x)."""
        left = (until - now - self.lead(cases)).total_seconds()
        return max(0, int(left / (1.5 * self.step + 2 * self.write)))

    def observe_step(self, cases: int, seconds: float) -> None:
        if cases >= 10:
            self.step = 0.5 * self.step + 0.5 * seconds / cases

    def observe_write(self, cases: int, seconds: float) -> None:
        if cases >= 20:  # small batches say more about fixed costs than about the pace
            self.write = 0.5 * self.write + 0.5 * seconds / cases


@dataclass
class Stepped:
    """A case stepped in memory, waiting to be written."""

    recorder: StepRecorder
    version: int
    due: datetime


@dataclass
class TimerBatch:
    """One transaction's claimed cases and what stepping them gave (CaseEngine.fire_due runs it)."""

    engine: EngineCore
    session: Session
    stepped: dict[int, Stepped] = field(default_factory=dict)
    closed: list[int] = field(default_factory=list)  # not open, yet with timer rows: rows removed
    failed: dict[int, BaseException] = field(default_factory=dict)  # step raised: retried later
    stops: dict[int, tuple[str, ScriptStopped]] = field(default_factory=dict)  # case id -> (number, stop)
    skipped: int = 0  # locked or changed by someone else before the write: the next pass takes them
    claimed: int = 0
    commit_at: datetime | None = None
    failed_until: datetime | None = None  # the latest due time a failed case was stepped at

    @property
    def fired(self) -> int:
        return len(self.stepped)

    @property
    def notification_batches(self) -> list[QueuedNotices]:
        return [q for s in self.stepped.values() if (q := s.recorder.queued_notices()) is not None]

    # -- 1. claim ------------------------------------------------------------------------------
    def claim(self, now: datetime, horizon: datetime, n: int) -> list[tuple[int, datetime]]:
        """Up to n (case id, earliest due time) not claimed yet, in due order. The cap is the first
        due time found (or now, when overdue) plus SAME_INSTANT, and never past `horizon`."""
        first = self.session.scalar(select(func.min(CaseTimer.fire_at)))
        if first is None or first > horizon:
            return []
        cap = min(max(first, now) + SAME_INSTANT, horizon) if horizon > now else now
        held = [*self.stepped, *self.closed, *self.failed, *self.stops]
        if self.session.get_bind().dialect.name == "postgresql":
            rows = self.session.execute(_CLAIM_PG, {"cap": cap, "held": held, "n": n}).all()
            if rows:
                rows = self._still_due([r.case_id for r in rows], cap)
        else:
            unheld = [CaseTimer.case_id.not_in(held)] if held else []
            rows = self.session.execute(_due_by_case(CaseTimer.fire_at <= cap, *unheld).limit(n)).all()
        self.claimed += len(rows)
        return [(r.case_id, _aware(r.due)) for r in rows]

    def _still_due(self, ids: list[int], cap: datetime) -> Sequence[Row[int, datetime]]:
        """The claimed cases that are still due, read after their locks were taken. The claim's
        candidates come from the snapshot its statement began with; a scheduler that committed a
        case and released its lock before the try reached it has already fired it, and stepping
        it again would write a step that fires nothing."""
        return self.session.execute(_due_by_case(CaseTimer.case_id.in_(ids), CaseTimer.fire_at <= cap)).all()

    # -- 2. step -------------------------------------------------------------------------------
    def step(self, claims: list[tuple[int, datetime]], now: datetime, ids: IdSource) -> None:
        due_of = dict(claims)
        rows = self.session.execute(select(CASES).where(CASES.c.id.in_(list(due_of))).order_by(CASES.c.id)).all()
        with self.session.no_autoflush:  # a failed case's ORM effects must not reach the database
            for row in rows:
                self._step_one(row, max(due_of[row.id], now), ids)

    def _step_one(self, row: Row[Any], at: datetime, ids: IdSource) -> None:
        case = Case(**{c.key: row._mapping[c] for c in CASES.columns})
        if case.status != CaseStatus.OPEN:
            self.closed.append(case.id)
            return
        eng = self.engine
        recorder = StepRecorder(self.session, case, at, "timer", ids=ids)
        try:
            parsed = parsed_definition(eng.definition(self.session, case.definition_id))
            script = eng.script_engine(SimulatedClock(at))  # the case's own "now": its due time
            workflow = load_state(case.state, parsed.spec, parsed.subprocess_specs, script)
            known, recorder.timers_before = before_step(workflow)
            run_engine(workflow, recorder)
            finish_step(workflow, parsed, script, eng.hooks, recorder, known)
        except Exception as err:
            stop = find_stop(err)
            if stop is not None:  # an incident, recorded after the commit: not before its time
                self.stops[case.id] = (case.number, stop)
                self._due(at)
            else:
                self.failed[case.id] = err
                self.failed_until = max(self.failed_until or at, at)
            return
        self.stepped[case.id] = Stepped(recorder, row.version, at)
        self._due(at)

    def _due(self, at: datetime) -> None:
        self.commit_at = at if self.commit_at is None else max(self.commit_at, at)

    # -- 3. write ------------------------------------------------------------------------------
    def write(self, now: datetime) -> None:
        """Lock the stepped cases that nobody else holds and nobody changed, write those; put the
        failed cases' due timers back by RETRY_AFTER; remove the timer rows of closed cases."""
        session = self.session
        wanted = sorted([*self.stepped, *self.closed])
        locked: dict[int, int] = {}
        if wanted:
            stmt = select(CASES.c.id, CASES.c.version).where(CASES.c.id.in_(wanted)).order_by(CASES.c.id)
            locked = {r.id: r.version for r in session.execute(stmt.with_for_update(skip_locked=True))}
        lost = [cid for cid, s in self.stepped.items() if locked.get(cid) != s.version]
        if lost:
            if session.new or session.dirty or session.deleted:
                # Some step changed ORM objects and we cannot tell whose: write nothing of this
                # batch; every case of it is still due and the next pass steps it again.
                self.skipped += len(self.stepped)
                self.stepped.clear()
                session.expunge_all()
            else:
                self.skipped += len(lost)
                for cid in lost:
                    del self.stepped[cid]
        writes = Writes()
        for s in self.stepped.values():
            writes.add(s.recorder, version=s.version)
        writes.flush(session)
        closed = [cid for cid in self.closed if cid in locked]
        if closed:
            session.execute(delete(TIMERS).where(TIMERS.c.case_id.in_(closed)))
        if self.failed:
            until = max(now, self.failed_until or now)
            session.execute(
                update(TIMERS)
                .where(TIMERS.c.case_id.in_(list(self.failed)), TIMERS.c.fire_at <= until)
                .values(fire_at=until + RETRY_AFTER)
            )


def fill(batch: TimerBatch, *, now: Callable[[], datetime], lookahead: timedelta, chunk: int, limit: int,
         pace: Pace) -> None:  # fmt: skip
    """Claim and step chunk after chunk: while chunks come back full, the pass holds fewer than
    `limit` cases and there is time left before the batch's commit to step more."""
    ids = batch.engine.ids.source(batch.session)
    size = chunk
    while batch.claimed < limit and size > 0:
        moment = now()
        claims = batch.claim(moment, moment + lookahead, min(size, limit - batch.claimed))
        if not claims:
            return
        started = time.monotonic()
        batch.step(claims, moment, ids)
        pace.observe_step(len(claims), time.monotonic() - started)
        if len(claims) < size or batch.commit_at is None:
            return
        size = min(chunk, pace.room(batch.fired, batch.commit_at, now()))
        if size < min(10, chunk):
            return  # no time for another chunk before this batch is due


def _aware(value: datetime) -> datetime:
    """SQLite's min() hands back a naive UTC datetime (or its text); the type's adapter did not run."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value
