"""Segmentation: from an ink mask to single-digit glyphs, in reading order.

Connected components are the starting point. Pieces of one digit (the flag of a 5, a broken 4) are
merged when they overlap horizontally; components too wide or too unlike one digit are split by
recognition: candidate cuts follow the valleys between strokes (seams that cross the least ink),
and of all the ways to cut, the one whose pieces the classifier is surest are digits wins, the
"not a digit" class voting against pairs and halves. Then neighbouring pieces are tried joined
again, so a stroke the pen lifted from or the scan broke becomes one digit when the classifier is
surer of it whole. Dots, commas and dashes are dropped by shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from .normalize import normalize_digit
from .pairs import digit_probabilities, normalize_pairs

#: Specks smaller than this share of the digit height (in both directions) are noise.
SPECK = 0.12
#: A component wider than this share of the line height may hold several digits.
SPLIT_WIDTH = 0.8
#: Pieces narrower than this share of the line height are not a digit (a 1 is about 0.15).
MIN_PIECE = 0.1
#: Pieces narrower than this share of the line height are 1s, and are bounded by ink valleys.
NARROW_PIECE = 0.35
#: Pieces wider than this share of the line height are not one digit.
MAX_PIECE = 1.25
#: In a comb, a glyph no wider than this share of a cell is one digit.
ONE_CELL = 1.2
#: Shorter than this share of the line height: a separator (dot, comma, dash), not a digit; and
#: shorter than this and only in the lower or upper half of the line: a comma or an apostrophe.
SEPARATOR_HEIGHT = 0.42
SEPARATOR_SHORT = 0.7
#: Separators are narrower than this share of the line height, except dashes: flat strokes
#: lower than this share.
SEPARATOR_WIDTH = 0.5
DASH_HEIGHT = 0.3
#: Each cut must pay for itself: a split is taken only if the product of its pieces' digit
#: probabilities beats the unsplit glyph's by this factor per cut.
CUT_COST = 1.0
#: Joining pieces back saves this per piece: a join is taken when the whole is nearly as sure a
#: digit as its pieces together (two sure digits never become one doubtful one).
JOIN_COST = 0.3
#: A piece wider than this share of the line height is unlikely to be one digit: its log score
#: loses WIDE_COST for every line height of extra width.
WIDE = 1.1
WIDE_COST = 4.0
TYPICAL_WIDE = 1.45
#: A digit whose classifier confidence is below this, or whose "not a digit" probability is
#: above it, is tried for splitting even when it is not wide.
SURE = 0.9
#: Pieces with a gap wider than this share of the line height between them are not joined: a pen
#: lift or a break in the scan leaves a hair's gap, two digits written apart leave more.
JOIN_GAP = 0.15
#: Joining a piece to a sure digit may lower its probability by at most this much.
SURE_DROP = 0.05
#: A glyph read as a digit with at least this probability, no wider than CERTAIN_WIDTH line heights,
#: is not searched for a split.
CERTAIN = 0.98
CERTAIN_WIDTH = 1.5

#: A glyph at least PAIR_WIDTH and at most PAIR_MAX_WIDTH line heights wide, and at least
#: PAIR_HEIGHT tall, is also shown to the pair model; where it reads two digits with at least
#: PAIR_SURE probability, they are the glyph's digits.
PAIR_WIDTH = 0.5
PAIR_MAX_WIDTH = 1.6
PAIR_HEIGHT = 0.7
PAIR_SURE = 0.9
#: ... or, where the digit model reads it as a doubtful digit and the pair model is sure it is two,
#: reading them with PAIR_LIKELY probability, likelier than the digit alone and one of them that
#: digit (a 1 across a 9's stem: "91" read as a doubtful 9).
PAIR_LIKELY = 0.6
#: How much less likely to be two digits than PAIR_SURE the rough (8-bit) pair model may find a
#: glyph and still have the pair model read it.
ROUGH_MARGIN = 0.2

#: A glyph's pixels keep at least this darkness (0..1), so the faint edges binarization took for
#: ink still reach the classifier.
FAINTEST = 0.2

Score = Callable[[np.ndarray], np.ndarray]  # (n, 28, 28, 1) -> (n, 11) probabilities
PairScore = Callable[[np.ndarray], np.ndarray]  # (n, 28, 56, 1) -> (n, 101) probabilities (pairs.py)


@dataclass(frozen=True)
class Glyph:
    """One piece of ink on the page: its box (page pixels) and its own ink, cropped to the box."""

    x: int
    y: int
    w: int
    h: int
    ink: np.ndarray  # float32 (h, w), 1 on this glyph's pixels

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h


def _glyph_from_mask(mask: np.ndarray, x0: int, y0: int, ink: np.ndarray) -> Glyph | None:
    """The part of ``ink`` under ``mask`` as a glyph of its own, cropped to it."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    crop = np.where(mask, ink, 0).astype(np.float32)[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]
    return Glyph(x0 + int(cols[0]), y0 + int(rows[0]), crop.shape[1], crop.shape[0], crop)


def components(ink: np.ndarray, digit_height: float, offset: tuple[int, int] = (0, 0),
               darkness: np.ndarray | None = None) -> list[Glyph]:
    """The connected components of an ink mask (8-connected), specks left out; each glyph's ink is
    its mask, or, given the page's ``darkness``, the grey level of its pixels."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    speck = max(2, SPECK * digit_height)
    glyphs = []
    for i in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[i])
        if (w < speck and h < speck) or area < 4:
            continue
        crop = (labels[y: y + h, x: x + w] == i).astype(np.float32)
        if darkness is not None:
            crop *= np.maximum(darkness[y: y + h, x: x + w], FAINTEST)
        glyphs.append(Glyph(x + offset[0], y + offset[1], w, h, crop))
    return glyphs


def union(glyphs: list[Glyph]) -> Glyph:
    """One glyph holding the ink of several."""
    x0 = min(g.x for g in glyphs)
    y0 = min(g.y for g in glyphs)
    x1 = max(g.right for g in glyphs)
    y1 = max(g.bottom for g in glyphs)
    ink = np.zeros((y1 - y0, x1 - x0), np.float32)
    for g in glyphs:
        view = ink[g.y - y0: g.bottom - y0, g.x - x0: g.right - x0]
        np.maximum(view, g.ink, out=view)
    return Glyph(x0, y0, x1 - x0, y1 - y0, ink)


def group_lines(glyphs: list[Glyph]) -> list[list[Glyph]]:
    """Glyphs grouped into text lines by vertical overlap, lines top to bottom, glyphs left to right."""
    lines: list[list[Glyph]] = []
    spans: list[list[float]] = []
    for g in sorted(glyphs, key=lambda g: -g.h):  # tall glyphs first fix the lines
        centre = g.y + g.h / 2
        best, best_overlap = None, 0.0
        for i, (top, bottom) in enumerate(spans):
            overlap = min(bottom, g.bottom) - max(top, g.y)
            share = overlap / max(1, min(g.h, bottom - top))
            if top <= centre <= bottom and share > best_overlap:
                best, best_overlap = i, share
        if best is None:
            lines.append([g])
            spans.append([g.y, g.bottom])
        else:
            lines[best].append(g)
    ordered = sorted(zip(spans, lines), key=lambda s: s[0][0])
    return [sorted(line, key=lambda g: g.x) for _, line in ordered]


def main_line(lines: list[list[Glyph]]) -> list[Glyph]:
    """The line of a field that holds the most ink: the one the value is written on."""
    return max(lines, key=lambda line: sum(float(g.ink.sum()) for g in line)) if lines else []


def line_height(line: list[Glyph]) -> float:
    """Typical digit height of a line: the median height of its taller glyphs."""
    heights = np.array([g.h for g in line], float)
    tall = heights[heights >= 0.6 * heights.max()]
    return float(np.median(tall))


#: Pieces of one broken digit are no further apart, top to bottom, than this share of the line
#: height (a speck above a comma is no part of it).
MERGE_GAP = 0.25


def merge_broken(line: list[Glyph], height: float) -> list[Glyph]:
    """Merge pieces of one digit: glyphs that overlap horizontally by more than half the narrower
    one and lie close one above the other, or a small piece close to a neighbour, as long as the
    result stays one digit high."""
    merged: list[Glyph] = []
    for g in sorted(line, key=lambda g: g.x):
        if merged:
            prev = merged[-1]
            overlap = min(prev.right, g.right) - max(prev.x, g.x)
            combined_h = max(prev.bottom, g.bottom) - min(prev.y, g.y)
            gap = max(prev.y, g.y) - min(prev.bottom, g.bottom)  # between them, top to bottom
            if overlap > 0.5 * min(prev.w, g.w) and combined_h <= 1.3 * height and gap <= MERGE_GAP * height:
                merged[-1] = union([prev, g])
                continue
        merged.append(g)
    return merged


def line_top(line: list[Glyph], height: float) -> float:
    """Where the digits of a line start: the median top of its taller glyphs."""
    return float(np.median([g.y for g in line if g.h >= 0.6 * height] or [min(g.y for g in line)]))


def is_separator(g: Glyph, height: float, top: float) -> bool:
    """Dots, commas, apostrophes and dashes: narrow marks much shorter than the digits of their
    line, or short and only in its lower half; flat strokes. Small digits written lower (the "000"
    of "20.000") are wide, and stay."""
    if g.h < DASH_HEIGHT * height and g.w > 1.5 * g.h:
        return True
    if g.w >= SEPARATOR_WIDTH * height:
        return False
    if g.h < SEPARATOR_HEIGHT * height:
        return True
    low = g.y > top + 0.45 * height        # starts below the middle of the line: a comma
    return low and g.h < SEPARATOR_SHORT * height


def _seam(mask: np.ndarray, column: int, band: int) -> np.ndarray:
    """The top-to-bottom path near ``column`` that crosses the least ink (one x per row)."""
    h, w = mask.shape
    lo, hi = max(0, column - band), min(w - 1, column + band)
    cost = mask[:, lo: hi + 1].astype(np.float32) * 10.0
    cost += (np.abs(np.arange(lo, hi + 1) - column) / max(1, band))[None, :] * 0.5
    total = cost.copy()
    step = np.zeros(cost.shape, np.int8)
    options = np.full((3, cost.shape[1]), np.inf, np.float32)  # from the left, above, the right
    columns = np.arange(cost.shape[1])
    for y in range(1, h):
        prev = total[y - 1]
        options[0, 1:] = prev[:-1]
        options[1] = prev
        options[2, :-1] = prev[1:]
        choice = options.argmin(axis=0)
        total[y] += options[choice, columns]
        step[y] = choice - 1
    x = int(np.argmin(total[-1]))
    path = np.empty(h, np.int32)
    for y in range(h - 1, -1, -1):
        path[y] = x + lo
        x += int(step[y, x])
    return path


def _cut_positions(mask: np.ndarray, height: float) -> tuple[list[int], list[int]]:
    """Candidate cut columns: the valleys of the column ink profile, where a seam finds the gap
    between touching digits, and a regular comb, cut straight down: where loops overlap ("00"
    written as a chain) no seam separates them, but a straight cut at a loop's edge gives the whole
    loop with a slice of its neighbour, which the classifier reads as the digit."""
    w = mask.shape[1]
    profile = cv2.blur(mask.sum(axis=0).astype(np.float32)[None, :], (3, 1))[0]
    margin = max(2, int(MIN_PIECE * height))
    lows = np.array([x for x in range(margin, w - margin)
                     if profile[x] <= profile[x - 1] and profile[x] <= profile[x + 1]], int)
    # A flat bottom is one valley, cut at its middle (each of its columns would give the same seam);
    # a flat top or shoulder, not higher on both sides, is none.
    valleys = [int(run[len(run) // 2]) for run in np.split(lows, np.flatnonzero(np.diff(lows) > 1) + 1)
               if run.size and profile[run[0] - 1] > profile[run[0]] and profile[run[-1] + 1] > profile[run[-1]]]
    step = max(2, int(0.12 * height))
    comb = list(range(margin, w - margin, step))
    return valleys, comb


def split_glyph(glyph: Glyph, height: float, score: Score, whole: np.ndarray,
                max_digits: int = 8, typical: float | None = None) -> tuple[list[Glyph], list[np.ndarray]]:
    """Split a glyph into the digits the classifier is surest of (possibly just itself, whose
    probabilities are ``whole``; always itself when it is read with certainty and a piece would
    not be); returns the pieces and their probabilities."""
    mask = glyph.ink > 0
    h, w = mask.shape
    band = max(2, int(0.15 * height))
    valleys, comb = _cut_positions(mask, height)
    inner = sorted([(_seam(mask, c, band), False) for c in valleys] + [(np.full(h, c, np.int32), True) for c in comb],
                   key=lambda seam: float(seam[0].mean()))
    seams = [np.zeros(h, np.int32)] + [s for s, _ in inner] + [np.full(h, w, np.int32)]
    straight = [False] + [c for _, c in inner] + [False]
    centres = [float(s.mean()) for s in seams]
    candidates, keys = [], []
    n = len(seams)
    xs = np.arange(w)[None, :]
    for i in range(n):
        for j in range(i + 1, n):
            width = centres[j] - centres[i]
            entire = i == 0 and j == n - 1
            if not entire and not (MIN_PIECE * height <= width <= MAX_PIECE * height):
                continue
            if width < NARROW_PIECE * height and straight[i] and straight[j]:
                continue  # a narrow piece is a 1, which stands between valleys, not a comb's slice
            # Only the columns the two seams span: a piece is a small part of a long glyph.
            lo, hi = int(seams[i].min()), int(seams[j].max())
            piece = mask[:, lo:hi] & (xs[:, lo:hi] >= seams[i][:, None]) & (xs[:, lo:hi] < seams[j][:, None])
            if piece.sum() < 0.02 * height * height:
                continue
            keys.append((i, j))
            candidates.append((lo, piece))
    if not candidates:
        return [glyph], [whole]
    crops = np.stack([normalize_digit(np.where(p, glyph.ink[:, lo: lo + p.shape[1]], 0)) for lo, p in candidates])[..., None]
    # Candidates are ranked by the rough (8-bit) model where ``score`` has one, a few times faster;
    # the pieces chosen are then read by the model itself, so that what is kept, and every check
    # of it below, rests on the model's own probabilities.
    rough = getattr(score, "rough", None)
    probs = (rough or score)(crops)
    digit_p = probs[:, :10].max(axis=1)
    widths = np.array([centres[j] - centres[i] for i, j in keys])
    # The glyph kept whole is judged against its own height where it stands taller than the line.
    own = np.array([glyph.h if k == (0, n - 1) else 0.0 for k in keys], float)
    value = {k: float(v) for k, v in zip(keys, _piece_value(digit_p, widths, height, typical, own=own))}
    index = {k: i for i, k in enumerate(keys)}

    def exact(path: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """The path, its pieces' probabilities read again by the model itself."""
        if rough is not None and path:
            chosen = [index[key] for key in path]
            probs[chosen] = score(crops[chosen])
            digit_p[chosen] = probs[chosen, :10].max(axis=1)
        return path

    path = exact(_best_path(value, n))
    if len(path) == 1 and whole[:11].argmax() == 10:
        # Kept whole, the glyph is rejected as not a digit and lost: touching digits read as one
        # doubtful shape ("51" read as a poor 5) are taken apart where every piece is a sure digit.
        del value[(0, n - 1)]
        path = exact(_best_path(value, n))
        if path and min(digit_p[index[key]] for key in path) < SURE:
            path = []
    if len(path) <= 1 or len(path) > max_digits:
        return [glyph], [whole]
    if whole[:10].max() >= CERTAIN and min(digit_p[index[key]] for key in path) < SURE:
        return [glyph], [whole]  # a certain digit is not traded for doubtful pieces
    pieces, piece_probs = [], []
    for key in path:
        lo, cut = candidates[index[key]]
        piece = _glyph_from_mask(cut, glyph.x + lo, glyph.y, glyph.ink[:, lo: lo + cut.shape[1]])
        if piece is not None:
            pieces.append(piece)
            piece_probs.append(probs[index[key]])
    return pieces, piece_probs


def _best_path(value: dict[tuple[int, int], float], n: int) -> list[tuple[int, int]]:
    """The pieces, as (from seam, to seam), of the best-valued path from seam 0 to seam n-1; empty
    when no path goes through."""
    best = [-np.inf] * n
    back: list[int | None] = [None] * n
    best[0] = 0.0
    for j in range(1, n):
        for i in range(j):
            if (i, j) in value and best[i] > -np.inf and best[i] + value[(i, j)] > best[j]:
                best[j], back[j] = best[i] + value[(i, j)], i
    if best[-1] == -np.inf:
        return []
    path, j = [], n - 1
    while j:
        path.append((back[j], j))
        j = back[j]
    return path[::-1]


def pair_halves(glyph: Glyph, height: float) -> tuple[Glyph, Glyph] | None:
    """A glyph read as two overlapping digits, cut in two for their boxes: along the seam from the
    ink valley nearest its middle (or from the middle itself)."""
    mask = glyph.ink > 0
    h, w = mask.shape
    valleys, _ = _cut_positions(mask, height)
    middle = min(valleys, key=lambda c: abs(c - w / 2), default=w // 2)
    seam = _seam(mask, middle, max(2, int(0.15 * height)))[:, None]
    xs = np.arange(w)[None, :]
    left = _glyph_from_mask(mask & (xs < seam), glyph.x, glyph.y, glyph.ink)
    right = _glyph_from_mask(mask & (xs >= seam), glyph.x, glyph.y, glyph.ink)
    return (left, right) if left is not None and right is not None else None


def read_pairs(glyphs: list[Glyph], height: float, read_pair: PairScore | None,
               pitch: float | None = None, single: np.ndarray | None = None,
               rough: PairScore | None = None) -> dict[int, np.ndarray]:
    """The pair model's reading of each glyph of a pair's size, by index, where it is sure that the
    glyph is two digits: (101,) probabilities. Given the digit model's ``single`` readings of the
    glyphs, one read as a doubtful digit is also read as two where the pair model is sure there are
    two, if not quite which, and one of them is that digit (PAIR_LIKELY). In a comb of cells
    ``pitch`` wide, a glyph that fits in one cell is one digit. Given a ``rough`` (8-bit) pair
    model, most glyphs are one digit and only those it finds at all likely to be two are read by
    the pair model itself, whose readings alone decide."""
    if read_pair is None:
        return {}
    sized = [i for i, g in enumerate(glyphs)
             if PAIR_WIDTH * height <= g.w <= PAIR_MAX_WIDTH * height and g.h >= PAIR_HEIGHT * height
             and not (pitch and g.w <= ONE_CELL * pitch)]
    if not sized:
        return {}
    crops = normalize_pairs([glyphs[i].ink for i in sized])
    if rough is not None:
        # Every pair taken is at least PAIR_SURE likely to be two digits; the rough model is
        # within a few hundredths of the model, so a margin of ROUGH_MARGIN loses none.
        likely = np.flatnonzero(rough(crops)[:, :100].sum(axis=1) >= PAIR_SURE - ROUGH_MARGIN)
        sized, crops = [sized[k] for k in likely], crops[likely]
        if not sized:
            return {}
    probs = read_pair(crops)

    def taken(i, p) -> bool:
        best = p[:100].max()
        if best >= PAIR_SURE:
            return True
        if single is None or single[i][:10].max() >= SURE or single[i].argmax() == 10:
            return False
        one = int(single[i][:10].argmax())  # the pair must hold the digit seen alone
        two = divmod(int(p[:100].argmax()), 10)
        return (p[:100].sum() >= PAIR_SURE and best >= PAIR_LIKELY and best > single[i][:10].max()
                and one in two)

    return {i: p for i, p in zip(sized, probs) if taken(i, p)}


def typical_width(glyphs: list[Glyph], height: float) -> float | None:
    """The usual width of a digit on this line: the median width of its glyphs that are not 1s
    (narrower than a third of the line height), when there are three or more."""
    widths = [g.w for g in glyphs if g.w >= 0.35 * height]
    return float(np.median(widths)) if len(widths) >= 3 else None


def _piece_value(digit_p: np.ndarray, widths: np.ndarray, height: float, typical: float | None,
                 cost: float = None, own: np.ndarray | None = None) -> np.ndarray:
    """Log score of pieces (``widths`` in pixels) as digits: their best digit probability, less the
    cost of a piece, less the width prior: wider than WIDE line heights, or than TYPICAL_WIDE times
    the line's usual digit, a piece is likely more than one digit. Given the pieces' ``own``
    heights, one written taller than its line (a leading digit drawn large, a 1 with a long flag)
    is judged against its own height, and the usual width grows with it."""
    cost = CUT_COST if cost is None else cost
    scale = np.ones(len(widths)) if own is None else np.maximum(1.0, np.asarray(own, float) / height)
    wide = np.maximum(0.0, widths / (height * scale) - WIDE)
    if typical:
        wide = np.maximum(wide, np.maximum(0.0, widths / (typical * scale) - TYPICAL_WIDE))
    return np.log(np.clip(digit_p, 1e-6, 1.0)) - cost - WIDE_COST * wide


def regroup(pieces: list[Glyph], probs: list[np.ndarray], height: float, score: Score,
            most: int = 3, typical: float | None = None,
            paired: frozenset[int] = frozenset()) -> tuple[list[Glyph], list[np.ndarray]]:
    """Join neighbouring pieces back into one digit where the classifier is surer of the whole:
    the flag of a 5 or a 1 that the pen lifted from, a stroke the scan broke, a digit cut in two.
    Runs of up to ``most`` pieces, no wider than one digit, holding at most one sure digit and no
    gap wider than JOIN_GAP, are tried; the best grouping wins. The pieces at the indices
    ``paired`` are the halves of a glyph the pair model read as two digits (each index of the
    pair's first half): the two are never joined back into the one digit the classifier saw in
    them ("16" read as 6)."""
    n = len(pieces)
    if n < 2:
        return pieces, probs
    # Only doubtful pieces are joined: a run may hold at most one sure, full-height digit.
    strong = [p[:10].max() >= SURE and g.h >= 0.7 * height for g, p in zip(pieces, probs)]
    joined: dict[tuple[int, int], Glyph] = {}
    for i in range(n):
        for j in range(i + 2, min(n, i + most) + 1):
            apart = any(b.x - a.right > JOIN_GAP * height for a, b in zip(pieces[i: j - 1], pieces[i + 1: j]))
            if sum(strong[i:j]) > 1 or apart or any(i <= k < j - 1 for k in paired):
                continue
            g = union(pieces[i:j])
            if g.w <= MAX_PIECE * height and g.h <= 1.5 * height:
                joined[(i, j)] = g
    if not joined:
        return pieces, probs
    keys = list(joined)
    joined_probs = score(np.stack([normalize_digit(joined[k].ink) for k in keys])[..., None])
    # A piece joined to a sure digit must make it no less sure: a 1 beside a 0 that turns the
    # pair into a doubtful 0 is a digit of its own, not a part of the 0.
    sure = [max([probs[m][:10].max() for m in range(i, j) if strong[m]], default=0.0) for i, j in keys]
    kept = [n for n, p in enumerate(joined_probs) if p[:10].max() >= sure[n] - SURE_DROP]
    keys, joined_probs = [keys[n] for n in kept], joined_probs[kept]
    value = {(i, i + 1): float(v) for i, v in enumerate(_piece_value(
        np.array([p[:10].max() for p in probs]), np.array([g.w for g in pieces], float), height, typical, JOIN_COST))}
    value.update({k: float(v) for k, v in zip(keys, _piece_value(
        joined_probs[:, :10].max(axis=1), np.array([joined[k].w for k in keys], float), height, typical, JOIN_COST))})
    best = [0.0] + [-np.inf] * n
    back = [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(max(0, j - most), j):
            if (i, j) in value and best[i] + value[(i, j)] > best[j]:
                best[j], back[j] = best[i] + value[(i, j)], i
    out, out_probs, j = [], [], n
    lookup = dict(zip(keys, joined_probs))
    while j:
        i = back[j]
        if j - i == 1:
            out.append(pieces[i])
            out_probs.append(probs[i])
        else:
            out.append(joined[(i, j)])
            out_probs.append(lookup[(i, j)])
        j = i
    return out[::-1], out_probs[::-1]


def segment_line(line: list[Glyph], score: Score, height: float | None = None,
                 pitch: float | None = None) -> tuple[list[Glyph], np.ndarray]:
    """The digit glyphs of one line, left to right, and their class probabilities: broken strokes
    merged, separators dropped, touching digits split, and overlapping pairs read by the pair model
    where ``score`` has one (its ``pairs`` attribute, a :data:`PairScore`). Given the ``pitch`` of a
    comb's cells, a glyph that fits in one cell is one digit and is not split."""
    if not line:
        return [], np.zeros((0, 11), np.float32)
    height = height or line_height(line)
    top = line_top(line, height)
    merged = merge_broken(line, height)
    glyphs = [g for g in merged if not is_separator(g, height, top)]
    if not glyphs:
        return [], np.zeros((0, 11), np.float32)
    probs = score(np.stack([normalize_digit(g.ink) for g in glyphs])[..., None])
    typical = typical_width(glyphs, height)
    # In a comb, a glyph that fits in one cell is one digit.
    pairs = read_pairs(glyphs, height, getattr(score, "pairs", None), pitch, single=probs,
                       rough=getattr(score, "rough_pairs", None))
    out: list[Glyph] = []
    out_probs: list[np.ndarray] = []
    paired: set[int] = set()
    for index, (g, p) in enumerate(zip(glyphs, probs)):
        halves = pair_halves(g, height) if index in pairs else None
        if halves:
            paired.add(len(out))
            out.extend(halves)
            out_probs.extend(digit_probabilities(pairs[index]))
            continue
        doubtful = p[:10].max() < SURE or p[10] > 1 - SURE
        wide = g.w > SPLIT_WIDTH * height or (typical is not None and g.w > TYPICAL_WIDE * typical)
        # A glyph read as one digit beyond doubt is searched for a split only when it is too wide for one.
        certain = p[:10].max() >= CERTAIN and g.w <= CERTAIN_WIDTH * height
        one_cell = pitch is not None and g.w <= ONE_CELL * pitch
        if ((wide and not certain) or (doubtful and g.w > 0.45 * height)) and not one_cell:
            pieces, piece_probs = split_glyph(g, height, score, p, typical=typical)
            out.extend(pieces)
            out_probs.extend(piece_probs)
        else:
            out.append(g)
            out_probs.append(p)
    out, out_probs = regroup(out, out_probs, height, score, typical=typical, paired=frozenset(paired))
    if not out:
        return [], np.zeros((0, 11), np.float32)
    return out, np.stack(out_probs)
