"""A Mosquitto of this module's own (the deployed config, tests/support/broker.py): the ingest
subscribes to every box's topics, so on the shared broker any other test run's traffic would land in
its session too (and be left there, unacked, when it stops)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.support.broker import FleetBroker
from tests.support.services import need_service


@pytest.fixture(scope="module")
def broker() -> Iterator[FleetBroker]:
    if shutil.which("mosquitto") is None:
        need_service(1883, "Mosquitto")  # fails under CI=true, skips elsewhere
    private = FleetBroker()
    yield private
    private.close()
