"""The ONNX adapter reads the common YOLO-style output layouts: [1, N, 4+C], [1, 4+C, N], with or
without objectness, centre/size or corner boxes; boxes come back in the snapshot's pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from detectors.vision.adapter import VisionModel
from detectors.vision.config import load_config

# Two objects in a 160x160 input: a person centred at (40, 80), 20x60; an e-bike at (120, 120), 50x30;
# plus a weak row that must be dropped and an overlapping duplicate of the person that NMS removes.
ROWS = np.array(
    [
        [40, 80, 20, 60, 0.90, 0.05],
        [120, 120, 50, 30, 0.10, 0.80],
        [10, 10, 5, 5, 0.20, 0.10],
        [41, 81, 20, 60, 0.70, 0.05],
    ],
    dtype=np.float32,
)


def constant_model(path: Path, output: np.ndarray) -> Path:
    """An ONNX graph that ignores its image input and returns `output` (enough to test decoding)."""
    image = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 160, 160])
    out = helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(output.shape))
    const = helper.make_node("Constant", [], ["value"], value=numpy_helper.from_array(output))
    # add 0 * mean(image) so the input is part of the graph
    mean = helper.make_node("ReduceMean", ["images"], ["m"], keepdims=0)
    zero = helper.make_node("Mul", ["m", "z"], ["mz"])
    add = helper.make_node("Add", ["value", "mz"], ["output0"])
    graph = helper.make_graph(
        [const, mean, zero, add], "const", [image], [out], initializer=[numpy_helper.from_array(np.float32(0), "z")]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def describe(path: Path, **extra: str) -> None:
    lines = [
        'classes = ["person", "ebike"]',
        "input_size = [160, 160]",
        "score_threshold = 0.5",
        "iou_threshold = 0.5",
        *[f"{k} = {v}" for k, v in extra.items()],
    ]
    path.with_suffix(".toml").write_text("\n".join(lines) + "\n")


def detections(path: Path, image: Image.Image) -> list[tuple[str | None, float, tuple[int, ...]]]:
    return [(d.kind, round(d.score, 2), tuple(round(v) for v in d.box)) for d in VisionModel.load(path).detect(image)]


SQUARE = Image.new("RGB", (160, 160))
EXPECTED = [("person", 0.9, (30, 50, 50, 110)), ("ebike", 0.8, (95, 105, 145, 135))]


def test_boxes_last_and_boxes_first_decode_alike(tmp_path: Path) -> None:
    last = constant_model(tmp_path / "last.onnx", ROWS[None])
    first = constant_model(tmp_path / "first.onnx", ROWS.T[None].copy())
    describe(last)
    describe(first)
    assert detections(last, SQUARE) == EXPECTED
    assert detections(first, SQUARE) == EXPECTED


def test_objectness_column_multiplies_class_scores(tmp_path: Path) -> None:
    objectness = np.array([[1.0], [0.5], [1.0], [1.0]], dtype=np.float32)
    rows = np.concatenate([ROWS[:, :4], objectness, ROWS[:, 4:]], axis=1)  # 5 + C columns: auto-detected
    path = constant_model(tmp_path / "v5.onnx", rows[None])
    describe(path)
    # the e-bike's 0.8 x 0.5 objectness falls under the 0.5 threshold
    assert detections(path, SQUARE) == EXPECTED[:1]


def test_corner_boxes_and_letterbox_map_back_to_the_snapshot(tmp_path: Path) -> None:
    corners = ROWS.copy()
    corners[:, 0], corners[:, 1] = ROWS[:, 0] - ROWS[:, 2] / 2, ROWS[:, 1] - ROWS[:, 3] / 2
    corners[:, 2], corners[:, 3] = ROWS[:, 0] + ROWS[:, 2] / 2, ROWS[:, 1] + ROWS[:, 3] / 2
    path = constant_model(tmp_path / "xyxy.onnx", corners[None])
    describe(path, box_format='"xyxy"')
    # a 320x160 snapshot is scaled by 0.5 and padded 40 px top and bottom
    wide = Image.new("RGB", (320, 160))
    assert detections(path, wide) == [
        ("person", 0.9, (60, 20, 100, 140)),
        ("ebike", 0.8, (190, 130, 290, 160)),  # clipped at the snapshot's bottom edge
    ]


def test_a_city_model_maps_its_own_class_names(tmp_path: Path) -> None:
    rows = np.concatenate([ROWS[:, :4], np.zeros((4, 1), np.float32), ROWS[:, 4:5], ROWS[:, 5:]], axis=1)
    path = constant_model(tmp_path / "coco.onnx", rows[None])  # classes: bicycle, person, motorcycle
    path.with_suffix(".toml").write_text(
        'classes = ["bicycle", "person", "motorcycle"]\ninput_size = [160, 160]\nlayout = "boxes_last"\n'
        'objectness = false\n[kinds]\nperson = ["person"]\nebike = ["motorcycle", "bicycle"]\n'
    )
    found = VisionModel.load(path).detect(SQUARE)
    assert [(d.label, d.kind) for d in found] == [("person", "person"), ("motorcycle", "ebike")]


def test_unclear_shapes_and_bad_descriptions_are_named(tmp_path: Path) -> None:
    square = constant_model(tmp_path / "square.onnx", np.zeros((1, 6, 6), np.float32))
    describe(square)
    with pytest.raises(ValueError, match="set layout"):
        VisionModel.load(square).detect(SQUARE)
    wrong = constant_model(tmp_path / "wrong.onnx", np.zeros((1, 100, 9), np.float32))
    describe(wrong)
    with pytest.raises(ValueError, match="no dimension of 6 or 7"):
        VisionModel.load(wrong).detect(SQUARE)
    (tmp_path / "bad.toml").write_text("classes = []\ninput_size = [160, 160]\n")
    with pytest.raises(ValueError, match="classes"):
        load_config(tmp_path / "bad.onnx")
    with pytest.raises(ValueError, match="missing"):
        load_config(tmp_path / "none.onnx")
