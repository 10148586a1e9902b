"""A page made upright and flat before cleaning: a phone photo of a sheet flattened to the sheet,
its light evened out; a page scanned sideways or upside down turned upright.

Each step returns the page it made and a map of boxes back onto the page as given, so the output's
boxes lie where the user sees the digits in their file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from .normalize import normalize_batch

#: Pages are looked at about this many pixels on their longer side to find the sheet and to even
#: out the light (every few pixels taken: a sheet's edge needs no more).
LOOK_SIDE = 500
#: A photo's sheet: the bright region covers at least this share of the picture, the darker
#: surround at least SURROUND_SHARE, and the sheet is a quadrilateral (its outline's polygon
#: covers at least this share of the region's hull).
MIN_SHEET_SHARE, SURROUND_SHARE, MIN_QUAD_FIT = 0.25, 0.03, 0.9
#: A form of known size is found on a photo only where the sheet's width over its height is
#: within this share of the form's.
ASPECT_TOLERANCE = 0.15
#: ... and where none of its four corners lies within this share of the picture's shorter side
#: of its edge.
EDGE_MARGIN = 0.01
#: A photographed sheet's longer side, in inches (between US letter's 11 and A4's 11.69): its
#: resolution once flattened is its longer side in pixels over this.
SHEET_INCHES = 11.35
#: Light is evened out over windows of this share of the sheet's shorter side.
LIGHT_WINDOW = 0.06
#: Glyphs looked at, at most, to tell which way up a page is.
TURN_GLYPHS = 24
#: A page lies on its side when at least MIN_DOWN of its glyphs, and DOWN_MARGIN times as many as
#: beside, have their nearest neighbour above or below them (NEIGHBOUR_SLOPE times further down
#: than across).
NEIGHBOUR_SLOPE, MIN_DOWN, DOWN_MARGIN = 2.0, 10, 2.0
#: A digit read at least this surely counts for the turn it was read in (which way a page on its
#: side is turned).
SURE_DIGIT = 0.9
#: A page is read turned over when its strings, turned over, are this much likelier (the sum of
#: their texts' log-probabilities).
FLIP_GAIN = 1.0
#: The page's largest crops read turned over to tell (all of them cost a quarter of a page's time).
FLIP_CROPS = 6
#: Half a page's strings read at least this surely: the page is upright.
SURE_UPRIGHT = 0.98

BoxMap = Callable[[int, int, int, int], tuple[int, int, int, int]]


def unchanged(x: int, y: int, w: int, h: int) -> tuple[int, int, int, int]:
    return x, y, w, h


@dataclass(frozen=True)
class Upright:
    """A page made upright and flat (``image``), and ``to_given``, which maps a box on it back onto
    the page as given; ``turns`` quarter turns counter-clockwise were applied, ``flattened`` says
    whether a photo's sheet was found."""

    image: np.ndarray
    to_given: BoxMap = unchanged
    turns: int = 0
    flattened: bool = False


def _gray(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def _small(gray: np.ndarray) -> tuple[np.ndarray, float]:
    step = max(1, int(np.ceil(max(gray.shape) / LOOK_SIDE)))
    return np.ascontiguousarray(gray[::step, ::step]), 1.0 / step


def sheet_corners(gray: np.ndarray) -> np.ndarray | None:
    """The four corners (top-left, top-right, bottom-right, bottom-left; float32 page pixels) of a
    sheet of paper photographed on a darker surface, or None for a scan (paper to the edges) or
    when no four-sided sheet stands out."""
    small, scale = _small(gray)
    blurred = cv2.GaussianBlur(small, (0, 0), 1)
    _, bright = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = cv2.morphologyEx(bright, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))  # ink closed over
    count, labels, stats, _ = cv2.connectedComponentsWithStats(bright, connectivity=4)
    if count < 2:
        return None
    sheet = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    mask = (labels == sheet).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    outline = max(contours, key=cv2.contourArea)
    hull = cv2.convexHull(outline)
    area, total = cv2.contourArea(hull), float(mask.size)
    if area < MIN_SHEET_SHARE * total or area > (1 - SURROUND_SHARE) * total:
        return None
    perimeter = cv2.arcLength(hull, True)
    for share in (0.01, 0.02, 0.03, 0.05):
        quad = cv2.approxPolyDP(hull, share * perimeter, True)
        if len(quad) == 4:
            break
    else:
        return None
    if cv2.contourArea(quad) < MIN_QUAD_FIT * area:
        return None
    corners = quad.reshape(4, 2).astype(np.float32) / scale
    by_sum, by_diff = corners.sum(axis=1), np.diff(corners, axis=1).ravel()
    return np.float32([corners[np.argmin(by_sum)], corners[np.argmin(by_diff)],
                       corners[np.argmax(by_sum)], corners[np.argmax(by_diff)]])


def flattened(image: np.ndarray, even: bool = True, aspect: float | None = None) -> Upright:
    """A phone photo of a sheet flattened onto the sheet (a homography from its four corners), grey
    with the light evened out, or with ``even`` False in its own colours (a template's fields are
    read by PP-OCRv6 in colour); a page that shows no sheet on a darker surface, or (with
    ``aspect``, a form's width over its height) none of that shape, unchanged: a shadow across a
    scan is no sheet's edge."""
    gray = _gray(image)
    corners = sheet_corners(gray)
    if corners is None:
        return Upright(image)
    tl, tr, br, bl = corners
    width = int(round((np.linalg.norm(tr - tl) + np.linalg.norm(br - bl)) / 2))
    height = int(round((np.linalg.norm(bl - tl) + np.linalg.norm(br - tr)) / 2))
    if aspect and (abs(width / max(height, 1) / aspect - 1) > ASPECT_TOLERANCE or _at_edge(corners, gray.shape)):
        return Upright(image)
    target = np.float32([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]])
    matrix = cv2.getPerspectiveTransform(corners, target)
    flat = cv2.warpPerspective(gray if even else image, matrix, (width, height), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
    back = np.linalg.inv(matrix)

    def to_given(x: int, y: int, w: int, h: int) -> tuple[int, int, int, int]:
        points = cv2.perspectiveTransform(np.float32([[[x, y], [x + w, y], [x + w, y + h], [x, y + h]]]), back)[0]
        x0, y0 = points.min(axis=0)
        x1, y1 = points.max(axis=0)
        return int(round(x0)), int(round(y0)), int(round(x1 - x0)), int(round(y1 - y0))

    return Upright(even_light(flat) if even else flat, to_given, flattened=True)


def _at_edge(corners: np.ndarray, shape: tuple[int, ...]) -> bool:
    """Whether a corner found lies on the picture's edge: no corner of a sheet, but where light
    falling off across a scan, or the picture's frame, cut the bright region."""
    h, w = shape[:2]
    margin = EDGE_MARGIN * min(h, w)
    return bool(((corners[:, 0] < margin) | (corners[:, 0] > w - 1 - margin)
                 | (corners[:, 1] < margin) | (corners[:, 1] > h - 1 - margin)).any())


def sheet_dpi(page: Upright, dpi: float | None) -> float | None:
    """The resolution to read a page at: a flattened photo's from its sheet's size (a phone's file
    states none that means anything), any other page's as its file states it."""
    return max(page.image.shape[:2]) / SHEET_INCHES if page.flattened else dpi


def even_light(gray: np.ndarray) -> np.ndarray:
    """The page with light and shadow evened out: each pixel divided by the paper's brightness
    around it (the page with its ink closed over, at a coarse scale), so the paper is white
    everywhere and the ink keeps its contrast to it."""
    small, scale = _small(gray)
    side = max(3, int(LIGHT_WINDOW * min(small.shape)) | 1)
    paper = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side)))
    paper = cv2.GaussianBlur(paper.astype(np.float32), (0, 0), side / 2)
    paper = cv2.resize(paper, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_LINEAR)
    return np.clip(gray.astype(np.float32) / np.maximum(paper, 1.0) * 255.0, 0, 255).astype(np.uint8)


def sure_counts(inks: list[np.ndarray], turns: tuple[int, ...], read_digits) -> list[int]:
    """For each quarter turn (counter-clockwise) of ``turns``, how many of the glyphs (their ink,
    paper 0) the digit model reads surely as digits when turned so: most handwritten digits are
    sure only upright (a 6 turned over is a 9, but a 2, 3, 4, 5 or 7 turned is no digit)."""
    inks = inks[:: max(1, len(inks) // TURN_GLYPHS)][:TURN_GLYPHS]  # spread over the page
    if not inks:
        return [0] * len(turns)
    probs = read_digits(normalize_batch([np.rot90(ink, k) for k in turns for ink in inks]))
    sure = probs[:, :10].max(axis=1) >= SURE_DIGIT
    return [int(sure[i * len(inks): (i + 1) * len(inks)].sum()) for i in range(len(turns))]


def lines_run_down(boxes: list[tuple[int, int, int, int]]) -> bool:
    """Whether the page's writing runs down the page rather than across it (a page on its side):
    a glyph's nearest neighbour is beside it in a line of digits or letters, so on an upright page
    most nearest neighbours lie to the left or right, on a page on its side above or below."""
    if len(boxes) < 3:
        return False
    from scipy.spatial import cKDTree

    centres = np.array([(x + w / 2, y + h / 2) for x, y, w, h in boxes], np.float64)
    _, nearest = cKDTree(centres).query(centres, k=2)
    dx, dy = np.abs(centres[nearest[:, 1]] - centres).T
    across, down = int((dx > NEIGHBOUR_SLOPE * dy).sum()), int((dy > NEIGHBOUR_SLOPE * dx).sum())
    return down >= MIN_DOWN and down >= DOWN_MARGIN * across


def sideways_turn(inks: list[np.ndarray], read_digits) -> int:
    """The quarter turns (1 or 3) after which a page on its side reads better: the one in which
    more of its digit-sized glyphs (their ink) read surely as digits. A wrong guess is put right
    by :func:`upside_down` after reading."""
    left, right = sure_counts(inks, (1, 3), read_digits)
    return 1 if left >= right else 3


def upside_down(crops: list[np.ndarray], readings: list, read_strings) -> bool:
    """Whether the strings read from a page, given as the grey crops the string reader read them
    from and its ``readings`` of them, are clearly likelier turned over: the log-probabilities of
    the texts of the FLIP_CROPS largest crops, read turned over, summed, gain at least FLIP_GAIN;
    where half its strings read at SURE_UPRIGHT or more, it is not looked at turned over.
    The string reader, which reads whole numbers, knows an upside-down one where a digit model does
    not (many digits read as digits turned over)."""
    if read_strings is None or not crops or np.median([r.confidence for r in readings]) >= SURE_UPRIGHT:
        return False  # a page whose strings read surely as they are is not looked at turned over
    from .strings import read_crops

    largest = sorted(range(len(crops)), key=lambda i: -crops[i].size)[:FLIP_CROPS]
    over = read_crops(read_strings, [np.ascontiguousarray(np.rot90(crops[i], 2)) for i in largest])
    gain = sum(np.log(max(o.confidence, 1e-9)) - np.log(max(readings[i].confidence, 1e-9))
               for i, o in zip(largest, over))
    return gain >= FLIP_GAIN


def turned(page: Upright, turns: int) -> Upright:
    """The page turned ``turns`` quarter turns counter-clockwise, its boxes mapped back through the
    turn, then through what was done to it before."""
    if turns % 4 == 0:
        return page
    h, w = page.image.shape[:2]
    image = np.ascontiguousarray(np.rot90(page.image, turns))

    def to_given(x: int, y: int, bw: int, bh: int) -> tuple[int, int, int, int]:
        if turns == 1:    # turned: (x, y) shows the given page's (w - 1 - y, x)
            box = (w - y - bh, x, bh, bw)
        elif turns == 2:
            box = (w - x - bw, h - y - bh, bw, bh)
        else:
            box = (y, h - x - bw, bh, bw)
        return page.to_given(*box)

    return Upright(image, to_given, (page.turns + turns) % 4, page.flattened)


