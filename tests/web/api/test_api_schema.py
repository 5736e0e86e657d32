"""schemathesis against our own OpenAPI document: generated inputs for every operation, signed in
with a token holding every staff role. No input may cause a server error (5xx)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy import select

from infra.clock import SimulatedClock
from processes.intake import open_or_join
from registry.accounts.service import create_token
from registry.models import Organisation, OrgKind, User
from tests.support.api_client import app_for, demo_elevator
from tests.support.system import START, make_system

GENERATED: Counter[str] = Counter()
EXAMPLES = 12


@pytest.fixture(scope="module")
def api_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, str]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('schemathesis') / 'db.sqlite3'}"
    system = make_system(url, SimulatedClock(START), elevators=40, upload_dir=tmp_path_factory.mktemp("uploads"))
    app = app_for(system)
    for source in ("qr", "phone"):
        open_or_join(
            system.engine,
            system.settings.sla_file,
            "rescue",
            elevator_id=demo_elevator(system),
            signal={"source": source},
        )
    with system.sessions() as s, s.begin():
        platform = s.scalar(select(Organisation.id).where(Organisation.kind == OrgKind.PLATFORM))
        user = User(
            username="fuzzer",
            display_name="fuzzer",
            roles=["admin", "dispatcher", "regulator", "analyst"],
            organisation_id=platform,
            active=True,
        )
        s.add(user)
        s.flush()
        _, secret = create_token(s, user, "schemathesis", now=START)
    yield app, secret
    system.db.dispose()


@pytest.fixture(scope="module")
def api_schema(api_state: tuple[object, str]) -> object:
    app, _ = api_state
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)


# Revoking tokens would revoke the fuzzer's own token and turn the rest into 401s.
SKIPPED = {"DELETE /api/v1/tokens/{token_id}"}


def _runner(operation: object, label: str, headers: dict[str, str]) -> object:
    @given(case=operation.as_strategy())  # type: ignore[attr-defined]
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case: object) -> None:
        GENERATED[label] += 1
        case.call_and_validate(headers=headers, checks=[not_a_server_error])  # type: ignore[attr-defined]

    return run


def test_no_input_causes_a_server_error(api_schema: object, api_state: tuple[object, str]) -> None:
    """Every operation gets EXAMPLES generated inputs (hypothesis); each answer must not be a 5xx.
    The pytest plugin (schema.parametrize) does not run under this pytest, so the operations are
    walked here, one hypothesis run each."""
    _, secret = api_state
    headers = {"Authorization": f"Bearer {secret}"}
    failures: list[str] = []
    for result in api_schema.get_all_operations():  # type: ignore[attr-defined]
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        if label in SKIPPED:
            continue
        try:
            _runner(operation, label, headers)()
        except Exception as err:  # collect every failing operation, then fail once with all of them
            failures.append(f"{label}: {err}")
    total = sum(GENERATED.values())
    print(f"\nschemathesis generated {total} cases over {len(GENERATED)} operations")
    for failure in failures:
        print("FAILED-OP", failure.splitlines()[0][:300])
    assert not failures, "\n".join(failures)
    assert len(GENERATED) >= 30
