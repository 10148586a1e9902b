"""Assembly: classified glyphs into digit strings in reading order, with confidences."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from . import strings
from .model import NOT_A_DIGIT
from .segment import SURE, Glyph, union

#: A string whose probability of being right is below this needs a human look.
REVIEW_BELOW = 0.8
#: A gap wider than this share of the line height starts a new string on a free line.
STRING_GAP = 1.5
#: On a page, a box or line is read as a number only if at most this share of its glyphs were
#: rejected and its digits' mean confidence is at least this: printed words and letters are not.
MAX_REJECTED = 0.3
#: ... and only if it holds at most this many glyphs: longer runs are lines of text.
MAX_GLYPHS = 24
MIN_MEAN_CONFIDENCE = 0.7


@dataclass(frozen=True)
class Digit:
    """One digit read: its value, probability, and box on the page."""

    value: int
    confidence: float
    x: int
    y: int
    w: int
    h: int
    #: The likeliest readings, best first, as (digit, probability): for a person choosing between them.
    top: tuple[tuple[int, float], ...] = ()


@dataclass(frozen=True)
class DigitString:
    """A string of digits read from one field or one stretch of a line."""

    field: str
    text: str
    confidence: float
    x: int
    y: int
    w: int
    h: int
    digits: tuple[Digit, ...] = ()


def rescaled(string: DigitString, factor: float) -> DigitString:
    """The same string with its boxes (and its digits' boxes) multiplied by ``factor``."""
    if factor == 1.0:
        return string
    return moved(string, lambda x, y, w, h: (int(round(x * factor)), int(round(y * factor)),
                                             int(round(w * factor)), int(round(h * factor))))


def moved(string: DigitString, box_map) -> DigitString:
    """The same string with its box and its digits' boxes mapped by ``box_map`` ((x, y, w, h) to
    (x, y, w, h)): from the page as it was read to the page as it was given."""
    digits = tuple(Digit(d.value, d.confidence, *box_map(d.x, d.y, d.w, d.h), d.top) for d in string.digits)
    return DigitString(string.field, string.text, string.confidence, *box_map(string.x, string.y, string.w, string.h),
                       digits)


def rejected(probs: np.ndarray) -> bool:
    """Whether a glyph is clutter (separators, rules, letters' parts): its likeliest class is "not
    a digit", even when that class holds less than half the probability."""
    return bool(probs[NOT_A_DIGIT] > probs[:10].max())


def read_digits(glyphs: list[Glyph], probs: np.ndarray) -> list[Digit]:
    """The digits among classified glyphs: each glyph's best digit, clutter left out."""
    return [digit_from(p, g.x, g.y, g.w, g.h) for g, p in zip(glyphs, probs) if not rejected(p)]


def in_doubt(digits) -> bool:
    """Whether any of these digits was read with less than SURE probability."""
    return any(d.confidence < SURE for d in digits)


def digit_from(probs: np.ndarray, x: int, y: int, w: int, h: int) -> Digit:
    """The digit a glyph at (x, y, w, h) most likely is, given its class probabilities."""
    value = int(np.argmax(probs[:10]))
    return Digit(value, float(probs[value]), x, y, w, h, top_readings(probs))


def top_readings(probs: np.ndarray, count: int = 3) -> tuple[tuple[int, float], ...]:
    """The ``count`` likeliest digits of one glyph's probabilities, best first."""
    best = np.argsort(probs[:10])[::-1][:count]
    return tuple((int(d), float(probs[d])) for d in best)


def string_of(field: str, digits: list[Digit], box: tuple[int, int, int, int] | None = None) -> DigitString:
    """One string from digits in reading order; its confidence is the product of theirs, the
    probability that every digit is right. An empty string keeps the field's box, if given."""
    if digits:
        x0 = min(d.x for d in digits)
        y0 = min(d.y for d in digits)
        x1 = max(d.x + d.w for d in digits)
        y1 = max(d.y + d.h for d in digits)
        box = (x0, y0, x1 - x0, y1 - y0)
    box = box or (0, 0, 0, 0)
    text = "".join(str(d.value) for d in digits)
    confidence = float(np.prod([d.confidence for d in digits])) if digits else 0.0
    return DigitString(field, text, confidence, *box, digits=tuple(digits))


def line_digits(reading, line: Glyph) -> list[Digit]:
    """The digits a line reader (strings.py) found on a line, ``line`` being the union of the
    line's ink: each digit boxed by the ink in the columns it was read from."""
    digits = []
    for ch, confidence, (x0, x1) in zip(reading.text, reading.confidences, reading.spans):
        x0, x1 = min(x0, line.w - 1), min(max(x1, x0 + 1), line.w)
        rows = np.flatnonzero(line.ink[:, x0:x1].max(axis=1) > 0) if x1 > x0 else np.zeros(0, int)
        y0, y1 = (int(rows[0]), int(rows[-1]) + 1) if rows.size else (0, line.h)
        digits.append(Digit(int(ch), float(confidence), line.x + x0, line.y + y0, x1 - x0, y1 - y0,
                            ((int(ch), float(confidence)),)))
    return digits


def second_opinion(glyph_read: DigitString, line_read: DigitString) -> DigitString:
    """One string from two readers of the same ink: the glyph-by-glyph reading and the line
    reader's. Where they agree, the glyph reading stands (its boxes are the finer), as sure as the
    surer of the two. Where they differ, at most one is right, so the surer one is taken and its
    confidence is capped by the other's doubt: two sure readers that disagree leave it for review."""
    if glyph_read.text == line_read.text:
        return replace(glyph_read, confidence=max(glyph_read.confidence, line_read.confidence))
    chosen, other = ((line_read, glyph_read) if line_read.confidence > glyph_read.confidence
                     else (glyph_read, line_read))
    confidence = min(chosen.confidence, 1.0 - other.confidence) if other.text else chosen.confidence
    return replace(chosen, confidence=confidence)


def with_line_reader(reads: list[tuple[DigitString, list[Glyph]]], classify,
                     box: tuple[int, int, int, int] | None = None) -> list[DigitString]:
    """Glyph-by-glyph readings, each given with its line's glyphs, checked against the line reader's
    readings of those lines (:func:`second_opinion`), the lines read in one batch; as they were where
    the classifier has no line reader or a reading has no glyphs. An empty line reading keeps
    ``box`` (default: the glyph reading's)."""
    if getattr(classify, "lines", None) is None:
        return [read for read, _ in reads]
    wholes = [union(line) if line else None for _, line in reads]
    readings = iter(strings.read_lines(classify.lines, [w.ink for w in wholes if w is not None]))
    out = []
    for (read, line), whole in zip(reads, wholes):
        if whole is None:
            out.append(read)
            continue
        reading = next(readings)
        # The reading's confidence is the probability of its text, every path that spells it
        # counted: a doubt about a digit too many or too few lowers it, as it should.
        digits = [d for d in line_digits(reading, whole) if not on_mark(d, line, read.digits)]
        line_read = replace(string_of(read.field, digits, box or (read.x, read.y, read.w, read.h)),
                            confidence=reading.confidence if reading.text else 0.0)
        out.append(second_opinion(read, line_read))
    return out


#: A glyph of a line that holds none of the glyph reader's digits is a mark (a comma, a slash)
#: when it starts this share of their height below their top, or ends this share below their foot.
MARK_TOP = 0.3
MARK_FOOT = 0.2


def on_mark(digit: Digit, line: list[Glyph], glyph_digits) -> bool:
    """Whether the line reader read a 1 where segmentation found a mark: a glyph of the line that
    holds none of the glyph reader's digits, and sits lower than they do (a comma, or a slash
    reaching below the line), where a 1 stands as tall as the digits beside it."""
    if digit.value != 1 or not glyph_digits:
        return False
    height = float(np.median([d.h for d in glyph_digits]))
    top = float(np.median([d.y for d in glyph_digits]))
    foot = float(np.median([d.y + d.h for d in glyph_digits]))
    centre = digit.x + digit.w / 2
    if any(d.x <= centre < d.x + d.w for d in glyph_digits):
        return False
    return any(g.x <= centre < g.right and (g.y > top + MARK_TOP * height or g.bottom > foot + MARK_FOOT * height)
               for g in line)


def split_at_gaps(digits: list[Digit], height: float) -> list[list[Digit]]:
    """Digits of a free line cut into strings where the gap is wide."""
    strings: list[list[Digit]] = []
    for d in sorted(digits, key=lambda d: d.x):
        if strings and d.x - max(p.x + p.w for p in strings[-1]) <= STRING_GAP * height:
            strings[-1].append(d)
        else:
            strings.append([d])
    return strings


def looks_like_number(digits: list[Digit], glyphs: int) -> bool:
    """Whether what was read from a box or line is a number, not words: not longer than any number
    people write, few of its glyphs rejected as "not a digit", and its digits mostly sure."""
    if not digits or glyphs > MAX_GLYPHS:
        return False
    rejected = 1 - len(digits) / max(1, glyphs)
    return rejected <= MAX_REJECTED and float(np.mean([d.confidence for d in digits])) >= MIN_MEAN_CONFIDENCE


def needs_review(string: DigitString, review_below: float = REVIEW_BELOW) -> bool:
    """True when a person should check the value: nothing read, or not sure enough."""
    return not string.text or string.confidence < review_below
