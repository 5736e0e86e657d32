"""The shipped car-camera model finds people and e-bikes in generated snapshots, and its detections
become AI events through the webhook's path."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from connectors.ai_events.vision import submit_detections
from detectors.vision.adapter import VisionModel
from detectors.vision.evaluate import HELD_OUT_SEED, evaluate
from detectors.vision.synth import scene
from engine.models import Case
from infra.clock import SimulatedClock
from infra.settings import Settings
from processes.models import Attachment
from processes.system import System
from registry.models import Elevator
from tests.support.system import make_system

MODEL = Settings().vision_model


@pytest.fixture(scope="module")
def model() -> VisionModel:
    assert MODEL.exists(), f"the shipped model {MODEL} is missing (python -m detectors.vision.train)"
    assert MODEL.stat().st_size < 5 * 1024 * 1024
    return VisionModel.load(MODEL)


def png(image) -> bytes:  # type: ignore[no-untyped-def]
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_finds_a_person_and_nothing_in_an_empty_car(model: VisionModel) -> None:
    rng = np.random.default_rng(HELD_OUT_SEED + 1)
    hits = empties_clean = 0
    for _ in range(10):
        image, truth = scene(rng, people=1, ebike=False)
        found = [d for d in model.detect(image) if d.kind == "person"]
        box = next(b for b in truth if b.label == "person")
        hits += any(
            d.box[0] < (box.x1 + box.x2) / 2 < d.box[2] and d.box[1] < (box.y1 + box.y2) / 2 < d.box[3] for d in found
        )
        empty, _ = scene(rng, people=0, ebike=False)
        empties_clean += not model.detect(empty)
    assert hits >= 9
    assert empties_clean >= 9


def test_finds_an_ebike(model: VisionModel) -> None:
    rng = np.random.default_rng(HELD_OUT_SEED + 2)
    found = 0
    for _ in range(10):
        image, _ = scene(rng, people=0, ebike=True)
        found += any(d.kind == "ebike" for d in model.detect(png(image)))
    assert found >= 9


def test_precision_and_recall_on_a_held_out_set(model: VisionModel) -> None:
    metrics = evaluate(model, images=120)
    for label in ("person", "ebike"):
        assert metrics[f"{label}_precision"] >= 0.85, metrics
        assert metrics[f"{label}_recall"] >= 0.85, metrics


@pytest.fixture
def vision_system(sqlite_url: str, clock: SimulatedClock, tmp_path: Path) -> Iterator[System]:
    system = make_system(sqlite_url, clock, elevators=30, upload_dir=tmp_path / "uploads")
    yield system
    system.db.dispose()


def test_detections_become_ai_events_through_the_webhook_path(model: VisionModel, vision_system: System) -> None:
    rng = np.random.default_rng(HELD_OUT_SEED + 3)
    with vision_system.sessions() as session:
        first, second = session.scalars(select(Elevator).order_by(Elevator.id).limit(2)).all()
    image, _ = scene(rng, people=1, ebike=True)
    data = png(image)
    found = model.detect(data)
    # an e-bike: a P2 warning with the snapshot; people in a car that is not stuck are no event
    accepted = submit_detections(vision_system, first.register_code, data, found)
    assert [(a.case_type, a.priority) for a in accepted] == [("warning", "P2")]
    assert accepted[0].attachment_id is not None
    # the same snapshot again is the same event: no second case, no second attachment
    again = submit_detections(vision_system, first.register_code, data, found)
    assert again[0].duplicate and again[0].case_id == accepted[0].case_id
    # people in a stuck car: a rescue
    person, _ = scene(rng, people=2, ebike=False)
    data = png(person)
    stuck = submit_detections(vision_system, second.qr_code, data, model.detect(data), car_stuck=True)
    assert [(a.case_type, a.priority) for a in stuck] == [("rescue", "P1")]
    with vision_system.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 2
        assert session.scalar(select(func.count()).select_from(Attachment).where(Attachment.kind == "snapshot")) == 2
        rescue = session.get(Case, stuck[0].case_id)
        assert rescue.elevator_id == second.id and rescue.variables["source"] == "ai"
