"""Cleaning a page: grayscale, deskew, binarize, and remove ruled lines and box borders.

The output of cleaning is an ink mask (True where there is ink) with the printed rules taken out and
the handwriting that crossed them kept whole, plus the deskewed grey page the crops are cut from.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: Largest skew corrected, in degrees, and the step of the coarse search.
MAX_SKEW = 6.0
SKEW_STEP = 0.25
#: The skew is measured on the page shrunk to this many pixels on its longer side.
SKEW_SIZE = 700
#: Whole pages are cleaned and segmented at this resolution (dpi) at most.
WORK_DPI = 150
#: Ink is at least this much darker than the local paper (grey levels), so flat paper stays clean,
#: and at least this share of the page's typical ink contrast, so printed backgrounds drop out.
MIN_CONTRAST = 28
INK_SHARE = 0.45
#: A straight horizontal run of ink this many digit heights long is a rule, not handwriting; a
#: vertical run this long is a rule, or a box side when it is shorter but hangs from a horizontal rule
#: (a digit's stem that touches an underline meets one only at its foot).
RULE_LENGTH = 2.0
BOX_SIDE = 1.2
#: A vertical run hangs from a rule when the rule is within this many pixels of its top.
END = 4
#: The local paper level is taken over a window this share of the digit height: wider than the
#: strokes of a bold felt pen, which would otherwise be found hollow.
PAPER_WINDOW = 0.5
#: Ink this close to a rule (pixels, as a square's side) is part of it: scanned rules are ragged.
RULE_MARGIN = 5


@dataclass(frozen=True)
class CleanPage:
    """A cleaned page: the deskewed grey image, the ink mask without rules, the rules removed."""

    gray: np.ndarray
    ink: np.ndarray
    rules: np.ndarray
    skew: float
    darkness: Darkness | None = None  # 0 paper .. 1 ink: how dark each pixel is


def grayscale(image: np.ndarray) -> np.ndarray:
    """Grey of a page, taking for colour pages the darkest channel, so blue, black and red ink stay
    dark while pastel cheque backgrounds stay light.

    >>> grayscale(np.array([[[0, 0, 255]]], np.uint8)).tolist()
    [[0]]
    """
    if image.ndim == 2:
        return image
    return image[..., :3].min(axis=2)


def estimate_skew(ink: np.ndarray, max_angle: float = MAX_SKEW) -> float:
    """Skew of a page in degrees (positive: counter-clockwise), from the angle that makes the rows of
    ink sharpest (largest variance of the row projection), searched coarse then fine."""
    h, w = ink.shape
    scale = min(1.0, SKEW_SIZE / max(h, w))
    small = cv2.resize(ink.astype(np.uint8) * 255, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    if small.sum() == 0:
        return 0.0
    h, w = small.shape
    ys, xs = np.nonzero(small)
    weights = small[ys, xs].astype(np.float64)
    xs = xs - w / 2
    ys = ys - h / 2

    def sharpness(angle: float) -> float:
        # Where each ink pixel lands when the page is turned by ``angle`` (as
        # cv2.getRotationMatrix2D turns it), without turning the image: the row profile of the
        # ink that stays on the page.
        c, s = np.cos(np.deg2rad(angle)), np.sin(np.deg2rad(angle))
        row = np.rint(ys * c - xs * s + h / 2).astype(np.int64)
        col = np.rint(xs * c + ys * s + w / 2).astype(np.int64)
        kept = (row >= 0) & (row < h) & (col >= 0) & (col < w)
        return float(np.var(np.bincount(row[kept], weights=weights[kept], minlength=h)))

    coarse = np.arange(-max_angle, max_angle + 1e-9, 1.0)
    best = max(coarse, key=sharpness)
    fine = np.arange(best - 1.0, best + 1.0 + 1e-9, SKEW_STEP / 2)
    return float(max(fine, key=sharpness))


def rotate(image: np.ndarray, angle: float, fill: int | bool = 255) -> np.ndarray:
    """Rotate about the centre by ``angle`` degrees, keeping the size, filling with paper."""
    if abs(angle) < 1e-3:
        return image
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    if image.dtype == bool:
        out = cv2.warpAffine(image.astype(np.uint8), matrix, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
        return out.astype(bool)
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=fill)


def unrotated_box(angle: float, shape: tuple[int, ...]):
    """The map from a box on a page turned by ``angle`` degrees (as :func:`rotate` turns it, page
    ``shape``) back to the page as scanned: the box around its turned-back corners. Boxes are
    found on the deskewed page; they are reported, and drawn, on the page as given."""
    h, w = shape[:2]
    back = cv2.getRotationMatrix2D((w / 2, h / 2), -angle, 1.0)

    def box_map(x, y, bw, bh):
        x0, y0, bw, bh = box_through(back, x, y, bw, bh)
        x1, y1 = min(w, x0 + bw), min(h, y0 + bh)
        x0, y0 = max(0, x0), max(0, y0)
        return x0, y0, max(1, x1 - x0), max(1, y1 - y0)

    return box_map


def box_through(matrix: np.ndarray, x: int, y: int, w: int, h: int) -> tuple[int, int, int, int]:
    """The box around a box's corners moved by an affine ``matrix`` (2x3)."""
    corners = np.array([[x, y, 1], [x + w, y, 1], [x, y + h, 1], [x + w, y + h, 1]], float) @ matrix.T
    (x0, y0), (x1, y1) = np.floor(corners.min(axis=0)), np.ceil(corners.max(axis=0))
    return int(x0), int(y0), int(x1 - x0), int(y1 - y0)


def paper_level(gray: np.ndarray, digit_height: float) -> np.ndarray:
    """The local paper brightness: a grey closing wider than any stroke, which wipes out the ink
    and the thin lines of a printed background alike, then smoothed."""
    size = int(max(5, digit_height * PAPER_WINDOW)) | 1
    paper = cv2.morphologyEx(gray, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (size, size)))
    return cv2.blur(paper, (size, size)).astype(np.float32)


def binarize(gray: np.ndarray, digit_height: float, paper: np.ndarray | None = None) -> np.ndarray:
    """Ink mask: pixels darker than their local paper by a good share of the page's ink contrast.

    Measuring darkness against the local paper makes it robust to uneven light; asking for a
    share of the darkest ink's contrast keeps the light lines of cheque backgrounds out while a
    faint pencil page still finds its ink; the floor keeps blank paper blank.
    """
    contrast = ink_contrast(gray, digit_height, paper)
    return ink_mask(contrast, ink_threshold(contrast))


def ink_contrast(gray: np.ndarray, digit_height: float, paper: np.ndarray | None = None) -> np.ndarray:
    """How much darker than its local paper each pixel is, the scanner grain averaged out."""
    smooth = cv2.GaussianBlur(gray, (3, 3), 0.7).astype(np.float32)
    return (paper_level(gray, digit_height) if paper is None else paper) - smooth


def ink_threshold(contrast: np.ndarray) -> float:
    """The contrast from which a pixel is ink: a good share of the page's ink contrast, never
    below the floor that keeps blank paper blank."""
    return max(MIN_CONTRAST, INK_SHARE * typical_ink_contrast(contrast))


def ink_mask(contrast: np.ndarray, threshold: float) -> np.ndarray:
    """The pixels beyond the threshold, less isolated ones (JPEG and scanner speckle), without
    thinning strokes."""
    ink = contrast > threshold
    alone = cv2.blur(ink.astype(np.float32), (3, 3)) < 0.25
    return ink & ~alone


#: Writing leaves at least this share of a page's pixels darker than the ink contrast is measured at;
#: where those pixels are this many times darker than the typical clearly dark one, the clearly dark
#: pixels are mostly a printed pattern.
INK_COVER = 0.01
PATTERN_GAP = 1.4
#: Pixels above which the ink contrast is measured on every other row and column.
SAMPLE_ABOVE = 1_000_000


def typical_ink_contrast(contrast: np.ndarray) -> float:
    """How much darker than its paper the page's ink typically is: a high percentile of the clearly
    dark pixels' contrast, or full contrast on a page with (almost) no ink. Where a printed pattern
    covers much of the page (a cheque's triangles and bank name, darker than their paper by half
    what a pen is), the clearly dark pixels are mostly the pattern; the darkest INK_COVER of the
    page, far darker, are still the pen, and their contrast is taken instead."""
    # Percentiles from a histogram of whole grey levels: a page has millions of pixels to sort, and
    # on a large one every other row and column tells the same.
    if contrast.size > SAMPLE_ABOVE:
        contrast = contrast[::2, ::2]
    counts = np.bincount(np.clip(contrast, 0, 255).astype(np.uint8).ravel(), minlength=256)
    strong = counts[MIN_CONTRAST + 1:]
    if strong.sum() < 20:
        return 255.0
    typical = MIN_CONTRAST + 1 + int(np.searchsorted(np.cumsum(strong), 0.9 * strong.sum()))
    darkest = int(np.searchsorted(np.cumsum(counts), (1 - INK_COVER) * counts.sum()))
    return float(darkest if darkest > PATTERN_GAP * typical else typical)


#: Faint ink for finding a comb's walls (comb_rules): this share of the ink threshold. On the 28
#: CTS-2010 cheques photographed (two sets of copies) 26 and 21 dates of 28 were read with the
#: ink's own rules, 28 and 28 with these.
FAINT_RULE_SHARE = 0.6


def find_rules(ink: np.ndarray, digit_height: float) -> np.ndarray:
    """Mask of printed rules: long horizontal runs (lines, underlines, box tops and bottoms), and
    vertical runs that hang from a horizontal one (box sides and comb walls), so a lone upright 1,
    or a 9 whose tail touches the underline, is never a rule."""
    as_u8 = ink.astype(np.uint8)
    long_run = int(max(15, RULE_LENGTH * digit_height))
    side_run = int(max(9, BOX_SIDE * digit_height))
    horizontal = cv2.morphologyEx(as_u8, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (long_run, 1)))
    vertical = cv2.morphologyEx(as_u8, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, side_run)))
    long_vertical = cv2.morphologyEx(as_u8, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, long_run)))
    near_horizontal = cv2.dilate(horizontal, np.ones((3, 3), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(vertical, connectivity=8)
    touching = cv2.findNonZero(cv2.bitwise_and(near_horizontal, vertical))  # far faster than np.nonzero
    xs, ys = (touching[:, 0, 0], touching[:, 0, 1]) if touching is not None else (np.zeros(0, int),) * 2
    runs = labels[ys, xs]
    meeting = np.unique(runs[ys < stats[runs, cv2.CC_STAT_TOP] + END])  # a rule at the run's top end
    rules = cv2.bitwise_or(horizontal, long_vertical)
    for run in meeting[meeting > 0]:  # a few box sides and comb walls: each marked within its box
        x, y, w, h = stats[run, :4]
        side = rules[y: y + h, x: x + w]
        side[labels[y: y + h, x: x + w] == run] = 1
    return rules > 0


def comb_rules(page: CleanPage, digit_height: float) -> np.ndarray:
    """The page's rules with those found in its faint ink too (pixels FAINT_RULE_SHARE of the ink
    threshold dark): a comb's walls are thin printed lines that a photo or a low-resolution scan
    leaves lighter than the ink, and a comb found in part loses its first or last digits. For
    finding combs only: the ink the digits are read from keeps its own rules."""
    contrast = page.darkness.paper - page.gray.astype(np.float32)
    faint = ink_mask(contrast, FAINT_RULE_SHARE * ink_threshold(contrast))
    return page.rules | find_rules(faint, digit_height)


def remove_rules(ink: np.ndarray, rules: np.ndarray, digit_height: float) -> np.ndarray:
    """Take the rules out of the ink, with the ragged ink along their edges, then put back the
    pixels where a handwritten stroke crosses a rule (ink on both sides of it), so digits written
    over a line are not cut."""
    rules = ink & cv2.dilate(rules.astype(np.uint8), np.ones((RULE_MARGIN, RULE_MARGIN), np.uint8)).astype(bool)
    without = ink & ~rules
    bridge = int(max(3, digit_height * 0.25))
    # A stroke through a wall (a box side, a comb's cell wall) loses the wall and the margins either
    # side of it: the bridge across walls spans those margins too, so a 0 written over a cell wall
    # at the working resolution stays one loop. Across horizontal rules it stays short: under an
    # amount a dotted or micro-printed rule runs close below the writing, and a longer bridge
    # joins the digits to it.
    across_wall = (bridge + RULE_MARGIN - 1) | 1
    as_u8 = without.astype(np.uint8)
    across_h = cv2.morphologyEx(as_u8, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (1, bridge | 1)))
    across_v = cv2.morphologyEx(as_u8, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (across_wall, 1)))
    restored = rules & ink & ((across_h | across_v).astype(bool))
    return without | restored


#: Pixels this dark (a share of the page's typical ink contrast) that touch the ink are the faint
#: rest of its strokes: a light pen or a thin stroke that binarization kept only in pieces.
FAINT_INK = 0.2
#: Where more than this share of the paper is that dark without touching any ink (away from the
#: rules), the paper is printed or textured: growing the ink there would join the pattern to it.
LOOSE_FAINT = 0.01


def grown_into_faint(ink: np.ndarray, darkness: np.ndarray, rules: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """The ink mask grown into the faint pixels it touches (hysteresis: ``darkness`` above FAINT_INK
    and connected to ink), printed rules and their margins left out, and the share of the pixels
    that are as dark but touch no ink. A digit written lighter than the rest of its page, which
    binarization broke into specks, comes back whole; clean paper never joins, as it touches no
    ink, while a textured background shows in the share."""
    faint = darkness > FAINT_INK
    if rules is not None:
        faint &= ~cv2.dilate(rules.astype(np.uint8), np.ones((2 * RULE_MARGIN - 1,) * 2, np.uint8)).astype(bool)
    count, labels = cv2.connectedComponents(faint.astype(np.uint8), connectivity=8)
    seeded = np.zeros(count, bool)
    seeded[np.unique(labels[ink & faint])] = True
    seeded[0] = False
    grown = ink | seeded[labels]
    return grown, float((faint & ~grown).mean()) if faint.size else 0.0


def working_copy(image: np.ndarray, dpi: float) -> tuple[np.ndarray, float]:
    """The page at the working resolution (at most WORK_DPI) and the scale from page to it: a
    handwritten digit is still over 20 pixels tall there, the size MNIST fits digits into, and a
    page has a quarter of the pixels to clean."""
    scale = min(1.0, WORK_DPI / dpi) if dpi else 1.0
    if scale >= 0.95:
        return image, 1.0
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), scale


def estimate_digit_height(gray: np.ndarray, dpi: float | None) -> float:
    """Expected height of a handwritten digit in pixels: about 1/7 inch at the page's dpi, or a
    share of the image height when the dpi is unknown."""
    if dpi and dpi >= 50:
        return dpi / 7.0
    return max(12.0, min(gray.shape[:2]) / 12.0)


def clean_page(image: np.ndarray, dpi: float | None = None, digit_height: float | None = None,
               deskew: bool = True) -> CleanPage:
    """Grayscale, deskew, binarize and remove rules: the whole cleaning stage for one page."""
    gray = grayscale(image)
    height = digit_height or estimate_digit_height(gray, dpi)
    paper = paper_level(gray, height)
    contrast = ink_contrast(gray, height, paper)
    ink = ink_mask(contrast, ink_threshold(contrast))
    skew = 0.0
    if deskew:
        skew = estimate_skew(ink)
        if abs(skew) >= SKEW_STEP:
            # The page, its paper level and its contrast turned alike, not worked out again.
            gray = rotate(gray, skew)
            paper = rotate(paper, skew, fill=255)
            contrast = rotate(contrast, skew, fill=0)
            ink = ink_mask(contrast, ink_threshold(contrast))  # turning softens strokes a little
        else:
            skew = 0.0
    rules = find_rules(ink, height)
    return CleanPage(gray=gray, ink=remove_rules(ink, rules, height), rules=rules, skew=skew,
                     darkness=Darkness(gray, paper, max(typical_ink_contrast(paper - gray), 1.0)))


@dataclass(frozen=True)
class Darkness:
    """How dark each pixel is against its local ``paper`` level, 0 (paper) to 1 (the page's
    ``typical`` ink contrast): the grey levels of the strokes, kept so that digits reach the
    classifier anti-aliased, as MNIST's are, not as hard binary masks. Indexed like an array, and
    worked out only for the windows asked for (a glyph's box), not the whole page."""

    gray: np.ndarray
    paper: np.ndarray
    typical: float

    def __getitem__(self, window) -> np.ndarray:
        contrast = self.paper[window] - self.gray[window].astype(np.float32)
        return np.clip(contrast / self.typical, 0.0, 1.0)
