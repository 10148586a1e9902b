"""Synthetic pages with ground truth, for tests, benchmarks and the shipped samples.

Two sources of handwriting: digits from the MNIST *test* set (for measuring; such pages are made at
test or bench time into a git-ignored folder, never committed), and the project's own pen-stroke
model (for ``samples/``, which ships: no MNIST pixel is in it). Pages carry printed labels, boxes,
comb fields and ruled lines; strings of 1-12 digits with touching neighbours and separators; and
the scan's faults: skew, blur, noise and JPEG.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
from PIL import Image

from . import clean

LETTER = (2550, 3300)  # width, height at 300 dpi
DPI = 300

#: Pen-stroke skeletons of the ten digits in a unit box (x right, y down), one list per stroke.
_STROKES = {
    0: [[(0.5, 0.0), (0.15, 0.2), (0.1, 0.55), (0.3, 0.95), (0.7, 0.95), (0.9, 0.55), (0.85, 0.2), (0.5, 0.0), (0.45, 0.05)]],
    1: [[(0.3, 0.2), (0.55, 0.0), (0.5, 1.0)]],
    2: [[(0.15, 0.25), (0.35, 0.03), (0.65, 0.0), (0.85, 0.22), (0.75, 0.5), (0.1, 1.0), (0.9, 0.98)]],
    3: [[(0.12, 0.12), (0.45, 0.0), (0.82, 0.15), (0.75, 0.38), (0.4, 0.48), (0.85, 0.62), (0.85, 0.88), (0.5, 1.0), (0.1, 0.88)]],
    4: [[(0.6, 0.0), (0.1, 0.65), (0.95, 0.65)], [(0.68, 0.3), (0.68, 1.0)]],
    5: [[(0.85, 0.0), (0.25, 0.02), (0.2, 0.45), (0.55, 0.38), (0.85, 0.6), (0.8, 0.9), (0.45, 1.0), (0.12, 0.88)]],
    6: [[(0.75, 0.0), (0.35, 0.3), (0.15, 0.7), (0.4, 1.0), (0.8, 0.85), (0.75, 0.55), (0.4, 0.5), (0.18, 0.68)]],
    7: [[(0.08, 0.02), (0.92, 0.0), (0.45, 1.0)]],
    8: [[(0.55, 0.45), (0.2, 0.25), (0.5, 0.0), (0.8, 0.22), (0.5, 0.48), (0.15, 0.75), (0.5, 1.0), (0.85, 0.75), (0.55, 0.48)]],
    9: [[(0.82, 0.25), (0.5, 0.0), (0.18, 0.22), (0.45, 0.48), (0.82, 0.3), (0.8, 0.6), (0.72, 1.0)]],
}


def _smooth(points: np.ndarray, rounds: int = 3) -> np.ndarray:
    """Chaikin corner cutting: a polyline turned into a smooth pen path, ends kept."""
    for _ in range(rounds):
        a, b = points[:-1], points[1:]
        cut = np.empty((2 * len(a), 2))
        cut[0::2] = 0.75 * a + 0.25 * b
        cut[1::2] = 0.25 * a + 0.75 * b
        points = np.vstack([points[:1], cut, points[-1:]])
    return points


def stroke_digit(digit: int, rng: np.random.Generator, height: int = 56) -> np.ndarray:
    """One digit drawn by the pen-stroke model: ink (paper 0, ink 1), ``height`` pixels tall, with
    its own slant, width, wobble and pen thickness, as a different writer each time."""
    width = height * rng.uniform(0.55, 0.75)
    slant = rng.uniform(-0.25, 0.1)
    pad = int(height * 0.3)
    canvas = np.zeros((height + 2 * pad, int(width + height * 0.4) + 2 * pad), np.float32)
    thickness = max(2, int(round(height * rng.uniform(0.06, 0.1))))
    for stroke in _STROKES[digit]:
        pts = np.array(stroke, float) + rng.normal(0, 0.03, (len(stroke), 2))
        pts = _smooth(pts) if digit not in (4, 7, 1) else pts
        xs = pad + height * 0.2 + pts[:, 0] * width - slant * (pts[:, 1] - 0.5) * height
        ys = pad + pts[:, 1] * height
        path = np.round(np.stack([xs, ys], axis=1) * 4).astype(np.int32)
        cv2.polylines(canvas, [path], False, 1.0, thickness, cv2.LINE_AA, shift=2)
    rows = np.flatnonzero(canvas.any(axis=1))
    cols = np.flatnonzero(canvas.any(axis=0))
    return canvas[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]


def mnist_digit_source(images: np.ndarray, labels: np.ndarray) -> Callable:
    """A digit source drawing from MNIST (test) images: ink cropped to the digit."""
    by_label = {d: np.flatnonzero(labels == d) for d in range(10)}

    def draw(digit: int, rng: np.random.Generator, height: int) -> np.ndarray:
        img = images[rng.choice(by_label[digit])].astype(np.float32) / 255.0
        rows = np.flatnonzero(img.max(axis=1) > 0.1)
        cols = np.flatnonzero(img.max(axis=0) > 0.1)
        img = img[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]
        scale = height / img.shape[0]
        return cv2.resize(img, (max(1, int(img.shape[1] * scale)), height), interpolation=cv2.INTER_CUBIC).clip(0, 1)

    return draw


def stroke_digit_source() -> Callable:
    """A digit source drawing with the project's own pen-stroke model."""
    return lambda digit, rng, height: stroke_digit(digit, rng, height)


@dataclass
class Truth:
    """What was written on a generated page: field name, digits, and the field's box."""

    field: str
    text: str
    box: tuple[int, int, int, int]


@dataclass
class GeneratedPage:
    image: np.ndarray
    truth: list[Truth] = field(default_factory=list)


def write_string(page: np.ndarray, text: str, x: int, y_base: int, height: int, draw: Callable,
                 rng: np.random.Generator, touching: float = 0.2, separators: bool = False) -> tuple[int, int, int, int]:
    """Write ``text`` on the page (ink added as darkness) from ``x`` with its baseline at ``y_base``;
    returns the box written. Neighbours touch with probability ``touching``; separators (., -)
    may be put between digits when asked."""
    x0 = x
    top = y_base
    for i, ch in enumerate(text):
        h = int(height * rng.uniform(0.9, 1.1))
        ink = draw(int(ch), rng, h)
        gap = int(height * rng.uniform(-0.12, -0.05)) if rng.random() < touching else int(height * rng.uniform(0.08, 0.3))
        y = y_base - ink.shape[0] + int(rng.uniform(-0.05, 0.05) * height)
        _ink(page, ink, x, y)
        top = min(top, y)
        x += ink.shape[1] + gap
        if separators and i < len(text) - 1 and (len(text) - 1 - i) % 3 == 0 and rng.random() < 0.5:
            dot = max(3, height // 9)
            cv2.circle(page, (x + dot, y_base - dot), dot // 2 + 1, 0, -1, cv2.LINE_AA)
            x += 3 * dot
    return (x0, top, x - x0, y_base - top)


def _ink(page: np.ndarray, ink: np.ndarray, x: int, y: int) -> None:
    h, w = ink.shape
    y0, x0 = max(0, y), max(0, x)
    y1, x1 = min(page.shape[0], y + h), min(page.shape[1], x + w)
    if y1 <= y0 or x1 <= x0:
        return
    view = page[y0:y1, x0:x1].astype(np.float32)
    darkness = ink[y0 - y: y1 - y, x0 - x: x1 - x] * 235
    page[y0:y1, x0:x1] = np.clip(view - darkness, 0, 255).astype(np.uint8)


def random_digits(rng: np.random.Generator, low: int = 1, high: int = 12) -> str:
    return "".join(str(d) for d in rng.integers(0, 10, rng.integers(low, high + 1)))


def form_page(rng: np.random.Generator, draw: Callable, fields: int = 12, size=LETTER,
              touching: float = 0.2) -> GeneratedPage:
    """A form page: printed labels, then per field a box, a comb of cells, or a ruled line, each
    holding a handwritten string of 1-12 digits, neighbours touching with probability ``touching``."""
    w, h = size
    page = np.full((h, w), 255, np.uint8)
    cv2.putText(page, "SURVEY FORM - PLEASE WRITE NUMBERS IN THE BOXES", (150, 200),
                cv2.FONT_HERSHEY_SIMPLEX, 1.4, 40, 3, cv2.LINE_AA)
    truth = []
    y = 380
    row_height = (h - 500) // fields
    for i in range(fields):
        text = random_digits(rng)
        kind = rng.choice(["box", "box", "comb", "line"])
        digit_h = int(rng.uniform(45, 65))
        label = f"Field {i + 1}"
        cv2.putText(page, label, (150, y + digit_h), cv2.FONT_HERSHEY_SIMPLEX, 0.9, 60, 2, cv2.LINE_AA)
        left = 450
        base = y + digit_h + 20
        if kind == "comb":
            cell = int(digit_h * 1.5)
            for c in range(len(text)):
                cv2.rectangle(page, (left + c * cell, y), (left + (c + 1) * cell, base + 15), 0, 3)
                write_string(page, text[c], left + c * cell + cell // 4, base, digit_h, draw, rng, touching=0)
            box = (left, y, cell * len(text), base + 15 - y)
        else:
            end = write_string(page, text, left + 30, base, digit_h, draw, rng, touching=touching,
                               separators=kind == "line")
            if kind == "box":
                cv2.rectangle(page, (left, y - 15), (max(left + 400, end[0] + end[2] + 40), base + 18), 0, 3)
            else:
                cv2.line(page, (left, base + 4), (max(left + 500, end[0] + end[2] + 40), base + 4), 0, 3)
            box = end
        truth.append(Truth(f"field_{i + 1}", text, tuple(int(v) for v in box)))
        y += row_height
    return GeneratedPage(page, truth)


def scan(page: np.ndarray, rng: np.random.Generator, skew: float = 2.0, jpeg: bool = True, grain: float = 4.0) -> np.ndarray:
    """The faults of a scan: a little skew, blur, grain and JPEG."""
    return scan_turned(page, rng, skew, jpeg, grain)[0]


def scan_turned(page: np.ndarray, rng: np.random.Generator, skew: float = 2.0, jpeg: bool = True,
                grain: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """:func:`scan`, with the matrix that turned the page, to move its ground truth along."""
    h, w = page.shape
    angle = rng.uniform(-skew, skew)
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    out = cv2.warpAffine(page, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)
    out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.3, 0.9))
    if grain:
        out = np.clip(out.astype(np.float32) + rng.normal(0, grain, out.shape), 0, 255).astype(np.uint8)
    if jpeg:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(70, 95))])
        out = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    return out, matrix


def photographed(image: np.ndarray, rng: np.random.Generator, scale: float = 2 / 3) -> np.ndarray:
    """The page (grey or colour) photographed by a phone: at ``scale`` of its resolution, on a
    darker table, each corner pulled in by up to 8% of the page, the light falling off to 60%
    across it, saved as a JPEG (no resolution a reader could trust)."""
    page = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA).astype(np.float32)
    h, w = page.shape[:2]
    margin = int(0.12 * max(h, w))
    H, W = h + 2 * margin, w + 2 * margin
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    pull = rng.uniform(0.0, 0.08, (4, 2)) * [w, h] * [[1, 1], [-1, 1], [-1, -1], [1, -1]]
    target = corners + margin + pull.astype(np.float32)
    matrix = cv2.getPerspectiveTransform(corners, target)
    table = cv2.GaussianBlur(rng.normal(95, 20, (H, W)).astype(np.float32), (0, 0), 6)
    if page.ndim == 3:
        table = table[..., None] * np.float32([1.0, 0.92, 0.85])  # a wooden table's brown
    warped = cv2.warpPerspective(page, matrix, (W, H), flags=cv2.INTER_LINEAR, borderValue=(-1, -1, -1))
    photo = np.where(warped >= 0, warped, table)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    light = 1.0 - 0.4 * np.clip((xx / W) * 0.7 + (yy / H) * 0.3, 0, 1)  # 100% at one corner, 60% at the other
    photo = np.clip(photo * (light if page.ndim == 2 else light[..., None]) + rng.normal(0, 3, photo.shape),
                    0, 255).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE if page.ndim == 2 else cv2.IMREAD_COLOR)


def save_page(image: np.ndarray, path: Path) -> None:
    """Save as PNG (300 dpi recorded) or as a one-page PDF, by suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pil = Image.fromarray(image)
    if path.suffix.lower() == ".pdf":
        pil.save(path, "PDF", resolution=DPI)
    else:
        pil.save(path, dpi=(DPI, DPI))


def write_truth(pages: dict[str, GeneratedPage], path: Path) -> None:
    """Ground truth of generated pages as JSON: {file: [{field, text, box}]}."""
    data = {name: [{"field": t.field, "text": t.text, "box": list(t.box)} for t in page.truth]
            for name, page in pages.items()}
    path.write_text(json.dumps(data, indent=1) + "\n")


def mnist_pages(folder: Path, count: int, seed: int = 0, data: str | None = None, fields: int = 12) -> dict[str, GeneratedPage]:
    """Generate ``count`` scanned form pages from MNIST test digits into ``folder`` (PNG, and the
    first as PDF too), with ``truth.json``."""
    from . import mnist

    test = mnist.load_split(mnist.find_data_dir(data), "test")
    draw = mnist_digit_source(test.images, test.labels)
    rng = np.random.default_rng(seed)
    pages = {}
    for i in range(count):
        page = form_page(rng, draw, fields=fields)
        page.image, matrix = scan_turned(page.image, rng)
        page.truth = [Truth(t.field, t.text, clean.box_through(matrix, *t.box)) for t in page.truth]
        name = f"form_{i:03d}.png"
        save_page(page.image, Path(folder) / name)
        pages[name] = page
    write_truth(pages, Path(folder) / "truth.json")
    return pages


@dataclass(frozen=True)
class FormField:
    """A field of a fixed form layout: a box for up to ``cells`` digits (a comb when ``comb``)."""

    name: str
    x: int
    y: int
    w: int
    h: int
    cells: int
    comb: bool


def form_layout(rng: np.random.Generator, fields: int = 10, size=LETTER) -> list[FormField]:
    """A fixed form: printed boxes and combs in rows, the same on every copy."""
    w, h = size
    layout = []
    y = 420
    step = (h - 600) // fields
    for i in range(fields):
        comb = bool(rng.random() < 0.4)
        cells = int(rng.integers(4, 11)) if comb else int(rng.integers(3, 9))
        cell = 90
        box_w = cells * cell if comb else int(cells * 60 + 120)
        layout.append(FormField(f"field_{i + 1}", 500, y, box_w, 110, cells, comb))
        y += step
    return layout


def fill_form(layout: list[FormField], rng: np.random.Generator, draw: Callable, blank: bool = False,
              size=LETTER) -> GeneratedPage:
    """A copy of a fixed form, its boxes filled with handwritten numbers (or left blank)."""
    w, h = size
    page = np.full((h, w), 255, np.uint8)
    cv2.putText(page, "APPLICATION FORM", (150, 220), cv2.FONT_HERSHEY_SIMPLEX, 1.6, 40, 3, cv2.LINE_AA)
    cv2.rectangle(page, (100, 300), (w - 100, h - 150), 0, 3)  # the form's outer frame
    truth = []
    for f in layout:
        cv2.putText(page, f.name.replace("_", " ").title(), (160, f.y + 70), cv2.FONT_HERSHEY_SIMPLEX, 0.9, 60, 2, cv2.LINE_AA)
        if f.comb:
            cell = f.w // f.cells
            for c in range(f.cells):
                cv2.rectangle(page, (f.x + c * cell, f.y), (f.x + (c + 1) * cell, f.y + f.h), 0, 3)
        else:
            cv2.rectangle(page, (f.x, f.y), (f.x + f.w, f.y + f.h), 0, 3)
        if blank:
            continue
        text = random_digits(rng, f.cells if f.comb else 1, f.cells)
        digit_h = int(rng.uniform(50, 70))
        base = f.y + f.h - 25
        if f.comb:
            cell = f.w // f.cells
            for c, ch in enumerate(text):
                write_string(page, ch, f.x + c * cell + cell // 4, base, digit_h, draw, rng, touching=0)
        else:
            write_string(page, text, f.x + 40, base, digit_h, draw, rng, touching=0.15)
        truth.append(Truth(f.name, text, (f.x, f.y, f.w, f.h)))
    return GeneratedPage(page, truth)


def misplace(image: np.ndarray, rng: np.random.Generator, shift: float = 60, angle: float = 3.0,
             scale: float = 0.05) -> np.ndarray:
    """The page as a careless scan has it: shifted, rotated and scaled a little."""
    h, w = image.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-angle, angle), 1 + rng.uniform(-scale, scale))
    matrix[:, 2] += rng.uniform(-shift, shift, 2)
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)
