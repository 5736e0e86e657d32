"""A detection model's description, read from the TOML file beside the .onnx (same stem).

A city drops in its own model by writing such a file: the class names in output order, the input
size, and which of those classes count as a person or an e-bike (e.g. COCO's "motorcycle")."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Layout = Literal["auto", "boxes_last", "boxes_first"]


@dataclass(frozen=True)
class ModelConfig:
    path: Path
    classes: tuple[str, ...]
    input_height: int
    input_width: int
    # boxes_last: [1, N, 4+C(+1)] (YOLOv5); boxes_first: [1, 4+C(+1), N] (YOLOv8); auto: from the shape.
    layout: Layout = "auto"
    # An objectness column before the class scores (YOLOv5); None: decide from the column count.
    objectness: bool | None = None
    box_format: Literal["cxcywh", "xyxy"] = "cxcywh"
    score_threshold: float = 0.5
    iou_threshold: float = 0.5
    pad_value: int = 114
    scale: float = 255.0
    # Domain kind -> the model's class names that mean it.
    kinds: dict[str, tuple[str, ...]] = field(default_factory=lambda: {"person": ("person",), "ebike": ("ebike",)})
    metrics: dict[str, Any] = field(default_factory=dict)

    def kind_of(self, class_name: str) -> str | None:
        for kind, names in self.kinds.items():
            if class_name in names:
                return kind
        return None


def load_config(model_path: Path, config_path: Path | None = None) -> ModelConfig:
    """Read `<model>.toml`; ValueError naming the field when something is missing or wrong."""
    model_path = Path(model_path)
    config_path = config_path or model_path.with_suffix(".toml")
    try:
        raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ValueError(f"model description {config_path} is missing (class names and input size)") from err
    classes = raw.get("classes")
    if not isinstance(classes, list) or not classes or not all(isinstance(c, str) for c in classes):
        raise ValueError(f"{config_path}: classes must be a non-empty list of names in the model's output order")
    size = raw.get("input_size")
    if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size)):
        raise ValueError(f"{config_path}: input_size must be [height, width] in pixels")
    layout = raw.get("layout", "auto")
    if layout not in ("auto", "boxes_last", "boxes_first"):
        raise ValueError(f"{config_path}: layout must be auto, boxes_last or boxes_first, not {layout!r}")
    objectness = raw.get("objectness", "auto")
    if objectness not in ("auto", True, False):
        raise ValueError(f"{config_path}: objectness must be auto, true or false")
    box_format = raw.get("box_format", "cxcywh")
    if box_format not in ("cxcywh", "xyxy"):
        raise ValueError(f"{config_path}: box_format must be cxcywh or xyxy")
    kinds = {k: tuple(v) for k, v in (raw.get("kinds") or {"person": ["person"], "ebike": ["ebike"]}).items()}
    return ModelConfig(
        path=model_path,
        classes=tuple(classes),
        input_height=size[0],
        input_width=size[1],
        layout=layout,
        objectness=None if objectness == "auto" else bool(objectness),
        box_format=box_format,
        score_threshold=float(raw.get("score_threshold", 0.5)),
        iou_threshold=float(raw.get("iou_threshold", 0.5)),
        pad_value=int(raw.get("pad_value", 114)),
        scale=float(raw.get("scale", 255.0)),
        kinds=kinds,
        metrics=dict(raw.get("metrics") or {}),
    )
