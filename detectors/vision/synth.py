"""Generated car-camera snapshots with known boxes: the shipped model's training and test data.

A scene is a car interior seen from a ceiling corner (walls with panel seams, a floor, a handrail,
a light strip, sometimes an advertising poster or a closing door edge), with 0-3 people and
sometimes an e-bike, under varied light and sensor noise. Shapes are drawn, not photographed, so a
city should fine-tune on its own footage; the shapes keep the proportions that matter (a person's
head over shoulders over legs, an e-bike's two wheels under a frame and handlebar).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

CLASSES = ("person", "ebike")
SIZES = ((320, 240), (240, 240), (256, 320), (320, 180))  # width, height: cameras differ


@dataclass(frozen=True)
class Box:
    label: str
    x1: float
    y1: float
    x2: float
    y2: float


def _color(rng: np.random.Generator, lo: int = 0, hi: int = 255) -> tuple[int, int, int]:
    return tuple(int(v) for v in rng.integers(lo, hi, 3))  # type: ignore[return-value]


def _background(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    base = np.array(_color(rng, 90, 220), dtype=np.float32)
    ramp = np.linspace(rng.uniform(0.7, 1.0), rng.uniform(0.8, 1.2), w, dtype=np.float32)[None, :, None]
    light = np.linspace(rng.uniform(0.9, 1.2), rng.uniform(0.6, 0.9), h, dtype=np.float32)[:, None, None]
    pixels = np.clip(base[None, None, :] * ramp * light, 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(image)
    for x in np.cumsum(rng.integers(w // 6, w // 3, 6)):  # panel seams
        if x < w:
            draw.line([(int(x), 0), (int(x), h)], fill=_color(rng, 40, 120), width=1)
    floor_y = int(h * rng.uniform(0.72, 0.85))
    draw.polygon([(0, h), (w, h), (int(w * 0.85), floor_y), (int(w * 0.15), floor_y)], fill=_color(rng, 30, 110))
    rail_y = int(h * rng.uniform(0.45, 0.6))
    draw.line([(0, rail_y), (w, rail_y)], fill=_color(rng, 150, 240), width=int(rng.integers(2, 5)))
    draw.rectangle([0, 0, w, int(h * 0.05)], fill=_color(rng, 200, 255))  # light strip
    if rng.random() < 0.5:  # advertising poster: a distractor with colour blocks and "text" lines
        px, py = int(rng.integers(0, w * 3 // 4)), int(rng.integers(h // 10, h // 3))
        pw, ph = int(rng.integers(w // 8, w // 4)), int(rng.integers(h // 6, h // 3))
        draw.rectangle([px, py, px + pw, py + ph], fill=_color(rng))
        for k in range(int(rng.integers(2, 6))):
            ly = py + 4 + k * 6
            if ly < py + ph - 2:
                draw.line([(px + 3, ly), (px + pw - 3, ly)], fill=_color(rng), width=2)
    if rng.random() < 0.3:  # a door edge closing in from one side
        edge = int(w * rng.uniform(0.03, 0.15))
        x0 = 0 if rng.random() < 0.5 else w - edge
        draw.rectangle([x0, 0, x0 + edge, h], fill=_color(rng, 120, 200))
    if rng.random() < 0.3:  # a bin or a box on the floor: not a person, not an e-bike
        bx, bw = int(rng.integers(0, w - 30)), int(rng.integers(12, 30))
        draw.rectangle([bx, floor_y - bw, bx + bw, floor_y + 5], fill=_color(rng, 20, 200))
    return image


def _person(draw: ImageDraw.ImageDraw, rng: np.random.Generator, w: int, h: int) -> Box:
    height = h * rng.uniform(0.4, 0.85)
    cx = rng.uniform(w * 0.12, w * 0.88)
    foot = min(h - 2, h * rng.uniform(0.8, 0.98))
    top = foot - height
    head_r = height * rng.uniform(0.07, 0.09)
    shoulder = height * rng.uniform(0.11, 0.15)
    skin, hair = _color(rng, 150, 240), _color(rng, 0, 70)
    shirt, trousers = _color(rng), _color(rng, 0, 160)
    neck_y = top + 2 * head_r
    hip_y = top + height * rng.uniform(0.5, 0.56)
    # legs, then torso, arms and head so the torso overlaps the hips
    stride = shoulder * rng.uniform(0.2, 0.6)
    leg_w = max(2, int(shoulder * 0.45))
    draw.line([(cx - shoulder * 0.4, hip_y), (cx - stride, foot)], fill=trousers, width=leg_w)
    draw.line([(cx + shoulder * 0.4, hip_y), (cx + stride, foot)], fill=trousers, width=leg_w)
    draw.rounded_rectangle(
        [cx - shoulder, neck_y, cx + shoulder, hip_y + shoulder * 0.3], radius=max(1, int(shoulder * 0.4)), fill=shirt
    )
    arm_w = max(2, int(shoulder * 0.3))
    for side in (-1, 1):
        hand_x = cx + side * (shoulder + rng.uniform(-0.2, 0.6) * shoulder)
        draw.line([(cx + side * shoulder * 0.9, neck_y + 3), (hand_x, hip_y)], fill=shirt, width=arm_w)
    draw.ellipse([cx - head_r, top, cx + head_r, top + 2 * head_r], fill=skin)
    draw.chord([cx - head_r, top, cx + head_r, top + 2 * head_r], 180, 360, fill=hair)
    left = min(cx - shoulder - arm_w, cx - stride - leg_w / 2)
    right = max(cx + shoulder + arm_w, cx + stride + leg_w / 2)
    return Box("person", max(0, left), max(0, top), min(w, right), min(h, foot + leg_w / 2))


def _ebike(draw: ImageDraw.ImageDraw, rng: np.random.Generator, w: int, h: int) -> Box:
    length = w * rng.uniform(0.35, 0.6)
    wheel_r = length * rng.uniform(0.17, 0.22)
    x0 = rng.uniform(2, w - length - 2)
    ground = h * rng.uniform(0.85, 0.98)
    rear, front = (x0 + wheel_r, ground - wheel_r), (x0 + length - wheel_r, ground - wheel_r)
    tyre = _color(rng, 0, 60)
    tw = max(2, int(wheel_r * 0.28))
    for cx, cy in (rear, front):
        draw.ellipse([cx - wheel_r, cy - wheel_r, cx + wheel_r, cy + wheel_r], outline=tyre, width=tw)
        draw.ellipse([cx - 2, cy - 2, cx + 2, cy + 2], fill=_color(rng, 100, 200))
    body = _color(rng)
    # step-through frame with a battery box and a seat, handlebar over the front wheel
    mid = ((rear[0] + front[0]) / 2, rear[1] - wheel_r * 0.2)
    seat = (rear[0] + wheel_r * 0.3, rear[1] - wheel_r * 1.9)
    bar = (front[0] - wheel_r * 0.3, front[1] - wheel_r * 2.4)
    fw = max(2, int(wheel_r * 0.3))
    draw.line([rear, mid, front], fill=body, width=fw)
    draw.line([mid, seat], fill=body, width=fw)
    draw.line([front, bar], fill=body, width=fw)
    draw.polygon(
        [
            (rear[0] - wheel_r * 0.8, rear[1] - wheel_r * 1.1),
            (seat[0] + wheel_r * 0.6, rear[1] - wheel_r * 1.1),
            (seat[0] + wheel_r * 0.4, seat[1] + wheel_r * 0.3),
            (rear[0] - wheel_r * 0.6, seat[1] + wheel_r * 0.3),
        ],
        fill=body,
    )
    draw.rounded_rectangle(
        [seat[0] - wheel_r * 0.8, seat[1] - wheel_r * 0.25, seat[0] + wheel_r * 0.8, seat[1] + wheel_r * 0.15],
        radius=2,
        fill=_color(rng, 0, 60),
    )
    draw.line([(bar[0] - wheel_r * 0.6, bar[1]), (bar[0] + wheel_r * 0.5, bar[1])], fill=tyre, width=fw)
    if rng.random() < 0.5:  # front basket
        draw.rectangle(
            [bar[0], bar[1] + wheel_r * 0.2, bar[0] + wheel_r * 0.8, bar[1] + wheel_r * 0.9], outline=body, width=2
        )
    top = bar[1] - fw
    return Box("ebike", max(0, x0), max(0, top), min(w, x0 + length + 2), min(h, ground + 2))


def scene(
    rng: np.random.Generator, *, people: int | None = None, ebike: bool | None = None
) -> tuple[Image.Image, list[Box]]:
    """One snapshot and its ground-truth boxes."""
    w, h = SIZES[int(rng.integers(len(SIZES)))]
    image = _background(rng, w, h)
    draw = ImageDraw.Draw(image)
    n_people = int(rng.choice([0, 1, 1, 2, 2, 3])) if people is None else people
    has_ebike = bool(rng.random() < 0.35) if ebike is None else ebike
    boxes: list[Box] = []
    items = ["person"] * n_people + (["ebike"] if has_ebike else [])
    rng.shuffle(items)
    for item in items:
        boxes.append(_person(draw, rng, w, h) if item == "person" else _ebike(draw, rng, w, h))
    if rng.random() < 0.5:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    pixels = np.asarray(image, dtype=np.float32) * rng.uniform(0.6, 1.3) + rng.normal(0, rng.uniform(2, 10), (h, w, 3))
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
    return image, visible(boxes)


def visible(boxes: list[Box]) -> list[Box]:
    """Drop objects mostly hidden behind a person drawn later (their labels would teach noise); an
    e-bike is mostly see-through (wheels and a frame), so what stands behind one stays labelled."""
    kept: list[Box] = []
    for i, b in enumerate(boxes):
        area = max(1e-6, (b.x2 - b.x1) * (b.y2 - b.y1))
        covered = 0.0
        for later in boxes[i + 1 :]:
            if later.label != "person":
                continue
            ix = max(0.0, min(b.x2, later.x2) - max(b.x1, later.x1))
            iy = max(0.0, min(b.y2, later.y2) - max(b.y1, later.y1))
            covered = max(covered, ix * iy / area)
        if covered < 0.7:
            kept.append(b)
    return kept
