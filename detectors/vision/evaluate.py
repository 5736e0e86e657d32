"""Precision and recall of a detector on a held-out set of generated snapshots (IoU >= 0.5, per class).

python -m detectors.vision.evaluate [--model detectors/vision/models/car_v1.onnx] [--images 500] [--seed 777]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from detectors.vision.adapter import Detection, VisionModel
from detectors.vision.synth import CLASSES, Box, scene

HELD_OUT_SEED = 777  # training uses seeds 1 (train) and 2 (validation); this set is never seen


def iou(a: tuple[float, float, float, float], b: Box) -> float:
    ix = max(0.0, min(a[2], b.x2) - max(a[0], b.x1))
    iy = max(0.0, min(a[3], b.y2) - max(a[1], b.y1))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter
    return inter / union if union > 0 else 0.0


def match(found: list[Detection], truth: list[Box], label: str, threshold: float = 0.5) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) for one class in one image, greedy by score."""
    preds = [d for d in found if d.kind == label]
    gts = [b for b in truth if b.label == label]
    used: set[int] = set()
    tp = 0
    for d in sorted(preds, key=lambda d: -d.score):
        best, best_iou = -1, threshold
        for j, g in enumerate(gts):
            if j not in used and (v := iou(d.box, g)) >= best_iou:
                best, best_iou = j, v
        if best >= 0:
            used.add(best)
            tp += 1
    return tp, len(preds) - tp, len(gts) - tp


def evaluate(model: VisionModel, images: int = 500, seed: int = HELD_OUT_SEED) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    counts = {label: [0, 0, 0] for label in CLASSES}
    empty_images = empty_false = 0
    for _ in range(images):
        image, truth = scene(rng)
        found = model.detect(image)
        for label in CLASSES:
            for k, v in enumerate(match(found, truth, label)):
                counts[label][k] += v
        if not truth:
            empty_images += 1
            empty_false += bool(found)
    out: dict[str, float] = {"images": images, "seed": seed}
    for label, (tp, fp, fn) in counts.items():
        out[f"{label}_precision"] = round(tp / (tp + fp), 4) if tp + fp else 1.0
        out[f"{label}_recall"] = round(tp / (tp + fn), 4) if tp + fn else 1.0
        out[f"{label}_objects"] = tp + fn
    out["empty_images"] = empty_images
    out["empty_images_with_a_detection"] = empty_false
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=Path(__file__).parent / "models" / "car_v1.onnx")
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--seed", type=int, default=HELD_OUT_SEED)
    args = parser.parse_args()
    print(json.dumps(evaluate(VisionModel.load(args.model), args.images, args.seed)))


if __name__ == "__main__":
    main()
