"""The string reader: a field's grey crop read whole by a convolutional sequence model with CTC.

Segmentation reads a string one glyph at a time, and that is where it fails on real writing: the
zeros of "000" chained by ligatures, a 1 leaning into its neighbour, a digit broken in two, a faint
stroke on patterned paper lost to binarization. The string reader never cuts and never binarizes:
it slides over the field's grey crop and says, column by column, which digit it sees or "nothing"
(the CTC blank), so touching, overlapping, broken and faint digits are all one case. It learns
from synthetic fields (synth.py, by train.py). This module prepares a crop for it, decodes its output into
digits with a probability each and their columns in the crop, and gives the probability of a
whole text (every path that spells it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from . import ctc
from .model import MODELS_DIR

#: Columns of the crop per output step (the network's horizontal stride).
STEP = 4
#: Output classes: digits 0-9, then the CTC blank ("no digit here").
BLANK = 10
CLASSES = 11
#: Longest field, in digits (as long as account numbers and the longest amounts); the label arrays
#: are padded with -1 to this length.
MAX_DIGITS = 12
DEFAULT_STRING_MODEL = MODELS_DIR / "strings.keras"
#: The string reader's input: a field's grey crop as darkness (paper 0, its darkest ink 1), scaled
#: to CROP_HEIGHT rows keeping its aspect and left-aligned in CROP_HEIGHT x CROP_WIDTH (narrowed only
#: when longer): every real cheque amount of the dev set fits at full height.
CROP_HEIGHT, CROP_WIDTH = 32, 192
CROP_STEPS = CROP_WIDTH // STEP
#: A crop's paper is the grey level this share of its pixels are darker than, its ink the level
#: INK_SHARE of them are darker than; darkness is measured between the two, over at least MIN_RANGE
#: grey levels (an empty crop stays pale).
PAPER_SHARE, INK_SHARE, MIN_RANGE = 0.9, 0.01, 40.0
#: Around the glyphs of a line on a page, the crop reaches this share of the line's height above
#: and below them, and SIDE_MARGIN of it before and after, as the training fields' margins do.
TOP_MARGIN, SIDE_MARGIN = 0.2, 0.1


@dataclass(frozen=True)
class StringReading:
    """A field read by the string reader: its digits, each digit's probability, each digit's columns
    (from, to) in the crop's own pixels, and the probability of the whole text; with the reader's
    output itself (``steps``), so that any other text can be scored on it (ctc.SequenceReading)."""

    text: str
    confidences: tuple[float, ...]
    spans: tuple[tuple[int, int], ...]
    confidence: float
    steps: np.ndarray | None = field(default=None, repr=False, compare=False)
    #: Each digit's likeliest readings, best first, as (digit, probability): the most each digit
    #: class reaches over the steps the digit spans.
    tops: tuple[tuple[tuple[int, float], ...], ...] = ()


def normalize_crop(gray: np.ndarray) -> tuple[np.ndarray, float]:
    """A field's grey crop (paper light, ink dark, any size) as the string reader's input: a
    CROP_HEIGHT x CROP_WIDTH float32 darkness image, and the horizontal scale applied, so that the
    reader's columns map back onto the crop: ``x_crop = x_input / scale``. Nothing is binarized:
    faint strokes stay faint, and the paper's pattern stays for the reader to tell from ink."""
    gray = np.asarray(gray, np.float32)
    out = np.zeros((CROP_HEIGHT, CROP_WIDTH), np.float32)
    if gray.ndim != 2 or gray.size == 0:
        return out, 1.0
    paper, ink = np.percentile(gray, [100 * PAPER_SHARE, 100 * INK_SHARE])
    dark = np.clip((paper - gray) / max(paper - ink, MIN_RANGE), 0.0, 1.0)
    h, w = dark.shape
    new_w = min(max(1, int(round(w * CROP_HEIGHT / h))), CROP_WIDTH)
    area = h > CROP_HEIGHT or w > new_w
    out[:, :new_w] = cv2.resize(dark, (new_w, CROP_HEIGHT), interpolation=cv2.INTER_AREA if area else cv2.INTER_LINEAR)
    return out, new_w / w


def read_crops(reader, crops: list[np.ndarray]) -> list[StringReading]:
    """Many fields' grey crops read by the string ``reader`` (a callable from a (n, CROP_HEIGHT,
    CROP_WIDTH, 1) batch to (n, CROP_STEPS, CLASSES) probabilities); each reading's spans are in
    its crop's columns."""
    if not crops:
        return []
    made = [normalize_crop(crop) for crop in crops]
    probs = reader(np.stack([m[0] for m in made])[..., None])
    return [decode(p, scale) for p, (_, scale) in zip(probs, made)]


def decode(probs: np.ndarray, scale: float = 1.0) -> StringReading:
    """The best path through one field's (CROP_STEPS, CLASSES) output: repeats merged, blanks dropped.
    A digit's probability is the highest its class reaches over the steps it spans; the reading's
    is the probability the reader gives its text (:func:`text_probability`)."""
    best = probs.argmax(axis=1)
    text, confidences, spans, tops = [], [], [], []
    step = 0
    while step < len(best):
        end = step
        while end + 1 < len(best) and best[end + 1] == best[step]:
            end += 1
        if best[step] != BLANK:
            text.append(str(int(best[step])))
            confidences.append(float(probs[step: end + 1, best[step]].max()))
            most = probs[step: end + 1, :BLANK].max(axis=0)
            tops.append(tuple((int(d), float(most[d])) for d in np.argsort(-most, kind="stable")[:3]))
            x0, x1 = step * STEP, (end + 1) * STEP
            spans.append((int(x0 / scale), int(x1 / scale)))
        step = end + 1
    return StringReading("".join(text), tuple(confidences), tuple(spans), text_probability(probs, "".join(text)), probs,
                         tuple(tops))


def text_probability(probs: np.ndarray, text: str) -> float:
    """The probability the string reader gives ``text`` on one field ((CROP_STEPS, CLASSES) output): the sum
    over every path that spells it (the CTC forward algorithm), not just the best one."""
    log_p = ctc.text_log_probability(probs, text)
    return 0.0 if log_p <= ctc.IMPOSSIBLE else float(np.exp(log_p))


def crop_box(glyphs, height: float, shape: tuple[int, ...],
             within: tuple[int, int, int, int] | None = None) -> tuple[int, int, int, int]:
    """The box (x, y, w, h) to cut from the page for the string reader to read a line's glyphs
    (anything with x, y, w, h): their union, with margins of the line's ``height``, inside the page
    of ``shape`` and, if given, inside the box ``within`` (a printed box's inside)."""
    x0, y0 = min(g.x for g in glyphs), min(g.y for g in glyphs)
    x1, y1 = max(g.x + g.w for g in glyphs), max(g.y + g.h for g in glyphs)
    side, top = int(round(SIDE_MARGIN * height)), int(round(TOP_MARGIN * height))
    x0, y0, x1, y1 = max(0, x0 - side), max(0, y0 - top), min(shape[1], x1 + side), min(shape[0], y1 + top)
    if within is not None:
        wx, wy, ww, wh = within
        x0, y0, x1, y1 = max(x0, wx), max(y0, wy), min(x1, wx + ww), min(y1, wy + wh)
    return x0, y0, max(1, x1 - x0), max(1, y1 - y0)
