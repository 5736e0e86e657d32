"""Verify an audit package (reports/audit.py) with the standard library only: no database, no
SQLAlchemy, so an auditor can run it anywhere: `liftcase audit verify PACKAGE.zip`, or
`python -m reports.audit_verify PACKAGE.zip` from a bare checkout.

Every problem is located: the file and line, the case number and the event's sequence number,
and what happened (edited, deleted, reordered, manifest tampered).
"""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.timeline import GENESIS, event_hash  # stdlib-only module: the one definition of the hash

FORMAT = "liftcase-audit/1"
FILES = ("events.jsonl", "chains.jsonl")


def canonical(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def manifest_digest(manifest: dict[str, Any]) -> str:
    return hashlib.sha256(canonical({k: v for k, v in manifest.items() if k != "digest"}).encode()).hexdigest()


@dataclass(frozen=True)
class Problem:
    where: str  # "events.jsonl:12 (JY-20261123-0001 #4)" or "manifest.json"
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass
class Verdict:
    cases: int = 0
    events: int = 0
    digest: str = ""
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class _Line:
    line: int
    event: dict[str, Any]

    @property
    def label(self) -> str:
        return (
            f"events.jsonl:{self.line} ({self.event.get('case', self.event.get('case_id'))} #{self.event.get('seq')})"
        )


def _recomputed(e: dict[str, Any]) -> str | None:
    try:
        return event_hash(
            int(e["case_id"]),
            int(e["seq"]),
            str(e["kind"]),
            datetime.fromisoformat(e["at"]),
            str(e["actor"]),
            e["payload"],
            str(e["prev_hash"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def check_chain(number: str, lines: Sequence[_Line], recorded: dict[str, Any] | None) -> list[Problem]:
    """All problems of one case's chain, in file order."""
    problems: list[Problem] = []
    present = {ln.event.get("seq") for ln in lines}
    expected_seq, prev_hash, prev_line = 1, GENESIS, None
    for ln in lines:
        e = ln.event
        seq = e.get("seq")
        if not isinstance(seq, int):
            problems.append(Problem(ln.label, "event has no sequence number"))
            continue
        if seq > expected_seq:
            gap = range(expected_seq, seq)
            moved = [s for s in gap if s in present]
            deleted = [s for s in gap if s not in present]
            if deleted:
                problems.append(Problem(ln.label, f"event(s) {_seqs(deleted)} missing before this line (deleted)"))
            if moved:
                problems.append(Problem(ln.label, f"event(s) {_seqs(moved)} should come before this line (reordered)"))
        elif seq < expected_seq:
            problems.append(Problem(ln.label, f"out of order: #{seq} comes after #{expected_seq - 1} (reordered)"))
        recomputed = _recomputed(e)
        if recomputed is None:
            problems.append(Problem(ln.label, "event is malformed (fields missing or unreadable)"))
        elif recomputed != e.get("hash"):
            problems.append(Problem(ln.label, "content does not match its hash (edited)"))
        if seq == expected_seq and e.get("prev_hash") != prev_hash:
            before = f"the event on line {prev_line}" if prev_line else "the chain's start"
            problems.append(
                Problem(
                    ln.label,
                    f"prev_hash does not match {before} (that event was edited and re-hashed, "
                    "or events were deleted or reordered)",
                )
            )
        if seq >= expected_seq:
            expected_seq, prev_hash, prev_line = seq + 1, str(e.get("hash")), ln.line
    if recorded is None:
        problems.append(Problem(f"chains.jsonl ({number})", "events of a case that the package does not list"))
        return problems
    if len(lines) != recorded.get("events"):
        problems.append(
            Problem(
                f"chains.jsonl ({number})",
                f"the case recorded {recorded.get('events')} events, the package "
                f"holds {len(lines)} (events deleted or added)",
            )
        )
    if prev_hash != (recorded.get("head") or GENESIS):
        problems.append(Problem(f"chains.jsonl ({number})", "the chain does not end at the head the case recorded"))
    return problems


def _seqs(seqs: list[int]) -> str:
    return ", ".join(f"#{s}" for s in seqs)


def _read_lines(data: bytes, name: str, verdict: Verdict) -> list[tuple[int, dict[str, Any]]]:
    out = []
    for i, raw in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as err:
            verdict.problems.append(Problem(f"{name}:{i}", f"not valid JSON ({err.msg})"))
            continue
        if not isinstance(obj, dict):
            verdict.problems.append(Problem(f"{name}:{i}", "not a JSON object"))
            continue
        out.append((i, obj))
    return out


def _read_manifest(zf: zipfile.ZipFile, problems: list[Problem]) -> dict[str, Any] | None:
    if "manifest.json" not in zf.namelist():
        problems.append(Problem("manifest.json", "missing"))
        return None
    try:
        manifest = json.loads(zf.read("manifest.json"))
        if not isinstance(manifest, dict):
            raise ValueError("not an object")
    except ValueError as err:
        problems.append(Problem("manifest.json", f"unreadable ({err})"))
        return None
    return manifest


def _check_digest(manifest: dict[str, Any], expect_digest: str | None, verdict: Verdict) -> None:
    """The manifest's format and digest (its own, and the one kept apart from the package)."""
    problems = verdict.problems
    verdict.digest = manifest_digest(manifest)
    if manifest.get("format") != FORMAT:
        problems.append(Problem("manifest.json", f"unknown format {manifest.get('format')!r}"))
    if manifest.get("digest") != verdict.digest:
        problems.append(Problem("manifest.json", "digest does not match the manifest's content (manifest edited)"))
    if expect_digest and expect_digest != verdict.digest:
        problems.append(Problem("manifest.json", f"digest {verdict.digest} is not the expected {expect_digest}"))


def _read_files(zf: zipfile.ZipFile, manifest: dict[str, Any], problems: list[Problem]) -> dict[str, bytes]:
    """The package's data files, each checked against its manifest hash; unlisted files are problems."""
    names = set(zf.namelist())
    listed = manifest.get("files") or {}
    data: dict[str, bytes] = {}
    for name in FILES:
        if name not in names:
            problems.append(Problem(name, "missing from the package"))
            continue
        data[name] = zf.read(name)
        entry = listed.get(name) or {}
        if hashlib.sha256(data[name]).hexdigest() != entry.get("sha256"):
            problems.append(Problem(name, "SHA-256 differs from the manifest (file changed)"))
    for extra in sorted(names - set(FILES) - {"manifest.json"}):
        problems.append(Problem(extra, "file not listed in the manifest"))
    return data


def _recorded_chains(data: bytes, manifest: dict[str, Any], verdict: Verdict) -> dict[str, dict[str, Any]]:
    """chains.jsonl by case number, checked against the manifest's chain heads."""
    problems = verdict.problems
    chains: dict[str, dict[str, Any]] = {}
    for i, c in _read_lines(data, "chains.jsonl", verdict):
        number = str(c.get("case"))
        if number in chains:
            problems.append(Problem(f"chains.jsonl:{i}", f"case {number} listed twice"))
        chains[number] = c
    heads = manifest.get("chain_heads") or {}
    for number, c in chains.items():
        if heads.get(number) != c.get("head"):
            problems.append(Problem(f"manifest.json ({number})", "chain head differs from chains.jsonl"))
    for number in sorted(set(heads) - set(chains)):
        problems.append(Problem(f"chains.jsonl ({number})", "case in the manifest but not in chains.jsonl (deleted)"))
    return chains


def _events_by_case(data: bytes, verdict: Verdict) -> dict[str, list[_Line]]:
    """events.jsonl grouped by case number, in the order the cases first appear; a case whose
    events come back after another case's is a problem."""
    by_case: dict[str, list[_Line]] = {}
    order: list[str] = []
    for i, e in _read_lines(data, "events.jsonl", verdict):
        number = str(e.get("case"))
        if number not in by_case:
            by_case[number] = []
            order.append(number)
        elif order[-1] != number:
            verdict.problems.append(Problem(_Line(i, e).label, f"case {number}'s events are not together (reordered)"))
        by_case[number].append(_Line(i, e))
    return by_case


def _check_counts(manifest: dict[str, Any], verdict: Verdict) -> None:
    if manifest.get("events") != verdict.events or manifest.get("cases") != verdict.cases:
        verdict.problems.append(
            Problem(
                "manifest.json",
                f"counts {manifest.get('cases')} cases / {manifest.get('events')} events, the "
                f"package holds {verdict.cases} / {verdict.events}",
            )
        )


def verify_package(path: str | Path, expect_digest: str | None = None) -> Verdict:
    verdict = Verdict()
    problems = verdict.problems
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as err:
        problems.append(Problem(str(path), f"not a readable zip file ({err})"))
        return verdict
    with zf:
        manifest = _read_manifest(zf, problems)
        if manifest is None:
            return verdict
        _check_digest(manifest, expect_digest, verdict)
        data = _read_files(zf, manifest, problems)

    chains = _recorded_chains(data.get("chains.jsonl", b""), manifest, verdict)
    by_case = _events_by_case(data.get("events.jsonl", b""), verdict)
    for number, lines in by_case.items():
        problems.extend(check_chain(number, lines, chains.get(number)))
    for number in chains:
        if number not in by_case and chains[number].get("events"):
            problems.append(Problem(f"events.jsonl ({number})", f"all {chains[number]['events']} events missing"))
    verdict.cases = len(chains)
    verdict.events = sum(len(v) for v in by_case.values())
    _check_counts(manifest, verdict)
    return verdict


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print("usage: python -m reports.audit_verify PACKAGE.zip [EXPECTED_DIGEST]", file=sys.stderr)
        return 2
    verdict = verify_package(args[0], args[1] if len(args) > 1 else None)
    for p in verdict.problems:
        print(f"PROBLEM {p}")
    state = "OK" if verdict.ok else f"{len(verdict.problems)} problem(s)"
    print(f"{verdict.cases} case(s), {verdict.events} event(s), manifest digest {verdict.digest}: {state}")
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
