"""Synthetic variation for training: MNIST digits made to look like crops from real scans, and
clutter for the "not a digit" class.

Every function returns an ink image (paper 0, ink 1, any size) that is then passed through
:func:`extractor.normalize.normalize_digit`, exactly as a crop cut from a page would be.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Working canvas side: MNIST digits are drawn at twice their size in the middle of it.
CANVAS = 84
#: Share of training digits left as they are, lightly varied, and heavily varied.
CLEAN, LIGHT = 0.25, 0.35
#: Share of heavily varied digits given each kind of segmentation mark (tail, neighbour, clip).
SEGMENTATION_MARKS = 0.12


_IDENTITY = np.dstack(np.meshgrid(np.arange(CANVAS), np.arange(CANVAS))).astype(np.float32)


def _place(img28: np.ndarray) -> np.ndarray:
    canvas = np.zeros((CANVAS, CANVAS), np.float32)
    big = cv2.resize(img28.astype(np.float32) / 255.0, (56, 56), interpolation=cv2.INTER_LINEAR)
    canvas[14:70, 14:70] = big
    return canvas


def _affine(ink: np.ndarray, rng: np.random.Generator, rotate: float, shear: float, aspect: tuple) -> np.ndarray:
    angle = np.deg2rad(rng.uniform(-rotate, rotate))
    sh = rng.uniform(-shear, shear)
    ax = np.exp(rng.uniform(*aspect))
    c, s = np.cos(angle), np.sin(angle)
    linear = np.array([[c, -s], [s, c]]) @ np.array([[1.0, sh], [0.0, 1.0]]) @ np.diag([ax, 1.0])
    centre = np.array([CANVAS / 2, CANVAS / 2])
    # Shrink so the distorted digit stays on the canvas; normalize refits the size anyway.
    linear *= 0.75 / max(1.0, np.abs(linear).sum(axis=1).max())
    matrix = np.hstack([linear, (centre - linear @ centre)[:, None]])
    return cv2.warpAffine(ink, matrix, (CANVAS, CANVAS), flags=cv2.INTER_LINEAR)


def _elastic(ink: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    grid = rng.uniform(-1, 1, size=(5, 5, 2)).astype(np.float32) * amount
    flow = cv2.resize(grid, (CANVAS, CANVAS), interpolation=cv2.INTER_CUBIC) + _IDENTITY
    return cv2.remap(ink, flow, None, interpolation=cv2.INTER_LINEAR)


def _thickness(ink: np.ndarray, step: int) -> np.ndarray:
    if step == 0:
        return ink
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(step) + 1, 2 * abs(step) + 1))
    return cv2.dilate(ink, kernel) if step > 0 else cv2.erode(ink, kernel)


def scan_like(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Stroke thickness, resolution loss, blur, contrast, binarization and noise, as scans vary."""
    support = ink > 0.05
    ink = _thickness(ink, int(rng.choice([-1, 0, 0, 1, 1, 2])))
    if rng.random() < 0.3:  # low resolution, as in 16x16 or 32x32 digit sets and fax-quality scans
        factor = rng.uniform(0.3, 0.5)
        small = cv2.resize(ink, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        ink = cv2.resize(small, (CANVAS, CANVAS), interpolation=rng.choice([cv2.INTER_NEAREST, cv2.INTER_LINEAR]))
    if rng.random() < 0.3:
        ink = cv2.GaussianBlur(ink, (0, 0), rng.uniform(0.5, 1.5))
    if rng.random() < 0.3:
        ink = np.clip(ink, 0, 1) ** rng.uniform(0.5, 2.0)
    if rng.random() < 0.3:
        ink = (ink > rng.uniform(0.25, 0.6)).astype(np.float32)
    if rng.random() < 0.3:  # noise on and around the strokes; a crop's box is set by segmentation
        near = cv2.dilate(support.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        ink = ink + near * rng.normal(0, rng.uniform(0.02, 0.1), ink.shape).astype(np.float32)
    return np.clip(ink, 0, 1)


def _box(ink: np.ndarray) -> tuple[int, int, int, int]:
    rows = np.flatnonzero(ink.max(axis=1) > 0.3)
    cols = np.flatnonzero(ink.max(axis=0) > 0.3)
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


def _ligature(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A pen stroke leaving the digit sideways, as cursive writing joins it to its neighbour; a cut
    between joined digits leaves part of it on the digit."""
    top, bottom, left, right = _box(ink)
    height = bottom - top + 1
    side = rng.choice([-1, 1])
    band = slice(top + height // 2, bottom + 1)  # joins leave from the lower half
    cols = np.flatnonzero(ink[band].max(axis=0) > 0.3)
    x = int(cols[-1] if side > 0 else cols[0])
    ys = np.flatnonzero(ink[band, x] > 0.3)
    y = int(top + height // 2 + ys[len(ys) // 2])
    length = rng.uniform(0.15, 0.4) * height
    end = (x + side * length, y + rng.uniform(-0.2, 0.15) * height)
    mid = ((x + end[0]) / 2, max(y, end[1]) + rng.uniform(0, 0.1) * height)
    t = np.linspace(0, 1, 12)[:, None]
    curve = (1 - t) ** 2 * np.array([x, y]) + 2 * t * (1 - t) * np.array(mid) + t ** 2 * np.array(end)
    out = ink.copy()
    cv2.polylines(out, [np.round(curve * 4).astype(np.int32)], False, 1.0, int(rng.integers(3, 6)), cv2.LINE_AA, shift=2)
    return out


def _neighbour_slice(ink: np.ndarray, other: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A thin slice of a neighbouring digit touching the digit's side, as a cut a little off leaves."""
    top, bottom, left, right = _box(ink)
    o_top, o_bottom, o_left, o_right = _box(other)
    width = max(2, int((o_right - o_left + 1) * rng.uniform(0.08, 0.25)))
    out = ink.copy()
    if rng.random() < 0.5:  # the right neighbour's left edge
        piece = other[:, o_left: o_left + width]
        x = right + 1 - int(rng.integers(0, 3))
    else:  # the left neighbour's right edge
        piece = other[:, o_right + 1 - width: o_right + 1]
        x = left - width + int(rng.integers(0, 3))
    x = min(max(x, 0), CANVAS - width)
    np.maximum(out[:, x: x + width], piece[:, : out[:, x: x + width].shape[1]], out=out[:, x: x + width])
    return out


def _clip_side(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The digit with a sliver of one side cut off, as a cut a little inside leaves it."""
    top, bottom, left, right = _box(ink)
    sliver = int((right - left + 1) * rng.uniform(0.03, 0.12))
    out = ink.copy()
    if rng.random() < 0.5:
        out[:, right + 1 - sliver:] = 0
    else:
        out[:, : left + sliver] = 0
    return out


def _flagged_one(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 1 as written in much of Europe and Latin America: a lead-in stroke from the top, short
    and steep or drawn up from near the baseline."""
    top, bottom, left, right = _box(ink)
    height = bottom - top + 1
    x = int(np.flatnonzero(ink[top] > 0.3).mean())
    if rng.random() < 0.35:  # Latin America's: drawn up from near the baseline
        run = rng.uniform(0.3, 0.55) * height
        end = (x - run, top + height * rng.uniform(0.55, 0.95))
    else:  # short and steep, unlike the long level bar of a 7
        run = rng.uniform(0.18, 0.38) * height
        end = (x - run, top + run * rng.uniform(0.7, 1.3))
    out = ink.copy()
    cv2.line(out, (x * 4, top * 4), (int(end[0] * 4), int(end[1] * 4)), 1.0, int(rng.integers(3, 6)), cv2.LINE_AA, shift=2)
    return out


def _crossed_seven(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 7 with a bar across its stem, as written in much of Europe and Latin America."""
    top, bottom, left, right = _box(ink)
    height = bottom - top + 1
    y = int(top + height * rng.uniform(0.45, 0.6))
    cols = np.flatnonzero(ink[y] > 0.3)
    if cols.size == 0:
        return ink
    x = cols.mean()
    half = rng.uniform(0.15, 0.3) * height
    out = ink.copy()
    tilt = rng.uniform(-0.08, 0.08) * height
    cv2.line(out, (int((x - half) * 4), int((y + tilt) * 4)), (int((x + half) * 4), int((y - tilt) * 4)), 1.0,
             int(rng.integers(3, 6)), cv2.LINE_AA, shift=2)
    return out


#: Writing styles MNIST has few of, given to this share of the digits they apply to.
STYLE_SHARE = 0.3
_STYLES = {1: _flagged_one, 7: _crossed_seven}


def vary_digit(img28: np.ndarray, rng: np.random.Generator, heavy: bool, neighbour: np.ndarray | None = None,
               label: int | None = None) -> np.ndarray:
    """One MNIST digit (uint8 28x28, white on black) with geometric and scan-like variation, and,
    when heavy, the marks that segmenting joined writing leaves: a ligature tail, a slice of the
    neighbour (``neighbour``, another MNIST digit), or a clipped side. Given its ``label``, a 1
    or a 7 may be written in the styles MNIST lacks (a flagged 1, a crossed 7)."""
    ink = _place(img28)
    if label in _STYLES and rng.random() < STYLE_SHARE:
        ink = _STYLES[label](ink, rng)
    if not heavy:
        return _affine(ink, rng, rotate=8, shear=0.15, aspect=(-0.15, 0.15))
    ink = _affine(ink, rng, rotate=15, shear=0.35, aspect=(-0.35, 0.5))
    if rng.random() < 0.5:
        ink = _elastic(ink, rng, amount=rng.uniform(2, 6))
    mark = rng.random()
    if mark < SEGMENTATION_MARKS:
        ink = _ligature(ink, rng)
    elif mark < 2 * SEGMENTATION_MARKS and neighbour is not None:
        ink = _neighbour_slice(ink, _place(neighbour), rng)
    elif mark < 3 * SEGMENTATION_MARKS:
        ink = _clip_side(ink, rng)
    varied = scan_like(ink, rng)
    # A thin digit can be eroded away, or noise can swamp it: keep the geometric variation only.
    if varied.max() < 0.5 or (varied > 0.5).mean() > 4 * max((ink > 0.5).mean(), 1e-3):
        return ink
    return varied


def _line(canvas, p0, p1, width):
    cv2.line(canvas, tuple(int(v) for v in p0), tuple(int(v) for v in p1), 1.0, int(width), cv2.LINE_AA)


def clutter(rng: np.random.Generator, images: np.ndarray) -> np.ndarray:
    """One "not a digit" crop: a rule or box fragment, a separator, a blob, a part of a digit, or two
    digits run together, the shapes that cleaning and segmentation leave behind on real pages."""
    canvas = np.zeros((CANVAS, CANVAS), np.float32)
    c = CANVAS / 2
    width = rng.integers(2, 8)
    kind = rng.choice(["dash", "equals", "slash", "corner", "dot", "comma", "blob", "pair", "pair", "part", "scribble"])
    if kind == "dash":  # a dash, an underline or a horizontal rule, never near vertical (that is a 1)
        length = rng.uniform(20, 70)
        angle = np.deg2rad(rng.uniform(-20, 20))
        d = np.array([np.cos(angle), np.sin(angle)]) * length / 2
        _line(canvas, (c - d[0], c - d[1]), (c + d[0], c + d[1]), width)
    elif kind == "equals":
        length = rng.uniform(20, 50)
        gap = rng.uniform(8, 18)
        for dy in (-gap / 2, gap / 2):
            _line(canvas, (c - length / 2, c + dy), (c + length / 2, c + dy + rng.uniform(-3, 3)), width)
    elif kind == "slash":  # "/" and "/-", leaning well past a handwritten 1
        angle = np.deg2rad(rng.uniform(40, 65))
        length = rng.uniform(30, 60)
        d = np.array([np.sin(angle), -np.cos(angle)]) * length / 2
        _line(canvas, (c - d[0], c - d[1]), (c + d[0], c + d[1]), width)
        if rng.random() < 0.5:
            _line(canvas, (c + d[0] - 4, c + 6), (c + d[0] + rng.uniform(10, 25), c + 6), width)
    elif kind == "corner":  # a box corner or a crossing of rules; never the top-right one, a 7
        a, b = rng.uniform(15, 35, size=2)
        sx, sy = [(1, 1), (1, -1), (-1, -1)][rng.integers(3)]
        _line(canvas, (c, c), (c + sx * a, c), width)
        _line(canvas, (c, c), (c, c + sy * b), width)
        if rng.random() < 0.3:
            _line(canvas, (c, c), (c - sx * a, c), width)
    elif kind in ("dot", "comma"):
        r = rng.uniform(4, 10)
        cv2.ellipse(canvas, (int(c), int(c)), (int(r * rng.uniform(0.7, 1.3)), int(r)), rng.uniform(0, 180), 0, 360, 1.0, -1)
        if kind == "comma":
            _line(canvas, (c + r * 0.5, c), (c - r * 0.5, c + r * 2.5), max(2, int(r * 0.6)))
    elif kind == "blob":
        for _ in range(rng.integers(1, 4)):
            centre = (int(c + rng.uniform(-10, 10)), int(c + rng.uniform(-10, 10)))
            axes = (int(rng.uniform(4, 18)), int(rng.uniform(4, 18)))
            cv2.ellipse(canvas, centre, axes, rng.uniform(0, 180), 0, 360, 1.0, -1)
    elif kind == "scribble":
        points = (c + rng.normal(0, 12, size=(rng.integers(3, 7), 2))).astype(np.int32)
        cv2.polylines(canvas, [points], False, 1.0, int(width), cv2.LINE_AA)
    elif kind == "pair":  # two digits touching or overlapping, as one component
        a, b = images[rng.integers(len(images), size=2)]
        pair = np.zeros((28, 56), np.float32)
        shift = int(rng.integers(13, 22))
        pair[:, :28] = a / 255.0
        pair[:, shift: shift + 28] = np.maximum(pair[:, shift: shift + 28], b / 255.0)
        big = cv2.resize(pair, None, fx=1.4, fy=1.4)
        h, w = big.shape
        y, x = (CANVAS - h) // 2, (CANVAS - w) // 2
        canvas[y: y + h, x: x + w] = big[:, : min(w, CANVAS)]
        return scan_like(canvas, rng)
    else:  # part of a digit: the left or right side cut off by a bad split
        digit = _place(images[rng.integers(len(images))])
        cols = np.flatnonzero(digit.any(axis=0))
        if cols.size > 4:
            cut = int(cols[0] + (cols[-1] - cols[0]) * rng.uniform(0.3, 0.5))
            if rng.random() < 0.5:
                digit[:, cut:] = 0
            else:
                digit[:, : cols[-1] - (cut - cols[0])] = 0
        canvas = digit
    return scan_like(canvas, rng)
