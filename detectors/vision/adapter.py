"""Run a YOLO-style ONNX detector on a snapshot: letterbox, infer, decode, non-maximum suppression.

Accepted outputs (the common exports): [1, N, 4+C] or [1, 4+C, N], optionally with an objectness
column after the box ([1, N, 5+C], YOLOv5), boxes as centre/size or corners in input pixels and
class scores as probabilities. Which one a model has is read from its TOML or from the shape.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

from detectors.vision.config import ModelConfig, load_config


@dataclass(frozen=True)
class Detection:
    label: str  # the model's class name
    kind: str | None  # "person", "ebike" or None when the class means neither
    score: float
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in the snapshot's pixels


@dataclass(frozen=True)
class Letterbox:
    scale: float
    pad_x: float
    pad_y: float


def letterbox(image: Image.Image, height: int, width: int, pad_value: int = 114) -> tuple[np.ndarray, Letterbox]:
    """Resize keeping the aspect ratio, pad to height x width (centred); HWC uint8 RGB."""
    image = image.convert("RGB")
    scale = min(width / image.width, height / image.height)
    new_w, new_h = max(1, round(image.width * scale)), max(1, round(image.height * scale))
    resized = image.resize((new_w, new_h), Image.BILINEAR)
    canvas = np.full((height, width, 3), pad_value, dtype=np.uint8)
    pad_x, pad_y = (width - new_w) // 2, (height - new_h) // 2
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = np.asarray(resized)
    return canvas, Letterbox(scale, pad_x, pad_y)


def rows_of(output: np.ndarray, config: ModelConfig) -> tuple[np.ndarray, bool]:
    """The output as [N, 4(+1)+C] rows and whether it has an objectness column."""
    if output.ndim == 3:
        if output.shape[0] != 1:
            raise ValueError(f"expected a batch of one, got output shape {output.shape}")
        output = output[0]
    if output.ndim != 2:
        raise ValueError(f"expected a [1, N, 4+C] or [1, 4+C, N] output, got shape {output.shape}")
    c = len(config.classes)
    widths = (5 + c,) if config.objectness else (4 + c,) if config.objectness is False else (4 + c, 5 + c)
    layout = config.layout
    if layout == "auto":
        first, last = output.shape[0] in widths, output.shape[1] in widths
        if not first and not last:
            raise ValueError(
                f"output shape {output.shape} has no dimension of {' or '.join(map(str, widths))} "
                f"(box + {c} classes): is the class list in the model's TOML right?"
            )
        if first and last:
            raise ValueError(
                f"cannot tell boxes from classes in output shape {output.shape} for {c} classes; "
                "set layout = boxes_first or boxes_last in the model's TOML"
            )
        layout = "boxes_first" if first else "boxes_last"
    rows = output.T if layout == "boxes_first" else output
    if rows.shape[1] not in widths:
        raise ValueError(f"output rows have {rows.shape[1]} values; {c} classes need {' or '.join(map(str, widths))}")
    return rows, rows.shape[1] == 5 + c


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> list[int]:
    order = scores.argsort()[::-1]
    keep: list[int] = []
    areas = (boxes[:, 2] - boxes[:, 0]).clip(0) * (boxes[:, 3] - boxes[:, 1]).clip(0)
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        xx1 = np.maximum(boxes[i, 0], boxes[rest, 0])
        yy1 = np.maximum(boxes[i, 1], boxes[rest, 1])
        xx2 = np.minimum(boxes[i, 2], boxes[rest, 2])
        yy2 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = (xx2 - xx1).clip(0) * (yy2 - yy1).clip(0)
        iou = inter / (areas[i] + areas[rest] - inter + 1e-9)
        order = rest[iou <= iou_threshold]
    return keep


class VisionModel:
    """One loaded detector; thread-safe to call (onnxruntime sessions are)."""

    def __init__(self, config: ModelConfig, *, threads: int = 1) -> None:
        self.config = config
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(config.path), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    @classmethod
    def load(cls, model_path: Path, config_path: Path | None = None) -> VisionModel:
        return cls(load_config(model_path, config_path))

    def prepare(self, image: Image.Image) -> tuple[np.ndarray, Letterbox]:
        c = self.config
        pixels, box = letterbox(image, c.input_height, c.input_width, c.pad_value)
        tensor = (pixels.astype(np.float32) / c.scale).transpose(2, 0, 1)[None]
        return np.ascontiguousarray(tensor), box

    def detect(self, image: Image.Image | bytes, score_threshold: float | None = None) -> list[Detection]:
        if isinstance(image, bytes | bytearray):
            image = Image.open(io.BytesIO(image))
        tensor, lb = self.prepare(image)
        output = self.session.run(None, {self.input_name: tensor})[0]
        return self.decode(np.asarray(output, dtype=np.float32), lb, image.width, image.height, score_threshold)

    def decode(
        self, output: np.ndarray, lb: Letterbox, width: int, height: int, score_threshold: float | None = None
    ) -> list[Detection]:
        c = self.config
        threshold = c.score_threshold if score_threshold is None else score_threshold
        rows, has_objectness = rows_of(output, c)
        class_scores = rows[:, 5:] * rows[:, 4:5] if has_objectness else rows[:, 4:]
        class_ids = class_scores.argmax(axis=1)
        scores = class_scores[np.arange(len(rows)), class_ids]
        keep = scores >= threshold
        if not keep.any():
            return []
        raw, scores, class_ids = rows[keep, :4], scores[keep], class_ids[keep]
        if c.box_format == "cxcywh":
            half_w, half_h = raw[:, 2] / 2, raw[:, 3] / 2
            boxes = np.stack([raw[:, 0] - half_w, raw[:, 1] - half_h, raw[:, 0] + half_w, raw[:, 1] + half_h], axis=1)
        else:
            boxes = raw.copy()
        # From letterboxed input pixels back to the snapshot's pixels.
        boxes[:, [0, 2]] = ((boxes[:, [0, 2]] - lb.pad_x) / lb.scale).clip(0, width)
        boxes[:, [1, 3]] = ((boxes[:, [1, 3]] - lb.pad_y) / lb.scale).clip(0, height)
        found: list[Detection] = []
        for cls in np.unique(class_ids):  # suppression per class: a person may stand by an e-bike
            idx = np.flatnonzero(class_ids == cls)
            for i in nms(boxes[idx], scores[idx], c.iou_threshold):
                j = idx[i]
                name = c.classes[int(cls)]
                found.append(Detection(name, c.kind_of(name), float(scores[j]), tuple(float(v) for v in boxes[j])))
        return sorted(found, key=lambda d: -d.score)
