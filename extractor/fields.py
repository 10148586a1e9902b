"""Reading the named fields of a template on an aligned page, and checking what was read."""

from __future__ import annotations

import calendar
from collections import Counter
from dataclasses import dataclass

import cv2
import numpy as np

from . import assemble, clean, layout, segment, strings
from .errors import InputError
from .pages import ASSUMED_DPI
from .templates import FieldSpec, Template, rules_frame

#: A page's rule frame may be shifted and scaled this much against the template's and still fit.
MAX_SCALE_CHANGE = 0.25
#: A detected box belongs to a field when at least this share of it lies in the field's place.
SNAP_SHARE = 0.6
#: A template page is read at the resolution its form's known size gives where that is more than
#: this share off the resolution its file states (or ASSUMED_DPI): within it, the stated one.
DPI_TOLERANCE = 0.1
#: In a comb of known cells, a wall stands within this share of a cell's width of where it should.
WALL_NEAR = 0.2
#: A printed sign (the rupee sign) is at least this share of the digit height wide.
SIGN_WIDTH = 0.25
#: A glyph whose width lies this much within the sign's is a piece of the sign (segmentation cut it up).
SIGN_PIECE = 0.4
#: The last glyph of an amount read as no digit with more than this probability is part of its
#: closing mark: amounts end in a clearly written 0 far more often than in a doubtful digit.
CLOSING_DOUBT = 0.6
#: A closing slash drawn through the last digit reaches above or below the other digits over at
#: least this share of their height.
SLASH_ROWS = 0.2
#: A closing slash stands this many times taller than the digits before it.
CLOSING_TALLER = 1.35
#: A glyph of a digit's height no wider than this share of it is a printed wall's sliver.
WALL_WIDTH = 0.06
#: A digit at least this share of whose ink only the faint pixels' second look found is a faint
#: digit; growing adds a share of 0.05 to 0.3 to a digit written in full ink (its soft edges).
FAINT_SHARE = 0.4
#: A doubtful digit the second look reads as a sure other one, with at least this share of its ink
#: faint, is taken from it: the thin stroke it had lost (a 7's bar) made it sure.
FAINT_PART = 0.1
#: The years a four-digit year may be: a date read outside them holds a misread digit.
YEARS = (1900, 2099)
#: A date in a batch is likelier in the years its other dates were read surely in, as a person
#: going through a stack of cheques knows they were written within a year or so of each other: a
#: year's prior is the mean over the batch's sure years of exp(-|year - theirs| / YEAR_SPREAD), at
#: least YEAR_FLOOR, over the likeliest year's (chosen numbers: a year one off the batch's costs
#: about 1 of log-odds, one far from all of them 3). It is a log-probability added to the decision's
#: calibrated log-odds, so its weight is 1 (YEAR_WEIGHT; 0.5 was tried first: docs/experiments.md).
YEAR_SPREAD, YEAR_FLOOR, YEAR_WEIGHT = 1.0, 0.05, 1.0
#: Every date read is tried in the batch's commonest years too (at most this many of them).
YEARS_TRIED = 3
#: The probability given to a digit none of a glyph's likeliest readings is.
UNLIKELY = 1e-6
#: The sequence readers read a date box with this share of its width beyond each side.
DATE_MARGIN = 0.05


@dataclass(frozen=True)
class FieldReading:
    """One field read: its string, and why it needs review (empty when it does not)."""

    spec: FieldSpec
    string: assemble.DigitString
    review_reason: str = ""


def align(template: Template, rules: np.ndarray) -> tuple[float, float, float, float]:
    """The map from template shares to page pixels, (scale_x, scale_y, shift_x, shift_y), found by
    laying the template's rule frame over the page's. A page whose rules cannot match raises."""
    h, w = rules.shape
    if template.frame is None:
        return float(w), float(h), 0.0, 0.0
    found = rules_frame(rules)
    if found is None:
        raise InputError(f"page does not match template {template.name}: no printed rules found to align it by")
    tx0, ty0, tx1, ty1 = template.frame
    px0, py0, px1, py1 = found
    sx = (px1 - px0) / (tx1 - tx0)
    sy = (py1 - py0) / (ty1 - ty0)
    if abs(sx - 1) > MAX_SCALE_CHANGE or abs(sy - 1) > MAX_SCALE_CHANGE:
        raise InputError(f"page does not match template {template.name}: its printed rules span "
                         f"{sx:.0%} x {sy:.0%} of the template's")
    return sx * w, sy * h, (px0 - tx0 * sx) * w, (py0 - ty0 * sy) * h


def place(spec: FieldSpec, mapping, boxes: list[layout.Field], shape, rules: np.ndarray | None = None
          ) -> tuple[int, int, int, int]:
    """Where a field is on the page: the printed boxes lying in its expected place, joined, or the
    expected place itself when there are none. A comb whose cells were found only in part (writing
    over a wall hides a cell) is followed along its printed top and bottom rules to its full length."""
    sx, sy, dx, dy = mapping
    x, y, w, h = spec.box
    ex0, ey0, ex1, ey1 = x * sx + dx, y * sy + dy, (x + w) * sx + dx, (y + h) * sy + dy
    inside = []
    for b in boxes:
        ox = max(0.0, min(ex1, b.x + b.w) - max(ex0, b.x))
        oy = max(0.0, min(ey1, b.y + b.h) - max(ey0, b.y))
        if ox * oy >= SNAP_SHARE * b.w * b.h and b.w * b.h >= 0.05 * (ex1 - ex0) * (ey1 - ey0):
            inside.append(b)
    if inside:
        x0 = min(b.x for b in inside)
        y0 = min(b.y for b in inside)
        x1 = max(b.x + b.w for b in inside)
        y1 = max(b.y + b.h for b in inside)
        if spec.cells > 1 and rules is not None:
            x0, x1 = along_comb_rules(rules, x0, y0, x1, y1, int(ex0), int(ex1))
        return x0, y0, x1 - x0, y1 - y0
    H, W = shape
    x0, y0 = max(0, int(ex0)), max(0, int(ey0))
    return x0, y0, max(1, min(W, int(ex1)) - x0), max(1, min(H, int(ey1)) - y0)


def along_comb_rules(rules: np.ndarray, x0: int, y0: int, x1: int, y1: int, lo: int, hi: int) -> tuple[int, int]:
    """The left and right ends of the horizontal rules just above and below a run of found cells,
    kept within ``lo``..``hi`` (the field's expected place, widened by a cell): the comb's real extent."""
    margin = max(2, (y1 - y0) // 4)
    lo, hi = max(0, lo - (y1 - y0)), min(rules.shape[1], hi + (y1 - y0))
    best = (x0, x1)
    for band in (rules[max(0, y0 - margin): y0 + margin, lo:hi], rules[max(0, y1 - margin): y1 + margin, lo:hi]):
        if band.size == 0:
            continue
        row = band.any(axis=0)
        row = cv2.morphologyEx(row.astype(np.uint8)[None, :], cv2.MORPH_CLOSE,
                               np.ones((1, max(3, margin)), np.uint8))[0].astype(bool)
        start, end = x0 - lo, x1 - 1 - lo
        if not (0 <= start < row.size and 0 <= end < row.size and row[start:end + 1].mean() > 0.9):
            continue
        while start > 0 and row[start - 1]:
            start -= 1
        while end < row.size - 1 and row[end + 1]:
            end += 1
        if end + lo + 1 - (start + lo) > best[1] - best[0]:
            best = (start + lo, end + lo + 1)
    return best


def cell_walls_removed(ink: np.ndarray, rect, cells: int = 0) -> np.ndarray:
    """The ink of a comb field with the walls between its cells taken out (vertical runs most of
    the field's height, where the ``cells`` walls stand when their number is known, so that a
    written 1 is not taken for one), strokes that cross them kept."""
    x, y, w, h = rect
    crop = ink[y: y + h, x: x + w]
    run = max(5, int(0.7 * h))
    walls = cv2.morphologyEx(crop.astype(np.uint8), cv2.MORPH_OPEN,
                             cv2.getStructuringElement(cv2.MORPH_RECT, (1, run))).astype(bool)
    if cells > 1:
        pitch = w / cells
        near = np.abs((np.arange(w) + pitch / 2) % pitch - pitch / 2) <= WALL_NEAR * pitch
        walls &= near[None, :]
    return clean.remove_rules(crop, walls, h)


def read_field(spec: FieldSpec, rect, ink: np.ndarray, classify, height: float,
               rules: np.ndarray | None = None, darkness: clean.Darkness | None = None) -> FieldReading:
    """Read one field from the page's ink (rules removed) at ``rect``: the glyphs whose centres lie
    in it, on its main line; a comb or date one digit per cell. Given the page's ``darkness``, the
    field is looked at again with its strokes grown into the faint pixels they touch, and a digit
    written lighter than the others, which the first look lost, is added from it
    (:func:`with_faint_digits`)."""
    reading = _read_field(spec, rect, ink, classify, height, rules, darkness)
    if darkness is None:
        return reading
    window = field_window(rect, height, ink.shape)
    look = faint_look(ink[window], darkness[window], None if rules is None else rules[window], height,
                      in_doubt=assemble.in_doubt(reading.string.digits))
    if look is None:
        return reading
    grown, added = look
    regrown = ink.copy()
    regrown[window] = grown
    second = _read_field(spec, rect, regrown, classify, height, rules, darkness)
    return second if with_faint_digits(reading.string, second.string, grown, added, window) else reading


def faint_look(ink: np.ndarray, darkness: np.ndarray, rules: np.ndarray | None, height: float,
               in_doubt: bool = False):
    """The ink grown into the faint pixels it touches, and the pixels that added, where a second
    look at them may find a digit the first lost: on clean paper (a printed or textured background
    would join the strokes), when growing made a glyph of half a digit's height or more much of
    whose ink is faint, or, where the first look was ``in_doubt`` of a digit, joined pieces of ink
    into one such glyph (a thin stroke binarization kept only in part). None where no second look
    is worth making."""
    grown, loose = clean.grown_into_faint(ink, darkness, rules)
    if loose > clean.LOOSE_FAINT:
        return None
    added = grown & ~ink
    count, labels, stats, _ = cv2.connectedComponentsWithStats(grown.astype(np.uint8), connectivity=8)
    tall = np.flatnonzero(stats[:, cv2.CC_STAT_HEIGHT] >= 0.5 * height)
    tall = tall[tall > 0]
    faint = np.bincount(labels[added], minlength=count)
    if np.any(faint[tall] >= FAINT_SHARE * stats[tall, cv2.CC_STAT_AREA]):
        return grown, added
    # Or where growing joined pieces of ink into one tall glyph: a thin stroke (a 7's bar) that
    # binarization kept only in part, apart from the rest of its digit. Only a doubtful digit can
    # change for it (with_faint_digits), and touching digits join this way everywhere.
    if not in_doubt:
        return None
    _, pieces = cv2.connectedComponents(ink.astype(np.uint8), connectivity=8)
    joined = np.bincount(np.unique(np.stack([labels[ink], pieces[ink]]), axis=1)[0], minlength=count)
    return (grown, added) if np.any(joined[tall] >= 2) else None


def field_window(rect, height: float, shape) -> tuple[slice, slice]:
    """The part of the page a field's glyphs are cut from: its box and a digit height around it."""
    x, y, w, h = rect
    pad = int(height)
    return (slice(max(0, y - pad), min(shape[0], y + h + pad)), slice(max(0, x - pad), min(shape[1], x + w + pad)))


def with_faint_digits(first: assemble.DigitString, second: assemble.DigitString, grown: np.ndarray,
                      added: np.ndarray, window: tuple[slice, slice] | None = None) -> bool:
    """Whether the second look at a field (its ink ``grown`` into the faint pixels, ``added``: the
    masks of the page's ``window``, or of the whole image) read what the first could not: its digits much of
    whose ink is faint are all sure, and surer than any other digit the first look read in their
    place; its other digits are the first look's, in the same places, or sure where the first look
    doubted them, with some faint ink (FAINT_PART: the stroke they had lost); and it reads at least
    as many. Where growing only thickened strokes it changes nothing, and it never changes a digit
    written in full ink that the first look was sure of."""
    if len(second.text) < len(first.text) or second.text == first.text:
        return False
    y0, x0 = (window[0].start, window[1].start) if window else (0, 0)

    def faint_share(d) -> float:
        box = (slice(max(0, d.y - y0), max(0, d.y - y0) + d.h), slice(max(0, d.x - x0), max(0, d.x - x0) + d.w))
        return float(added[box].sum()) / max(1, int(grown[box].sum()))

    def before(d) -> list[assemble.Digit]:  # what the first look read in the same place
        return [e for e in first.digits if min(d.x + d.w, e.x + e.w) - max(d.x, e.x) > 0.5 * min(d.w, e.w)]

    def taken(d) -> bool:
        share, there = faint_share(d), before(d)
        sure = d.confidence >= segment.SURE
        if share >= FAINT_SHARE:  # a faint digit: sure, and surer than what it replaces
            return sure and all(e.value == d.value or e.confidence < d.confidence for e in there)
        if any(e.value == d.value for e in there):
            return True
        # a doubtful digit made sure by a faint stroke it had lost
        return (sure and share >= FAINT_PART and bool(there)
                and all(e.value == d.value or e.confidence < segment.SURE for e in there))

    return all(taken(d) for d in second.digits)


def _read_field(spec: FieldSpec, rect, ink: np.ndarray, classify, height: float,
                rules: np.ndarray | None = None, darkness: clean.Darkness | None = None) -> FieldReading:
    """One look at a field: :func:`read_field` on the given ink."""
    x, y, w, h = rect
    window = field_window(rect, height, ink.shape)
    y0, x0 = window[0].start, window[1].start
    crop = ink[window]
    comb = spec.kind in ("comb", "date") and spec.cells
    if comb:
        crop = crop.copy()
        inner = (x - x0, y - y0, w, h)
        crop[y - y0: y - y0 + h, x - x0: x - x0 + w] = cell_walls_removed(crop, inner, spec.cells)
    left = x + spec.skip_left * w
    shade = None if darkness is None else darkness[window]
    glyphs = [g for g in segment.components(crop, height, offset=(x0, y0), darkness=shade)
              if left <= g.x + g.w / 2 < x + w and y <= g.y + g.h / 2 < y + h]
    digits: list[assemble.Digit] = []
    found_count = 0
    main = segment.main_line(segment.group_lines(glyphs))
    if main:
        found, probs = segment.segment_line(main, classify, pitch=w / spec.cells if comb else None)
        # a glyph split in pieces (a box's corner cut from the amount's last digit) keeps those in the field
        inside = [i for i, g in enumerate(found) if left <= g.x + g.w / 2 < x + w]
        found, probs = [found[i] for i in inside], probs[inside]
        if spec.sign_left:
            found, probs = after_sign(found, probs, x, x + spec.sign_left * w, height, sign_wall(rules, rect, spec, height))
        if spec.closing:
            found, probs = before_closing(found, probs, classify)
        digits = assemble.read_digits(found, probs)
        found_count = len(found)
        if comb:
            digits = one_per_cell(digits, x, w, spec.cells, fallback=cell_fallbacks(found, probs, height))
    string = assemble.string_of(spec.name, digits, rect)
    if main and not comb and found and darkness is not None:
        # The string reader sees the field's line from the first to the last glyph segmentation
        # kept: the printed sign before an amount and the "/-" closing it are left out.
        span = [g for g in main if found[0].x <= g.x + g.w / 2 <= found[-1].right] or found
        crop = strings.crop_box(span, segment.line_height(span), ink.shape, rect)
        string = assemble.with_string_reader([(string, crop)], darkness.gray, classify, rect,
                                             amount=spec.kind == "amount")[0]
    problem = check(spec, string.text, found_count)
    if spec.kind == "date" and darkness is not None and rules is not None:
        whole = date_read_whole(spec, rect, string, darkness.gray, rules, classify)
        if whole is not None:  # flagged where its cells alone read no date
            why = problem.removeprefix(f"date {string.text}: ")
            return FieldReading(spec, whole, f"cells read {string.text or 'nothing'}, {why}; read whole as {whole.text}"
                                if problem else "")
    if spec.kind == "date" and problem:
        return date_reading(spec, digits, rect, problem)
    return FieldReading(spec, string, problem)


def date_read_whole(spec: FieldSpec, rect, cells: assemble.DigitString, gray: np.ndarray, rules: np.ndarray,
                    classify) -> assemble.DigitString | None:
    """A date field decided over every reader: the glyph reader's cells (``cells``) and the
    sequence readers reading the whole date box, its cell walls painted over with paper, DATE_MARGIN
    of its width beyond each side (a last digit written past the box). Only calendar dates written
    as the field's pattern are candidates, as a person reading a date would take only those; None
    where no reader gives one (the cells' own likeliest date is then looked for)."""
    if getattr(classify, "strings", None) is None:
        return None
    x, y, w, h = rect
    pad = int(DATE_MARGIN * w)
    x0, x1 = max(0, x - pad), min(gray.shape[1], x + w + pad)
    crop = gray[max(0, y): y + h, x0: x1].copy()
    if crop.size == 0:
        return None
    crop[rules[max(0, y): y + h, x0: x1] > 0] = np.percentile(crop, 90)  # walls as paper
    both = assemble.sequence_readings([crop], classify)[0]
    readings = {"strings": both["sequence"], "ppocr": both["ppocr"]}
    pattern = spec.pattern or "DDMMYYYY"
    also = (lambda texts: in_years(texts, pattern, spec.years)) if spec.years else None
    dates = [c for c in assemble.candidates(cells, readings, also) if not date_problem(c.text, pattern)]
    if not dates:
        return None
    decision = getattr(classify, "decision", None) or assemble.Decision()
    prior = list(year_log_priors([date_year(c.text, pattern) for c in dates], spec.years)) if spec.years else None
    chosen, confidence = decision(dates, prior)
    boxed = (assemble.string_of(spec.name, [], rect) if len(cells.digits) != len(chosen.text) else cells)
    return assemble.decided_as(boxed, chosen.text, confidence, rect)


def date_reading(spec: FieldSpec, digits: list[assemble.Digit], rect, problem: str) -> FieldReading:
    """A date field whose read is not a calendar date, as the likeliest date its digits' readings
    allow (one misread digit of a clear date, a 2 read as 8 in the year, is mended), flagged for
    review with both reads; left as read when no date fits its digits."""
    pattern = spec.pattern or "DDMMYYYY"
    mended = likeliest_date([d.top for d in digits], pattern, spec.years)
    if mended is None:
        return FieldReading(spec, assemble.string_of(spec.name, digits, rect), problem)
    read = "".join(str(d.value) for d in digits)
    chances = [dict(d.top) for d in digits]
    digits = [assemble.Digit(int(v), chances[i].get(int(v), UNLIKELY), d.x, d.y, d.w, d.h, d.top)
              for i, (v, d) in enumerate(zip(mended, digits))]
    return FieldReading(spec, assemble.string_of(spec.name, digits, rect),
                        f"read {read}, {problem.removeprefix(f'date {read}: ')}; likeliest date {mended}")


def likeliest_date(readings: list[tuple[tuple[int, float], ...]], pattern: str,
                   years: tuple[int, ...] = ()) -> str | None:
    """The calendar date written as ``pattern`` (DD, MM and YY or YYYY) whose digits are likeliest,
    given each position's likeliest readings as (digit, probability) and the batch's sure ``years``
    (year_log_prior); a digit none of a position's readings is counts as UNLIKELY. None when the
    readings do not match the pattern's length."""
    if len(readings) != len(pattern) or "DD" not in pattern or "MM" not in pattern:
        return None
    logp = np.full((len(pattern), 10), np.log(UNLIKELY))
    for i, top in enumerate(readings):
        for digit, p in top:
            logp[i, digit] = np.log(max(p, UNLIKELY))

    def score(key: str, value: int) -> float:
        at = pattern.find(key)
        return float(sum(logp[at + k, int(c)] for k, c in enumerate(f"{value:0{len(key)}d}")))

    written = year_key(pattern)
    possible = range(YEARS[0], YEARS[1] + 1) if written == "YYYY" else range(100) if written else [2000]
    priors = year_log_priors([y if written == "YYYY" else 2000 + y for y in possible], years) if written else None
    year_scores = {y: score(written, y) + float(priors[k]) if written else 0.0 for k, y in enumerate(possible)}
    best_year = max(year_scores, key=year_scores.get)
    leap_years = [y for y in possible if calendar.isleap(y if written != "YY" else 2000 + y)]
    best_leap = max(leap_years, key=year_scores.get) if leap_years else None
    best = None
    for month in range(1, 13):
        for day in range(1, calendar.monthrange(2001, month)[1] + 1):  # 29 February: below
            total = score("DD", day) + score("MM", month) + year_scores[best_year]
            if best is None or total > best[0]:
                best = (total, day, month, best_year)
    if best_leap is not None:
        total = score("DD", 29) + score("MM", 2) + year_scores[best_leap]
        if total > best[0]:
            best = (total, 29, 2, best_leap)
    _, day, month, year = best
    text = pattern
    for key, value in (("DD", day), ("MM", month), (written, year)):
        if key:
            text = text.replace(key, f"{value % 10 ** len(key):0{len(key)}d}", 1)
    return text


def sign_wall(rules: np.ndarray | None, rect, spec: FieldSpec, height: float) -> int | None:
    """The printed wall between the sign and the writing, where the sign has a box of its own: the
    rightmost vertical rule in the sign's share of the field, or None."""
    if rules is None:
        return None
    x, y, w, h = rect
    band = rules[y: y + h, x: x + int(spec.sign_left * w)]
    if band.size == 0:
        return None
    tall = cv2.morphologyEx(band.astype(np.uint8), cv2.MORPH_OPEN,
                            cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(3, int(1.2 * height)))))
    columns = np.flatnonzero(tall.any(axis=0))
    return int(x + columns[-1]) if columns.size else None


def after_sign(found, probs, left: int, limit: float, height: float, wall: int | None = None):
    """The glyphs after the printed sign at a field's left (the rupee sign before an amount): all of
    them when the field is a printed box's inside (the sign stands outside); those right of the
    sign's own box wall when one stands in the field with room for a sign (or a glyph) left of it;
    else the first glyph of a digit's size that starts left of ``limit`` is the sign, and specks
    and slivers of a box wall before it go too."""
    if wall is not None and wall - left <= 0.25 * height:
        return found, probs  # the field is the inside of a printed box: the sign stands outside it
    def begun_outside(g):  # printed words before the field, never its sign
        return g.x < left - 0.25 * height

    if wall is not None and (wall - left > 1.5 * height or any(
            g.x + g.w / 2 < wall and g.h >= 0.5 * height and not begun_outside(g) for g in found)):
        keep = [i for i, g in enumerate(found) if g.x + g.w / 2 > wall]
        return [found[i] for i in keep], probs[keep]
    for i, g in enumerate(found):
        if g.x >= limit:
            break
        if begun_outside(g):
            continue
        if g.h >= 0.5 * height and g.w >= SIGN_WIDTH * height:  # not a sliver of a box wall
            rest = i + 1
            # the sign's own box wall, and the sign's other pieces, where segmentation cut it up
            while rest < len(found) and (_wall_sliver(found[rest], height)
                                         or g.right - found[rest].x > SIGN_PIECE * found[rest].w):
                rest += 1
            return found[rest:], probs[rest:]
    return found, probs


def _wall_sliver(g, height: float) -> bool:
    """A piece of a printed wall that the cleaning left: upright, of a digit's height, and no wider
    than a printed hairline: two pixels at the working resolution, where a pen's 1 is a stroke
    wider than that, and leans."""
    return g.h >= 0.5 * height and g.w <= max(2.0, WALL_WIDTH * height)


def before_closing(found, probs, classify=None):
    """An amount's glyphs before the "/-" its writer closed it with: trailing dashes (flat glyphs)
    and pieces that are no sure digit (a dash's flourish, cut off the slash it grew from), then
    the stroke before them, when it is thin, has the dash grown from its side, or stands clearly
    taller than the digits (a slash is drawn across the line, not on it). A slash drawn through
    the amount's last digit ("000/-" in one stroke) is taken off it, and the digit left is kept
    when ``classify`` reads it as a sure digit."""
    while len(found) > 1 and (found[-1].w > 1.5 * found[-1].h or probs[-1][:10].max() < CLOSING_DOUBT):
        found, probs = found[:-1], probs[:-1]
    if not found:
        return found, probs
    g = found[-1]
    right = g.ink[:, int(0.4 * g.w):]
    rows = np.flatnonzero(right.any(axis=1))
    dash_attached = g.w > 0.5 * g.h and rows.size > 0 and rows[-1] - rows[0] + 1 < 0.3 * g.h
    taller = len(found) >= 3 and g.h > CLOSING_TALLER * np.median([d.h for d in found[:-1]])
    if g.w < 0.5 * g.h or dash_attached or taller:
        if taller and classify is not None:
            last = digits_under_slash(g, found[:-1], classify)
            if last is not None:
                return found[:-1] + last[0], np.concatenate([probs[:-1], last[1]])
        return found[:-1], probs[:-1]
    return found, probs


def digits_under_slash(g: segment.Glyph, before: list[segment.Glyph], classify):
    """The digits a closing slash was drawn through (the last zeros of "000/-" run into it), and
    their probabilities, or None. The slash is the only ink above and below the band the amount's
    other digits fill; the straight line through that ink is erased over the whole glyph, and
    what is left of it, left of the slash, is segmented as a line of its own: its digits, when the
    classifier is sure of each."""
    top = int(np.median([d.y for d in before])) - g.y
    bottom = int(np.median([d.bottom for d in before])) - g.y
    mask = g.ink > 0
    ys, xs = np.nonzero(mask)
    outside = (ys < top) | (ys >= bottom)
    if np.unique(ys[outside]).size < SLASH_ROWS * (bottom - top):
        return None
    lean, offset = np.polyfit(ys[outside], xs[outside], 1)
    counts = np.bincount(ys[outside])
    width = float(np.median(counts[counts > 0]))  # the slash's width across a row
    along = lean * np.arange(g.h)[:, None] + offset
    columns = np.arange(g.w)[None, :]
    left = (mask & (columns < along - (width / 2 + 1))).astype(np.uint8)
    # Of what is left, the pieces in the digits' band that are more than specks: not the slash's
    # hook or foot, which reach out of the band.
    height = float(np.median([d.h for d in before]))
    count, labels, stats, centres = cv2.connectedComponentsWithStats(left, connectivity=8)
    kept = [k for k in range(1, count) if top <= centres[k][1] < bottom
            and stats[k, cv2.CC_STAT_AREA] >= (segment.SPECK * height) ** 2]
    rest = segment._glyph_from_mask(np.isin(labels, kept), g.x, g.y, g.ink) if kept else None
    if rest is None or rest.h < 0.5 * height or rest.w < 0.25 * rest.h:
        return None
    digits, probs = segment.segment_line([rest], classify, height)
    if not digits or probs[:, :10].max(axis=1).min() < segment.SURE:
        return None
    return digits, probs


def cell_fallbacks(found, probs, height: float) -> list[assemble.Digit]:
    """Glyphs of a digit's height that the classifier rejected, read as their likeliest digit: in a
    comb a cell holds one digit, so a thin 1 rejected as a stray wall still fills an empty cell."""
    return [assemble.digit_from(p, g.x, g.y, g.w, g.h) for g, p in zip(found, probs)
            if assemble.rejected(p) and g.h >= 0.6 * height]


def one_per_cell(digits: list[assemble.Digit], x: int, w: int, cells: int,
                 fallback: list[assemble.Digit] = ()) -> list[assemble.Digit]:
    """Digits of a comb in cell order, no more than it has cells: when more were read, the surest
    of each cell; a ``fallback`` digit fills a cell that no digit took. No more digits than cells
    are all kept, two in one cell too: a comb printed a little off its template, or written
    across its walls, still has one digit for each cell."""
    def cell_of(d):
        return min(cells - 1, max(0, int((d.x + d.w / 2 - x) / (w / cells))))

    if len(digits) > cells:
        best: dict[int, assemble.Digit] = {}
        for d in digits:
            cell = cell_of(d)
            if cell not in best or d.confidence > best[cell].confidence:
                best[cell] = d
        digits = list(best.values())
    taken = {cell_of(d) for d in digits}
    for d in fallback:
        if len(digits) < cells and cell_of(d) not in taken:
            digits = digits + [d]
            taken.add(cell_of(d))
    return sorted(digits, key=lambda d: d.x)


def check(spec: FieldSpec, text: str, glyphs: int) -> str:
    """Why a field's value is doubtful, or "" when it passes its kind's checks."""
    if not text:
        return "nothing read"
    if spec.kind == "date":
        return date_problem(text, spec.pattern or "DDMMYYYY")
    if spec.kind == "comb" and spec.cells and len(text) != spec.cells:
        return f"{len(text)} of {spec.cells} digits"
    if spec.kind == "amount":
        if len(text) > 1 and text[0] == "0":
            return "amount starts with 0"
        if len(text) > 12:
            return f"amount of {len(text)} digits"
    if spec.length and len(text) != spec.length:
        return f"{len(text)} digits, expected {spec.length}"
    return ""


def year_key(pattern: str) -> str:
    """How a date pattern writes its year: "YYYY", "YY", or "" where it has none."""
    return "YYYY" if "YYYY" in pattern else "YY" if "YY" in pattern else ""


def date_year(text: str, pattern: str) -> int | None:
    """The year of a date ``text`` written as ``pattern`` (YY read as 20YY), or None."""
    key = year_key(pattern)
    at = pattern.find(key)
    if not key or len(text) != len(pattern) or not text[at: at + len(key)].isdigit():
        return None
    year = int(text[at: at + len(key)])
    return year if key == "YYYY" else 2000 + year


def year_log_prior(year: int | None, seen: tuple[int, ...]) -> float:
    """How much likelier (log) a date in ``year`` is than one in the likeliest year, for a batch
    whose sure dates are in the years ``seen`` (YEAR_SPREAD, YEAR_FLOOR, YEAR_WEIGHT); 0 where the
    batch says nothing."""
    return 0.0 if year is None else float(year_log_priors([year], seen)[0])


def year_log_priors(years, seen: tuple[int, ...]) -> np.ndarray:
    """year_log_prior of each of ``years`` at once, the batch's ``seen`` years counted once each
    (a batch of thousands of sure dates holds a handful of years)."""
    if not seen:
        return np.zeros(len(years))
    unique, counts = np.unique(np.asarray(seen, float), return_counts=True)
    weights = counts / counts.sum()

    def share(ys) -> np.ndarray:
        return np.exp(-np.abs(np.asarray(ys, float)[:, None] - unique[None, :]) / YEAR_SPREAD) @ weights

    top = share(unique).max()  # a sum of such peaks is highest at one of them
    return YEAR_WEIGHT * np.log(np.maximum(share(years), YEAR_FLOOR) / top)


def in_years(texts: list[str], pattern: str, seen: tuple[int, ...]) -> list[str]:
    """Each date of ``texts`` written in the batch's YEARS_TRIED commonest sure years instead of
    its own, and each one digit short whose year is one of those years less a digit (the year's
    last cell left empty or lost) with that year whole: a date whose year the readers misread is
    still among the candidates."""
    key = year_key(pattern)
    if not key:
        return []
    at = pattern.find(key)
    common = [y for y, _ in Counter(sorted(seen)).most_common(YEARS_TRIED)]  # ties: the earlier year
    out = []
    size = len(key)
    for text in texts:
        for y in common:
            year = f"{y % 10 ** size:0{size}d}"
            if len(text) == len(pattern):
                out.append(text[:at] + year + text[at + size:])
            elif len(text) == len(pattern) - 1 and text[at: at + size - 1] in {year[:k] + year[k + 1:] for k in range(size)}:
                out.append(text[:at] + year + text[at + size - 1:])
    return out


def date_problem(text: str, pattern: str) -> str:
    """Why ``text`` is not a calendar date written as ``pattern`` (DD, MM, YY or YYYY), or ""."""
    if len(text) != len(pattern):
        return f"date has {len(text)} digits, expected {len(pattern)} ({pattern})"
    parts = {}
    for key in ("DD", "MM", "YYYY", "YY"):
        at = pattern.find(key)
        if at >= 0:
            parts[key] = int(text[at: at + len(key)])
            pattern = pattern[:at] + "#" * len(key) + pattern[at + len(key):]
    day, month = parts.get("DD", 1), parts.get("MM", 1)
    year = parts.get("YYYY", 2000 + parts.get("YY", 0))
    if "YYYY" in parts and not YEARS[0] <= year <= YEARS[1]:
        return f"date {text}: no year {year}, expected {YEARS[0]}-{YEARS[1]}"
    if not 1 <= month <= 12:
        return f"date {text}: no month {month:02d}"
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        return f"date {text}: no day {day:02d} in {calendar.month_abbr[month]} {year}"
    return ""


def form_dpi(template: Template, shape: tuple[int, ...], dpi: float | None) -> float:
    """The resolution a template's page is read at: the one its file states (or ASSUMED_DPI),
    unless the form's known printed size (``inches``) says it is more than DPI_TOLERANCE off: a
    cheque scanned at 200 dpi, photographed, or saved with no resolution reads as it is."""
    given = dpi or ASSUMED_DPI
    if not template.inches:
        return given
    sized = shape[1] / template.inches[0]
    return sized if abs(sized / given - 1) > DPI_TOLERANCE else given


def field_places(template: Template, page: clean.CleanPage, height: float) -> list[tuple[FieldSpec, tuple, np.ndarray]]:
    """Each field of a template on a cleaned page: (spec, its rectangle, the rules it is read
    against). Combs are placed by comb_rules, their faint walls too; other fields by the page's own
    rules. Raises InputError when the page cannot be aligned."""
    mapping = align(template, page.rules)
    boxes = layout.find_boxes(page.rules, height)
    combs = clean.comb_rules(page, height) if any(spec.cells > 1 for spec in template.fields) else None
    comb_boxes = layout.find_boxes(combs, height) if combs is not None else boxes
    places = []
    for spec in template.fields:
        rules, found = (combs, comb_boxes) if spec.cells > 1 else (page.rules, boxes)
        places.append((spec, place(spec, mapping, found, page.ink.shape, rules), rules))
    return places


def read_template_page(image: np.ndarray, dpi: float, template: Template, classify) -> list[FieldReading]:
    """Every field of a template on one page; raises InputError when the page cannot be aligned."""
    image, scale = clean.working_copy(image, dpi)
    dpi = dpi * scale
    page = clean.clean_page(image, dpi=dpi)
    height = clean.estimate_digit_height(page.gray, dpi)
    to_scan = clean.unrotated_box(page.skew, page.gray.shape) if page.skew else None  # boxes on the page as scanned
    readings = []
    for spec, rect, rules in field_places(template, page, height):
        reading = read_field(spec, rect, page.ink, classify, height, rules, page.darkness)
        string = assemble.moved(reading.string, to_scan) if to_scan else reading.string
        readings.append(FieldReading(spec, assemble.rescaled(string, 1 / scale), reading.review_reason))
    return readings
