"""Assembly: classified glyphs into digit strings in reading order, with confidences."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from . import strings
from .ctc import Looks, SequenceReading
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
    tops = reading.tops or [((int(ch), float(c)),) for ch, c in zip(reading.text, reading.confidences)]
    for ch, confidence, (x0, x1), top in zip(reading.text, reading.confidences, reading.spans, tops):
        x0, x1 = min(x0, w - 1), min(max(x1, x0 + 1), w)
        digits.append(Digit(int(ch), float(confidence), x + x0, y, x1 - x0, h, top))
    return digits


#: The decision's weights (see Decision), as fitted by bench/fit_decision.py on
#: cheque_amounts_large; a models folder's decision.json replaces them.
DECISION_WEIGHTS = {"strings": 0.2026, "ppocr": 0.6963, "glyphs": 0.0804, "glyphs_cannot_say": -1.3036, "none": -4.3819,
                    "glyphs_unasked": 0.1267, "skip_glyphs_above": 0.95, "skip_ppocr_above": 0.8, "look_again_below": 0.6,
                    "without_ppocr": {"strings": 0.3844, "glyphs": 0.1488, "glyphs_cannot_say": -2.1708, "none": -3.7899}}
#: A reader's log-probability of a candidate is counted at least this low (a reader that cannot
#: spell it at all says no more than a very unlikely one does).
FLOOR = -25.0
#: A glyph's probability of a digit that is none of its likeliest readings.
GLYPH_UNLIKELY = 1e-4
#: Candidates taken from each sequence reader's N best.
N_BEST = 5
#: A doubtful field's other looks (other_looks): paper added above and below, this share of its
#: height each; and the crop narrowed and widened to these shares of its width.
TALLER_BY, NARROWER, WIDER = 1 / 6, 0.85, 1.2


@dataclass(frozen=True)
class Candidate:
    """One text a field may hold, with what each reader says of it: the string reader's and
    PP-OCRv6's log-probabilities (None without that reader), the glyph reader's along its own
    segmentation (None where its digit count is not the text's: it cannot say; or where it was
    not asked, ``glyphs_asked`` false)."""

    text: str
    strings: float | None
    ppocr: float | None
    glyphs: float | None
    glyphs_asked: bool = True


@dataclass(frozen=True)
class Decision:
    """One decision over every reader of a field: each reader's candidates scored under every
    reader, the scores weighed (a few numbers, fitted on real amounts by maximum likelihood) and
    turned into the probability that each candidate is the field's text, with a share left for
    "none of these" (``none``). The likeliest candidate is read, with that probability as its
    confidence, so that a confidence means what it says (bench/results.md, calibration).

    A field cut out as a field (``--layout field``) whose two sequence readers read the same text
    at least ``skip_glyphs_above`` surely without the glyph reader is not read glyph by glyph: the
    glyph reader's split search is most of a field's time, and on such fields it changes next to
    nothing. Likewise a string found on a page or in a template, which the glyph reader has read
    already, is not read by PP-OCRv6 where our two readers read the same text at least
    ``skip_ppocr_above`` surely without it (docs/how-it-works.md). A field decided below
    ``look_again_below`` is read again by the sequence readers in other looks (other_looks), each
    candidate scored by its mean over the looks (ctc.Looks), and decided again."""

    weights: dict = field(default_factory=lambda: dict(DECISION_WEIGHTS))

    @classmethod
    def load(cls, path) -> "Decision":
        """The decision of a models folder's decision.json (its "weights"), or the built-in one."""
        if path is None or not Path(path).is_file():
            return cls()
        return cls({**DECISION_WEIGHTS, **json.loads(Path(path).read_text())["weights"]})

    def score(self, c: Candidate) -> float:
        """A candidate's weighed log-score (before normalizing over the field's candidates); where
        PP-OCRv6 did not read the field, by the weights fitted for our two readers alone
        (``without_ppocr``)."""
        w = self.weights if c.ppocr is not None else {**self.weights, **self.weights["without_ppocr"]}
        total = 0.0
        if c.strings is not None:
            total += w["strings"] * max(FLOOR, c.strings)
        if c.ppocr is not None:
            total += w["ppocr"] * max(FLOOR, c.ppocr)
        if not c.glyphs_asked:
            total += w["glyphs_unasked"]
        else:
            total += w["glyphs_cannot_say"] if c.glyphs is None else w["glyphs"] * max(FLOOR, c.glyphs)
        return total

    def __call__(self, candidates: list[Candidate], prior: list[float] | None = None) -> tuple[Candidate, float]:
        """The likeliest candidate and the probability that it is the field's text; ``prior``, where
        given, adds to each candidate's score what is known of the field beyond its ink (a date's
        year in a batch of dates, fields.year_log_prior)."""
        none = self.weights["none"] if candidates[0].ppocr is not None else self.weights["without_ppocr"]["none"]
        scores = np.array([self.score(c) + (prior[k] if prior else 0.0) for k, c in enumerate(candidates)] + [none])
        p = np.exp(scores - scores.max())
        p /= p.sum()
        best = int(np.argmax(p[:-1]))
        return candidates[best], float(p[best])


def glyph_log_probability(glyph_read: DigitString, text: str) -> float | None:
    """The glyph reader's log-probability of ``text`` along its own segmentation: each digit's
    probability of the text's digit in its place; None where it found another number of digits."""
    if len(glyph_read.digits) != len(text) or not text:
        return None
    total = 0.0
    for d, ch in zip(glyph_read.digits, text):
        chances = dict(d.top) if d.top else {d.value: d.confidence}
        total += np.log(max(chances.get(int(ch), GLYPH_UNLIKELY), GLYPH_UNLIKELY))
    return float(total)


def candidates(glyph_read: DigitString | None, readings: dict, also=None) -> list[Candidate]:
    """Every reader's likeliest texts for one field (the glyph reader's one, each sequence reader's
    N_BEST: ``readings`` maps "strings" and "ppocr" to a ctc.SequenceReading or None), and the
    texts ``also`` (a function of those texts, where given) proposes from them, each scored under
    every reader; ``glyph_read`` None where the glyph reader was not asked. An empty text is
    a candidate only where no reader read a digit, or where every reader's likeliest reading is
    none (a blank field, which a sequence reader's unlikelier texts would otherwise fill)."""
    texts = [glyph_read.text] if glyph_read is not None else []
    bests = []
    for reading in readings.values():
        if reading is not None:
            found = [t for t, _ in reading.n_best(N_BEST)]
            texts += found
            bests.append(found[0])
    blank = bool(bests) and not any(bests) and (glyph_read is None or not glyph_read.text)
    texts = ([""] if blank else []) + list(dict.fromkeys(t for t in texts if t)) or [""]
    if also is not None:
        texts = list(dict.fromkeys(texts + list(also(texts))))
    out = []
    scored = {name: (r.log_probabilities(texts) if r is not None else [None] * len(texts))
              for name, r in readings.items()}
    for k, t in enumerate(texts):
        scores = {name: values[k] for name, values in scored.items()}
        out.append(Candidate(t, scores.get("strings"), scores.get("ppocr"),
                             glyph_log_probability(glyph_read, t) if glyph_read is not None else None,
                             glyph_read is not None))
    return out


def sequence_readings(crops: list[np.ndarray], classify, with_ppocr: bool = True) -> list[dict]:
    """The sequence readers' readings of grey crops, each in one batch: per crop, "strings" (a
    strings.StringReading), "sequence" (the same as a ctc.SequenceReading, which scores
    candidates) and "ppocr" (a ctc.SequenceReading; None without PP-OCRv6, or where
    ``with_ppocr`` is false)."""
    if not crops:
        return []
    ppocr = getattr(classify, "ppocr", None) if with_ppocr else None
    pp = ppocr.read(crops) if ppocr is not None else [None] * len(crops)
    return [{"strings": s, "sequence": SequenceReading(s.steps), "ppocr": p}
            for s, p in zip(strings.read_crops(classify.strings, crops), pp)]


def sure_without_glyphs(field: str, readings: dict, box: tuple[int, int, int, int], classify) -> DigitString | None:
    """A field's string where the two sequence readers (``readings``, as sequence_readings gives
    them) read the same text and the decision, without the glyph reader, is at least
    ``skip_glyphs_above`` sure of it (Decision); None where the glyph reader is to be asked too."""
    reading, pp = readings["strings"], readings["ppocr"]
    if pp is None or not reading.text or reading.text != pp.best_path():
        return None
    decision = getattr(classify, "decision", None) or Decision()
    chosen, confidence = decision(candidates(None, {"strings": readings["sequence"], "ppocr": pp}))
    if chosen.text != reading.text or confidence < decision.weights["skip_glyphs_above"]:
        return None
    x, y, w, h = box
    return replace(string_of(field, crop_digits(reading, box)), text=reading.text, confidence=confidence,
                   x=x, y=y, w=w, h=h)


def decided(glyph_read: DigitString, string_read: DigitString, readings: dict, decision: Decision) -> DigitString:
    """One string from every reader of a field: the decision's text and confidence, boxed by the
    glyph reader's digits where it read as many (its boxes are the finer), else by the string
    reader's where it read as many, else by the field's box."""
    chosen, confidence = decision(candidates(glyph_read, readings))
    if not chosen.text:
        return replace(glyph_read if not glyph_read.text else string_read, text="", digits=(), confidence=0.0)
    boxed = next((r for r in (glyph_read, string_read) if len(r.digits) == len(chosen.text)), string_read)
    return decided_as(boxed, chosen.text, confidence, (string_read.x, string_read.y, string_read.w, string_read.h))


def decided_as(read: DigitString, text: str, confidence: float, box: tuple[int, int, int, int]) -> DigitString:
    """``read`` with the decided ``text`` and ``confidence``: its own digit boxes where it has as
    many digits as the text (a digit changed by the decision takes the decision's confidence),
    else the text's digits side by side across ``box``."""
    if len(read.digits) == len(text):
        digits = tuple(d if str(d.value) == ch else replace(d, value=int(ch), confidence=confidence,
                                                                top=_first(int(ch), confidence, d.top))
                       for d, ch in zip(read.digits, text))
        return replace(read, text=text, confidence=confidence, digits=digits)
    x, y, w, h = box
    step = w / len(text)
    digits = tuple(Digit(int(ch), confidence, int(x + i * step), y, max(1, int(step)), h, ((int(ch), confidence),))
                   for i, ch in enumerate(text))
    return replace(read, text=text, confidence=confidence, digits=digits, x=x, y=y, w=w, h=h)


def _first(digit: int, probability: float, top) -> tuple[tuple[int, float], ...]:
    """A digit's likeliest readings with ``digit`` decided first, the others after it as they were."""
    return ((digit, probability), *[(d, p) for d, p in top if d != digit][:2])


def with_string_reader(reads: list[tuple[DigitString, tuple[int, int, int, int] | None]], gray: np.ndarray,
                       classify, box: tuple[int, int, int, int] | None = None,
                       readings: list | None = None, amount: bool = False) -> list[DigitString]:
    """Glyph-by-glyph readings, each given with the box of the page's grey image ``gray`` that holds
    it, decided with the sequence readers' readings of those crops by one :class:`Decision`: the
    string reader's, all in one batch (or given as ``readings``, one sequence_readings entry per
    box, in order), and PP-OCRv6's where those give none and where our two readers do not agree
    surely without it (``skip_ppocr_above``), read in one batch. As they were where the classifier
    has no string reader or a reading has no box. An empty string reading keeps ``box`` (default:
    the glyph reading's). With ``amount``, PP-OCRv6 scores each text as an amount, its grouping
    marks read as such (ctc.SequenceReading.as_amount), and is not looked at again (a template's
    amounts, cut tight and scored over their groupings, read no better for it: docs/how-it-works.md)."""
    if getattr(classify, "strings", None) is None:
        return [read for read, _ in reads]
    boxed = [(read, crop) for read, crop in reads if crop is not None]
    crops = [gray[y: y + h, x: x + w] for _, (x, y, w, h) in boxed]
    readings = list(readings) if readings is not None else sequence_readings(crops, classify, with_ppocr=False)
    decision = getattr(classify, "decision", None) or Decision()
    ppocr = getattr(classify, "ppocr", None)
    unsure = [k for k, ((read, _), both) in enumerate(zip(boxed, readings))
              if both["ppocr"] is None and not _sure_without_ppocr(read, both, decision)]
    if ppocr is not None and unsure:
        for k, reading in zip(unsure, ppocr.read([crops[k] for k in unsure])):
            readings[k] = {**readings[k], "ppocr": reading.as_amount() if amount else reading}
    doubtful = [] if amount else [k for k, ((read, _), both) in enumerate(zip(boxed, readings))
                                  if decision(candidates(read, _sequences(both)))[1] < decision.weights["look_again_below"]]
    for k, both in zip(doubtful, looked_again([crops[k] for k in doubtful], [readings[k] for k in doubtful], classify)):
        readings[k] = both
    decided_reads = iter([_decided_read(read, crop, both, box, decision)
                          for (read, crop), both in zip(boxed, readings)])
    return [next(decided_reads) if crop is not None else read for read, crop in reads]


def other_looks(crop: np.ndarray) -> list[np.ndarray]:
    """A field's crop as the sequence readers may see it otherwise: with paper above and below it
    (TALLER_BY), narrowed and widened (NARROWER, WIDER). The margins a crop is cut with and a
    writer's spacing mislead a reader on some fields and not on others."""
    h, w = crop.shape[:2]
    if not h or not w:
        return []
    paper = int(np.percentile(crop, 90))
    pad = max(1, round(TALLER_BY * h))
    return [cv2.copyMakeBorder(crop, pad, pad, 0, 0, cv2.BORDER_CONSTANT, value=paper),
            cv2.resize(crop, (max(1, round(NARROWER * w)), h), interpolation=cv2.INTER_AREA),
            cv2.resize(crop, (max(1, round(WIDER * w)), h), interpolation=cv2.INTER_LINEAR)]


def looked_again(crops: list[np.ndarray], readings: list[dict], classify) -> list[dict]:
    """Doubtful fields' readings (as with_string_reader holds them) with each sequence reader's
    readings of the crop's other looks joined to its first (ctc.Looks); PP-OCRv6 only where it read
    the crop. All looks of all crops in one batch per reader."""
    if not crops:
        return []
    looks = [other_looks(c) for c in crops]
    again = iter(SequenceReading(s.steps) for s in strings.read_crops(classify.strings, [v for vs in looks for v in vs]))
    ppocr = getattr(classify, "ppocr", None)
    asked = {k for k, r in enumerate(readings) if r["ppocr"] is not None and ppocr is not None}
    pp = iter(ppocr.read([v for k in sorted(asked) for v in looks[k]])) if asked else iter(())
    out = []
    for k, (both, vs) in enumerate(zip(readings, looks)):
        sequence = Looks((both["sequence"], *[next(again) for _ in vs]), FLOOR)
        first = Looks((both["ppocr"], *[next(pp) for _ in vs]), FLOOR) if k in asked else both["ppocr"]
        out.append({**both, "sequence": sequence, "ppocr": first})
    return out


def _sure_without_ppocr(glyph_read: DigitString, both: dict, decision: Decision) -> bool:
    """Whether the glyph reader and the string reader (``both``, as with_string_reader holds it) read
    the same text at least ``skip_ppocr_above`` surely by the decision without PP-OCRv6."""
    if not glyph_read.text or glyph_read.text != both["strings"].text:
        return False
    chosen, confidence = decision(candidates(glyph_read, {"strings": both["sequence"], "ppocr": None}))
    return chosen.text == glyph_read.text and confidence >= decision.weights["skip_ppocr_above"]


def _decided_read(read: DigitString, crop: tuple[int, int, int, int], both: dict, box, decision: Decision) -> DigitString:
    """One glyph reading decided with the sequence readers' readings (``both``) of its crop."""
    reading = both["strings"]
    string_read = string_of(read.field, crop_digits(reading, crop), box or (read.x, read.y, read.w, read.h))
    if reading.text:
        # boxed as the crop it was read from: its digits' columns are where the reader's steps
        # fired, narrower than the digits
        x, y, w, h = crop
        string_read = replace(string_read, x=x, y=y, w=w, h=h, confidence=reading.confidence)
    return decided(read, string_read, _sequences(both), decision)


def _sequences(both: dict) -> dict:
    """A field's sequence readings (as with_string_reader holds them) as candidates() takes them."""
    return {"strings": both["sequence"], "ppocr": both["ppocr"]}


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
