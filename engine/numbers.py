"""Row ids and case numbers, handed out before the rows are written.

A step computes everything in memory (timeline hashes cover the case id, a "notification queued"
event lists the notification ids) and then writes each table with one bulk INSERT, so ids must be
known first. On PostgreSQL they come from the tables' own sequences, fetched in blocks per process;
ids are only identities, so a block left unused by a stopped process is harmless.

Case numbers (JY-20261123-0001) come from one sequence per prefix and local day, taken in the same
statement that checks for an open case with the correlation key: no counter row that every start
in the city would queue behind, and no number spent on a signal that joins an open case. A
sequence value is not given back on rollback, so a number is skipped only when a start fails after
taking it (a crash, a lost race for the same open case); it is never reused. On SQLite the
transaction holds the write lock from its first statement (BEGIN IMMEDIATE), so max(id) + 1 and
the counter row are safe there, and gapless.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from engine.models import CaseCounter

BLOCK = 256  # ids fetched per round trip on PostgreSQL


class MissingSequence(Exception):
    """A day's number sequence vanished under us (a dropped schema); the caller retries once."""


def sequence_name(counter: str) -> str:
    return "case_no_" + re.sub(r"[^a-z0-9]+", "_", counter.lower())


class IdAllocator:
    """Per database (one per CaseEngine): id blocks and the day sequences known to exist."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self._sequences: set[str] = set()
        self._pools: dict[str, list[int]] = {}
        self._lock = threading.Lock()

    def forget(self) -> None:
        with self._lock:
            self._sequences.clear()
            self._pools.clear()

    def source(self, session: Session) -> IdSource:
        return IdSource(self, session)

    # -- case numbers -------------------------------------------------------------------------
    def claim(self, session: Session, wanted: Sequence[tuple[str | None, str]]) -> list[tuple[int | None, int | None]]:
        """For each (correlation key or None, counter such as "JY-20261123"): (id of the open case
        with that key, None), or (None, the next number of that counter). Keys must be distinct."""
        if not wanted:
            return []
        if self.postgres:
            return self._claim_pg(session, wanted)
        keys = [k for k, _ in wanted if k]
        found: dict[str, int] = {}
        if keys:
            stmt = text("SELECT open_key, id FROM cases WHERE open_key IN :keys").bindparams(
                bindparam("keys", expanding=True)
            )
            found = {k: v for k, v in session.execute(stmt, {"keys": keys})}
        need: dict[str, int] = {}
        for key, counter in wanted:
            if not (key and key in found):
                need[counter] = need.get(counter, 0) + 1
        suffixes: dict[str, list[int]] = {}
        for counter, n in need.items():
            upsert = sqlite_insert(CaseCounter).values(prefix=counter, last=n)
            upsert = upsert.on_conflict_do_update(index_elements=["prefix"], set_={"last": CaseCounter.last + n})
            last = session.execute(upsert.returning(CaseCounter.last)).scalar_one()
            suffixes[counter] = list(range(last - n + 1, last + 1))
        out: list[tuple[int | None, int | None]] = []
        for key, counter in wanted:
            if key and key in found:
                out.append((found[key], None))
            else:
                out.append((None, suffixes[counter].pop(0)))
        return out

    def _claim_pg(
        self, session: Session, wanted: Sequence[tuple[str | None, str]]
    ) -> list[tuple[int | None, int | None]]:
        for counter in {c for _, c in wanted}:
            self._ensure_sequence(counter)
        # nextval only where no open case holds the key (CASE evaluates its branch lazily)
        stmt = text(
            "SELECT k.i, c.id, CASE WHEN c.id IS NULL THEN nextval(k.seq::regclass) END "
            "FROM unnest(CAST(:keys AS text[]), CAST(:seqs AS text[])) WITH ORDINALITY AS k(key, seq, i) "
            "LEFT JOIN cases c ON c.open_key = k.key ORDER BY k.i"
        )
        params = {"keys": [k for k, _ in wanted], "seqs": [sequence_name(c) for _, c in wanted]}
        try:
            rows = session.execute(stmt, params).all()
        except DBAPIError as err:
            if getattr(err.orig, "sqlstate", None) == "42P01":  # undefined_table: the sequence is gone
                self.forget()
                raise MissingSequence(str(err.orig)) from err
            raise
        # Hand the numbers out in the batch's order, whatever order the join produced them in.
        per_counter: dict[str, list[int]] = {}
        for (_, counter), (_, _, number) in zip(wanted, rows, strict=True):
            if number is not None:
                per_counter.setdefault(counter, []).append(number)
        for numbers in per_counter.values():
            numbers.sort()
        return [
            (case_id, None) if case_id is not None else (None, per_counter[counter].pop(0))
            for (_, counter), (_, case_id, _) in zip(wanted, rows, strict=True)
        ]

    def _ensure_sequence(self, counter: str) -> None:
        name = sequence_name(counter)
        if name in self._sequences:
            return
        # Its own short transaction: DDL inside a step would hold a catalog lock until its commit.
        # It starts after the highest number already given for this counter (numbers issued before
        # the sequence existed, by the counter row of older versions or by a dropped sequence).
        with self.engine.connect() as conn:
            issued = conn.execute(
                text(
                    "SELECT max(CAST(substr(number, :n) AS integer)) FROM cases "
                    "WHERE number LIKE :like AND substr(number, :n) ~ '^[0-9]+$'"
                ),
                {"n": len(counter) + 2, "like": counter + "-%"},
            ).scalar_one()
            try:
                conn.execute(text(f"CREATE SEQUENCE IF NOT EXISTS {name} START WITH {int(issued or 0) + 1}"))
                conn.commit()
            except DBAPIError:  # two processes created the same day's sequence at once
                conn.rollback()
                if not conn.execute(text("SELECT to_regclass(:n) IS NOT NULL"), {"n": name}).scalar_one():
                    raise
        with self._lock:
            self._sequences.add(name)

    # -- ids ----------------------------------------------------------------------------------
    def pooled(self, session: Session, table: str, n: int) -> list[int]:
        with self._lock:
            pool = self._pools.setdefault(table, [])
            if len(pool) < n:
                stmt = text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)")
                pool.extend(sorted(session.execute(stmt, {"t": table, "n": max(BLOCK, n)}).scalars()))
            taken, self._pools[table] = pool[:n], pool[n:]
            return taken


class IdSource:
    """Ids for one transaction: pooled sequence values (PostgreSQL) or max(id) + 1 under the
    write lock (SQLite), counting on from what this transaction already took."""

    def __init__(self, allocator: IdAllocator, session: Session) -> None:
        self.allocator = allocator
        self.session = session
        self._next: dict[str, int] = {}

    def take(self, table: str, n: int) -> list[int]:
        if n <= 0:
            return []
        if self.allocator.postgres:
            return self.allocator.pooled(self.session, table, n)
        if table not in self._next:
            self._next[table] = self.session.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one()
        start = self._next[table]
        self._next[table] = start + n
        return list(range(start + 1, start + n + 1))
