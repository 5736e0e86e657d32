"""Audit packages: built from real engine cases on SQLite and PostgreSQL, verified without a
database, and every kind of tampering (edit, edit with a fresh hash, deletion, reordering, a
truncated chain, a doctored manifest, a consistently rebuilt package) is caught and located."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from demo.scenarios import SCENARIOS, an_elevator
from engine.timeline import event_hash
from infra.clock import SimulatedClock
from processes.intake import open_or_join
from registry.models import OrgKind, Role
from registry.scope import Scope
from reports.audit import build_package
from reports.audit_verify import manifest_digest, verify_package
from tests.support.system import START, make_system

ROOT = Path(__file__).resolve().parents[2]
CITY = Scope(0, "auditor", frozenset({Role.AUDITOR}), None, OrgKind.PLATFORM, None)
RANGE = (START - timedelta(days=1), START + timedelta(days=2))


def make_cases(url: str, clock: SimulatedClock):  # type: ignore[no-untyped-def]
    system = make_system(url, clock, elevators=120)
    SCENARIOS["rescue"](system, clock)
    SCENARIOS["warning"](system, clock)
    open_or_join(  # an open rural rescue: a chain still growing
        system.engine,
        system.settings.sla_file,
        "rescue",
        elevator_id=an_elevator(system, urban=False),
        signal={"source": "qr"},
    )
    return system


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[bytes]:
    tmp = tmp_path_factory.mktemp("audit")
    clock = SimulatedClock(START)
    system = make_cases(f"sqlite:///{tmp / 'audit.sqlite3'}", clock)
    data, _ = build_package(system.sessions, CITY, *RANGE, now=clock.now(), created_by="test")
    yield data
    system.db.dispose()


def test_package_from_either_database_verifies(db_url: str, clock: SimulatedClock, tmp_path: Path) -> None:
    system = make_cases(db_url, clock)
    try:
        data, manifest = build_package(system.sessions, CITY, *RANGE, now=clock.now(), created_by="test")
        _, dm = build_package(system.sessions, CITY, *RANGE, district="511702", now=clock.now(), created_by="test")
        _, lm = build_package(
            system.sessions, CITY, START + timedelta(days=5), START + timedelta(days=6), now=clock.now(), created_by="t"
        )
    finally:
        system.db.dispose()
    path = tmp_path / "p.zip"
    path.write_bytes(data)
    verdict = verify_package(path)
    assert verdict.ok, verdict.problems
    assert manifest["cases"] == 3 and verdict.cases == 3 and verdict.events == manifest["events"] > 40
    assert verdict.digest == manifest["digest"]
    assert 0 < dm["cases"] < 3  # the rural rescue is elsewhere
    assert lm["cases"] == 0 and lm["events"] == 0


def rewrite(data: bytes, change: Callable[[dict[str, bytes]], None]) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    change(files)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return out.getvalue()


def events_of(files: dict[str, bytes]) -> list[dict]:
    return [json.loads(line) for line in files["events.jsonl"].decode().splitlines()]


def put_events(files: dict[str, bytes], events: list[dict]) -> None:
    files["events.jsonl"] = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events).encode()


def rehash(e: dict) -> str:
    return event_hash(
        e["case_id"], e["seq"], e["kind"], datetime.fromisoformat(e["at"]), e["actor"], e["payload"], e["prev_hash"]
    )


def verdict_of(data: bytes, tmp_path: Path, expect: str | None = None) -> list[str]:
    path = tmp_path / "tampered.zip"
    path.write_bytes(data)
    return [str(p) for p in verify_package(path, expect).problems]


def test_edited_event_is_located(package: bytes, tmp_path: Path) -> None:
    def edit(files: dict[str, bytes]) -> None:
        events = events_of(files)
        events[4]["actor"] = "someone_else"
        put_events(files, events)

    problems = verdict_of(rewrite(package, edit), tmp_path)
    assert "events.jsonl: SHA-256 differs from the manifest (file changed)" in problems
    assert any(
        p.startswith("events.jsonl:5 (") and p.endswith("content does not match its hash (edited)") for p in problems
    )


def test_edited_and_rehashed_event_is_located_by_its_successor(package: bytes, tmp_path: Path) -> None:
    def edit(files: dict[str, bytes]) -> None:
        events = events_of(files)
        events[2]["payload"] = {**events[2]["payload"], "note": "inserted"}
        events[2]["hash"] = rehash(events[2])
        put_events(files, events)

    problems = verdict_of(rewrite(package, edit), tmp_path)
    assert any(p.startswith("events.jsonl:4 (") and "does not match the event on line 3" in p for p in problems)


def test_deleted_event_is_located(package: bytes, tmp_path: Path) -> None:
    def delete(files: dict[str, bytes]) -> None:
        events = events_of(files)
        gone = events.pop(6)
        assert gone["seq"] == 7
        put_events(files, events)

    problems = verdict_of(rewrite(package, delete), tmp_path)
    assert any(p.startswith("events.jsonl:7 (") and "#7 missing before this line (deleted)" in p for p in problems)
    assert any("the case recorded" in p and "events deleted or added" in p for p in problems)


def test_reordered_events_are_located(package: bytes, tmp_path: Path) -> None:
    def swap(files: dict[str, bytes]) -> None:
        events = events_of(files)
        events[8], events[9] = events[9], events[8]
        put_events(files, events)

    problems = verdict_of(rewrite(package, swap), tmp_path)
    assert any(
        p.startswith("events.jsonl:9 (") and "#9 should come before this line (reordered)" in p for p in problems
    )
    assert any(p.startswith("events.jsonl:10 (") and "out of order: #9 comes after #10" in p for p in problems)
    assert not any("edited" in p for p in problems)


def test_truncated_chain_is_caught(package: bytes, tmp_path: Path) -> None:
    def cut_tail(files: dict[str, bytes]) -> None:
        events = events_of(files)
        first_case = events[0]["case"]
        last = max(i for i, e in enumerate(events) if e["case"] == first_case)
        del events[last]
        put_events(files, events)

    problems = verdict_of(rewrite(package, cut_tail), tmp_path)
    assert any("does not end at the head the case recorded" in p for p in problems)


def test_doctored_manifest_is_caught(package: bytes, tmp_path: Path) -> None:
    def doctor(files: dict[str, bytes]) -> None:
        manifest = json.loads(files["manifest.json"])
        number = next(iter(manifest["chain_heads"]))
        manifest["chain_heads"][number] = "f" * 64
        files["manifest.json"] = json.dumps(manifest).encode()

    problems = verdict_of(rewrite(package, doctor), tmp_path)
    assert "manifest.json: digest does not match the manifest's content (manifest edited)" in problems

    def doctor_and_redigest(files: dict[str, bytes]) -> None:
        doctor(files)
        manifest = json.loads(files["manifest.json"])
        manifest["digest"] = manifest_digest(manifest)
        files["manifest.json"] = json.dumps(manifest).encode()

    problems = verdict_of(rewrite(package, doctor_and_redigest), tmp_path)
    assert any("chain head differs from chains.jsonl" in p for p in problems)


def test_a_consistently_rebuilt_package_is_caught_by_the_kept_digest(package: bytes, tmp_path: Path) -> None:
    """Someone rewrites an event and recomputes every hash, head, file hash and the digest: the
    package is self-consistent, so only the digest kept from export time can tell."""
    original_digest = json.loads(zipfile.ZipFile(io.BytesIO(package)).read("manifest.json"))["digest"]

    def rebuild(files: dict[str, bytes]) -> None:
        import hashlib

        events = events_of(files)
        case = events[0]["case"]
        prev = "0" * 64
        for e in events:
            if e["case"] != case:
                continue
            if e["seq"] == 2:
                e["actor"] = "forger"
            e["prev_hash"] = prev
            e["hash"] = prev = rehash(e)
        put_events(files, events)
        chains = [json.loads(line) for line in files["chains.jsonl"].decode().splitlines()]
        for c in chains:
            if c["case"] == case:
                c["head"] = prev
        files["chains.jsonl"] = "".join(json.dumps(c) + "\n" for c in chains).encode()
        manifest = json.loads(files["manifest.json"])
        manifest["chain_heads"][case] = prev
        for name in ("events.jsonl", "chains.jsonl"):
            manifest["files"][name]["sha256"] = hashlib.sha256(files[name]).hexdigest()
        manifest["digest"] = manifest_digest(manifest)
        files["manifest.json"] = json.dumps(manifest).encode()

    forged = rewrite(package, rebuild)
    assert verdict_of(forged, tmp_path) == []
    problems = verdict_of(forged, tmp_path, expect=original_digest)
    assert len(problems) == 1 and "is not the expected" in problems[0]
    assert verdict_of(package, tmp_path, expect=original_digest) == []


def test_unreadable_input_gives_a_clear_verdict(tmp_path: Path) -> None:
    path = tmp_path / "junk.zip"
    path.write_bytes(b"not a zip")
    problems = [str(p) for p in verify_package(path).problems]
    assert len(problems) == 1 and "not a readable zip file" in problems[0]


def test_verifier_runs_without_sqlalchemy(package: bytes, tmp_path: Path) -> None:
    """Stdlib only: SQLAlchemy is made unimportable in the child process."""
    good = tmp_path / "good.zip"
    good.write_bytes(package)
    bad = tmp_path / "bad.zip"
    bad.write_bytes(rewrite(package, lambda f: f.update({"chains.jsonl": f["chains.jsonl"][:-40]})))
    code = "import sys; sys.modules['sqlalchemy'] = None; from reports.audit_verify import main; sys.exit(main())"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ok = subprocess.run([sys.executable, "-c", code, str(good)], capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.strip().endswith(": OK")
    broken = subprocess.run([sys.executable, "-c", code, str(bad)], capture_output=True, text=True, env=env)
    assert broken.returncode == 1 and "PROBLEM" in broken.stdout


def test_cli_exports_and_verifies(sqlite_url: str, clock: SimulatedClock, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from liftcase.cli import main

    system = make_cases(sqlite_url, clock)
    system.db.dispose()
    monkeypatch.setenv("LIFTCASE_DATABASE_URL", sqlite_url)
    out = tmp_path / "pkg.zip"
    runner = CliRunner()
    result = runner.invoke(main, ["audit", "export", "--from", "2026-11-22", "--to", "2026-11-25", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "3 case(s)" in result.output
    digest = result.output.split("manifest digest ")[1].split()[0]
    result = runner.invoke(main, ["audit", "verify", str(out), "--digest", digest])
    assert result.exit_code == 0 and result.output.strip().endswith("OK"), result.output
    out.write_bytes(
        rewrite(
            out.read_bytes(),
            lambda f: f.update({"events.jsonl": f["events.jsonl"].replace(b'"actor":"maint"', b'"actor":"boss"', 1)}),
        )
    )
    result = runner.invoke(main, ["audit", "verify", str(out)])
    assert result.exit_code == 1 and "(edited)" in result.output
    result = runner.invoke(main, ["audit", "export", "--from", "2026-11-25", "--to", "2026-11-22"])
    assert result.exit_code == 2 and "--from must be before --to" in result.output
