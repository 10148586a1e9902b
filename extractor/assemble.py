"""Assembly: classified glyphs into digit strings in reading order, with confidences."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from . import strings
from .model import NOT_A_DIGIT
from .segment import SURE, Glyph

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


def crop_digits(reading, box: tuple[int, int, int, int]) -> list[Digit]:
    """The digits the string reader (strings.py) found in a grey crop cut from the page at ``box``
    (x, y, w, h): each boxed by the columns it was read from, the crop's height."""
    x, y, w, h = box
    digits = []
    for ch, confidence, (x0, x1) in zip(reading.text, reading.confidences, reading.spans):
        x0, x1 = min(x0, w - 1), min(max(x1, x0 + 1), w)
        digits.append(Digit(int(ch), float(confidence), x + x0, y, x1 - x0, h, ((int(ch), float(confidence)),)))
    return digits


def combined(glyph_read: DigitString, string_read: DigitString, reading) -> DigitString:
    """One string from the two readers of a field: the glyph reader's (``glyph_read``) and the
    string reader's (``string_read``, read as ``reading``, a strings.StringReading, which can score
    any text). Each candidate text is scored by what both readers give it, taken as independent:
    the glyph text by its probability under each reader; the string text by the string reader's
    and, where it differs from the glyph reading, by the glyph reader's doubt (its most for any
    other text). The likelier text is taken, with that likelihood against both candidates and both
    readers being wrong as its confidence. Where they agree, the glyph reading stands (its boxes are
    the finer) with the string reader's probability of the text as its confidence: the two learned
    from the same digit sources and are fooled by the same unseen styles (on the real cheque
    amounts, five of the six sure misses are read alike by both), so agreement is no independent
    evidence."""
    g, s = glyph_read.confidence, string_read.confidence
    if not glyph_read.text or not string_read.text:
        return glyph_read if glyph_read.text else string_read
    if glyph_read.text == string_read.text:
        return replace(glyph_read, confidence=s)
    glyph_score = g * reading.probability_of(glyph_read.text)
    string_score = s * (1 - g)
    chosen, score = (glyph_read, glyph_score) if glyph_score >= string_score else (string_read, string_score)
    return replace(chosen, confidence=score / (glyph_score + string_score + (1 - g) * (1 - s)))


def with_string_reader(reads: list[tuple[DigitString, tuple[int, int, int, int] | None]], gray: np.ndarray,
                       classify, box: tuple[int, int, int, int] | None = None,
                       readings: list | None = None) -> list[DigitString]:
    """Glyph-by-glyph readings, each given with the box of the page's grey image ``gray`` that holds
    it, checked against the string reader's readings of those crops, all
    read in one batch (or given as ``readings``, one per box, in order), and the two combined
    (:func:`combined`); as they were where the classifier has no string reader or a reading has no
    box. An empty string reading keeps ``box`` (default: the glyph reading's)."""
    if getattr(classify, "strings", None) is None:
        return [read for read, _ in reads]
    if readings is None:
        boxes = [crop for _, crop in reads if crop is not None]
        readings = strings.read_crops(classify.strings, [gray[y: y + h, x: x + w] for x, y, w, h in boxes])
    readings = iter(readings)
    out = []
    for read, crop in reads:
        if crop is None:
            out.append(read)
            continue
        reading = next(readings)
        string_read = string_of(read.field, crop_digits(reading, crop), box or (read.x, read.y, read.w, read.h))
        if reading.text:
            # The reading's confidence is the probability of its text, every path that spells it
            # counted: a doubt about a digit too many or too few lowers it, as it should. It is
            # boxed as the crop it was read from: its digits' columns are where the reader's steps
            # fired, narrower than the digits.
            x, y, w, h = crop
            string_read = replace(string_read, x=x, y=y, w=w, h=h, confidence=reading.confidence)
        out.append(combined(read, string_read, reading))
    return out


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
